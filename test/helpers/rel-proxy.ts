/**
 * A TCP proxy for fault injection between the service and FreeSWITCH (the simulator) or RabbitMQ:
 * stall both directions (a broker that stops reading), cut a connection in the middle of a frame,
 * and tell which upstream local ports belong to it (to find our connection in `rabbitmqctl`).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket;
}

interface Cut {
  pattern: Buffer;
  /** Bytes forwarded after the start of the match before both sides are destroyed. */
  keep: number;
  resolve: (info: { forwarded: number; chunkLength: number }) => void;
}

export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private paused = false;
  private cut: Cut | undefined;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    let proxy!: TcpProxy;
    const server = createServer((client) => proxy.accept(client, targetPort, targetHost));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    proxy = new TcpProxy(server, typeof addr === 'object' && addr ? addr.port : 0);
    return proxy;
  }

  private accept(client: Socket, port: number, host: string): void {
    const upstream = connect({ port, host });
    const pair: Pair = { client, upstream };
    this.pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const end = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.on('data', (d: Buffer) => {
      if (!upstream.write(d)) client.pause();
    });
    upstream.on('drain', () => !this.paused && client.resume());
    upstream.on('data', (d: Buffer) => this.fromUpstream(pair, d));
    client.on('drain', () => !this.paused && upstream.resume());
    if (this.paused) {
      client.pause();
      upstream.pause();
    }
  }

  private fromUpstream(pair: Pair, d: Buffer): void {
    const cut = this.cut;
    if (cut) {
      const at = d.indexOf(cut.pattern);
      if (at >= 0) {
        this.cut = undefined;
        const forwarded = Math.min(d.length, at + cut.keep);
        pair.client.write(d.subarray(0, forwarded), () => {
          pair.client.destroy();
          pair.upstream.destroy();
        });
        cut.resolve({ forwarded, chunkLength: d.length });
        return;
      }
    }
    if (!pair.client.write(d)) pair.upstream.pause();
  }

  /** Stop reading on both sides of every connection (new ones too): the peer's writes pile up. */
  pause(): void {
    this.paused = true;
    for (const p of this.pairs) {
      p.client.pause();
      p.upstream.pause();
    }
  }

  resume(): void {
    this.paused = false;
    for (const p of this.pairs) {
      p.client.resume();
      p.upstream.resume();
    }
  }

  /**
   * The next upstream chunk containing `pattern` is forwarded only up to `keep` bytes past the match,
   * then both sockets are destroyed: the client sees a frame cut in the middle.
   */
  cutNext(pattern: string, keep: number): Promise<{ forwarded: number; chunkLength: number }> {
    return new Promise((resolve) => (this.cut = { pattern: Buffer.from(pattern, 'latin1'), keep, resolve }));
  }

  /** Local ports of the proxy's upstream sockets (what the upstream server sees as peer ports). */
  upstreamLocalPorts(): number[] {
    return [...this.pairs].map((p) => p.upstream.localPort).filter((p): p is number => typeof p === 'number');
  }

  /** Writes `bytes` to every client as if the upstream server had sent them (e.g. an AMQP frame). */
  toClients(bytes: Buffer): void {
    for (const p of this.pairs) p.client.write(bytes);
  }

  connectionCount(): number {
    return this.pairs.size;
  }

  dropAll(): void {
    for (const p of [...this.pairs]) {
      p.client.destroy();
      p.upstream.destroy();
    }
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
