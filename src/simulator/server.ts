/**
 * The TCP side: listens like mod_event_socket, hands every fired event to each connection, sends
 * HEARTBEAT, and offers the faults other tests need (drop, hang, restart, shutdown).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../util/index.js';
import { silentLogger } from '../util/index.js';
import { ConferenceEngine } from './engine.js';
import type { CoreIdentity } from './event.js';
import { SimulatorStateError } from './errors.js';
import { FS_VERSION } from './api.js';
import { SHUTDOWN_TEXT } from './frames.js';
import type { ProfileConfig } from './model.js';
import type { Scheduler } from './scheduler.js';
import { EslSession } from './session.js';
import { SITES } from './sites.js';

/** Default of SimulatorOptions.keepReceivedBytes (a long run would otherwise grow forever). */
export const RECEIVED_BYTES_KEPT = 8 * 1024 * 1024;

export interface SimulatorOptions {
  host?: string;
  /** 0 = an ephemeral port. */
  port?: number;
  /** Default ClueCon. */
  password?: string;
  /** FreeSWITCH-Hostname (default 'vm'). */
  hostname?: string;
  /** FreeSWITCH-Switchname (default: the hostname). */
  switchname?: string;
  ipv4?: string;
  ipv6?: string;
  logger?: Logger;
  /** `variable_<name>` headers in member events for the variables given at originate. */
  verboseEvents?: boolean;
  /** HEARTBEAT interval; default 20000 ms, 0 disables. */
  heartbeatMs?: number;
  /** Per-connection outbound event queue (FreeSWITCH: 100000). */
  maxEventQueue?: number;
  /** Consecutive drops before a slow reader is disconnected (FreeSWITCH: 500). */
  maxConsecutiveDrops?: number;
  /** How many of the newest received bytes receivedBytes() keeps (default RECEIVED_BYTES_KEPT, 8 MiB). */
  keepReceivedBytes?: number;
  /** Timers for deferred events (play-file-done…); tests may inject a ManualScheduler. */
  scheduler?: Scheduler;
  profiles?: readonly ProfileConfig[];
  /** How long a non-tone file plays, ms (default 1000). */
  fileDurationMs?: number;
}

export interface Simulator {
  readonly port: number;
  readonly host: string;
  readonly engine: ConferenceEngine;
  /** False after close(), `fsctl shutdown`, or while restart() is down. */
  readonly listening: boolean;
  close(): Promise<void>;
  /** Abrupt close of every client socket. */
  dropConnections(): void;
  /** Stop answering commands (bytes are still accepted and answered, in order, after hang(false)). */
  hang(on: boolean): void;
  /** Close everything, lose all state (member ids start again at 1), listen again on the same port. */
  restart(opts?: { downMs?: number }): Promise<void>;
  /** Bytes received from all clients, in order: everything, or at least the newest `keepReceivedBytes` of a long run. */
  receivedBytes(): Buffer;
  /** Open client connections. */
  connectionCount(): number;
}

function coreIdentity(opts: SimulatorOptions): CoreIdentity {
  const hostname = opts.hostname ?? 'vm';
  return {
    coreUuid: randomUUID(),
    hostname,
    switchname: opts.switchname ?? hostname,
    ipv4: opts.ipv4 ?? '192.0.2.2',
    ipv6: opts.ipv6 ?? 'fd00::2',
  };
}

class EslSimulator implements Simulator {
  readonly engine: ConferenceEngine;
  private server: Server | undefined;
  private readonly sessions = new Set<EslSession>();
  private received: Buffer[] = [];
  private receivedLength = 0;
  private hung = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private boundPort = 0;
  private readonly log: Logger;
  private readonly password: string;

  constructor(private readonly opts: SimulatorOptions) {
    this.log = opts.logger ?? silentLogger;
    this.password = opts.password ?? 'ClueCon';
    this.engine = new ConferenceEngine({
      core: coreIdentity(opts),
      scheduler: opts.scheduler,
      verboseEvents: opts.verboseEvents,
      profiles: opts.profiles,
      fileDurationMs: opts.fileDurationMs,
      logger: this.log,
    });
    this.engine.onEvent((ev) => {
      for (const s of this.sessions) s.offer(ev);
    });
    this.engine.hooks.onShutdownRequested = () => setImmediate(() => this.shutdownNow());
  }

  get port(): number {
    return this.boundPort;
  }

