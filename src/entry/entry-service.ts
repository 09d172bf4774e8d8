/**
 * The entry service: a TCP listener for FreeSWITCH's outbound Event Socket (a dialplan's
 * `<action application="socket" data="HOST:PORT async full"/>`). Each connection is one call,
 * run through the entry flow; a flow that fails hangs its call up and is logged, never thrown.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { runEntryFlow, type EntryFlowDeps, type EntryOutcome } from './entry-flow.js';
import { OutboundSession } from './outbound-session.js';

export interface EntryServiceOptions extends EntryFlowDeps {
  host: string;
  /** 0: an ephemeral port (tests). */
  port: number;
  /** Each outcome (tests, metrics). */
  onOutcome?: (outcome: EntryOutcome) => void;
}

export class EntryService {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly flows = new Set<Promise<void>>();
  private boundPort = 0;

  constructor(private readonly o: EntryServiceOptions) {}

  /** The port it listens on (after start). */
  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((socket) => this.onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : this.o.port;
    this.server = server;
    this.o.logger.info({ host: this.o.host, port: this.boundPort }, 'entry service listening');
  }

  /** Stops accepting calls, closes the ones under way (FreeSWITCH hangs them up), waits for their flows. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await Promise.allSettled([...this.flows]);
  }

  private onConnection(socket: Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    const session = new OutboundSession(socket);
    const flow = runEntryFlow(session, this.o)
      .then((outcome) => this.o.onOutcome?.(outcome))
      .catch(async (err: unknown) => {
        this.o.logger.error({ err }, 'entry flow failed; hanging up');
        await session.hangup('NORMAL_TEMPORARY_FAILURE');
      })
      .finally(() => {
        session.close();
        this.flows.delete(flow);
      });
    this.flows.add(flow);
  }
}