  get host(): string {
    return this.opts.host ?? '127.0.0.1';
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  async listen(port: number): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : port;
    this.server = server;
    this.startHeartbeat();
    this.log.info({ host: this.host, port: this.boundPort }, 'FreeSWITCH simulator listening');
  }

  private accept(socket: Socket): void {
    const session = new EslSession(
      socket,
      this.engine,
      {
        password: this.password,
        maxEventQueue: this.opts.maxEventQueue ?? 100_000,
        maxConsecutiveDrops: this.opts.maxConsecutiveDrops ?? 500,
        logger: this.log,
        recordInput: (chunk) => this.recordInput(chunk),
        isHung: () => this.hung,
      },
      (s) => this.sessions.delete(s),
    );
    this.sessions.add(session);
  }

  private startHeartbeat(): void {
    const every = this.opts.heartbeatMs ?? 20_000;
    if (every <= 0) return;
    this.heartbeat = setInterval(() => this.sendHeartbeat(), every);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private sendHeartbeat(): void {
    const up = this.engine.uptimeMs;
    const s = this.engine.sessionCounters;
    const sec = Math.floor(up / 1000);
    const upTime = `0 years, ${Math.floor(sec / 86400)} days, ${Math.floor(sec / 3600) % 24} hours, ${Math.floor(sec / 60) % 60} minutes, ${sec % 60} seconds, ${up % 1000} milliseconds, 0 microseconds`;
    this.engine.emit(
      this.engine.events.create('HEARTBEAT', undefined, SITES.heartbeat, [
        ['Event-Info', 'System Ready'],
        ['Up-Time', upTime],
        ['FreeSWITCH-Version', FS_VERSION.replace(/^FreeSWITCH Version /, '').replace(/ \(.*$/, '')],
        ['Uptime-msec', String(up)],
        ['Session-Count', String(s.current)],
        ['Max-Sessions', '1000'],
        ['Session-Per-Sec', '0'],
        ['Session-Per-Sec-Last', '0'],
        ['Session-Per-Sec-Max', '0'],
        ['Session-Per-Sec-FiveMin', '0'],
        ['Session-Since-Startup', String(s.sinceStartup)],
        ['Session-Peak-Max', String(s.peak)],
        ['Session-Peak-FiveMin', String(s.peak)],
        ['Idle-CPU', '99.000000'],
      ]),
    );
  }

  /** `fsctl shutdown`: events to subscribers, a disconnect notice to everyone, then the port closes. */
  private shutdownNow(): void {
    if (!this.server) return;
    this.engine.shutdown();
    for (const s of this.sessions) s.goodbye(SHUTDOWN_TEXT);
    void this.stopListening();
  }

  private async stopListening(): Promise<void> {
    this.stopHeartbeat();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  dropConnections(): void {
    for (const s of [...this.sessions]) s.destroy();
  }

  hang(on: boolean): void {
    this.hung = on;
    if (!on) for (const s of [...this.sessions]) s.processCommands();
  }

  async restart(opts: { downMs?: number } = {}): Promise<void> {
    if (this.boundPort === 0) throw new SimulatorStateError('simulator was never started');
    this.dropConnections();
    await this.stopListening();
    this.engine.reset(coreIdentity(this.opts));
    this.hung = false;
    if (opts.downMs && opts.downMs > 0) await new Promise((r) => setTimeout(r, opts.downMs));
    await this.listen(this.boundPort);
  }

  /** Keeps what tests inspect without letting a long-running simulator (demo, soak) grow without bound. */
  private recordInput(chunk: Buffer): void {
    const keep = this.opts.keepReceivedBytes ?? RECEIVED_BYTES_KEPT;
    this.received.push(chunk);
    this.receivedLength += chunk.length;
    if (this.receivedLength > 2 * keep) {
      const kept = Buffer.concat(this.received).subarray(-keep);
      this.received = [Buffer.from(kept)];
      this.receivedLength = kept.length;
    } else if (this.received.length >= 1024) {
      // One object per socket read adds up on the heap in a long run: fold them into one buffer.
      this.received = [Buffer.concat(this.received, this.receivedLength)];
    }
  }

  receivedBytes(): Buffer {
    return Buffer.concat(this.received);
  }

  connectionCount(): number {
    return this.sessions.size;
  }

  async close(): Promise<void> {
    this.dropConnections();
    await this.stopListening();
    this.engine.dispose();
  }
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const sim = new EslSimulator(opts);
  await sim.listen(opts.port ?? 8021);
  return sim;
}
