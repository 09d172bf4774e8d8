/**
 * One FreeSWITCH node: one event connection (`event json …`) plus N command connections.
 *
 * - Commands go to the least-loaded ready command connection, each of which runs one command at a time
 *   (p-queue, concurrency 1: FreeSWITCH answers one socket strictly in order anyway, and a timeout then
 *   costs only the one command that was on the wire). Waiting commands are bounded (EslOverloadError).
 * - Every connection reconnects on its own with exponential backoff + full jitter; the backoff starts
 *   over only once a connection has stayed up `reconnect.resetAfterMs` (a peer that authenticates and
 *   then sends garbage is not reconnected at the first delay forever). A refused password waits
 *   `authRetryMs` instead (no reconnect storm against bad credentials).
 * - `up` fires when the event connection is (re)subscribed and a command connection is ready: events
 *   were lost while down, so the layer above resyncs on every `up`. `down` fires when either is lost.
 * - Liveness: a periodic `api status` on every connection (a timeout closes and replaces it) and, when
 *   HEARTBEAT is subscribed, a watchdog that replaces an event connection that went silent: neither an
 *   event nor an answered probe for `heartbeatTimeoutMs` (default 65 s: three of FreeSWITCH's default
 *   20 s heartbeats).
 */
import PQueue from 'p-queue';
import type { ConfmgrError } from '../util/index.js';
import { silentLogger, type Logger } from '../util/index.js';
import { Backoff } from '../util/index.js';
import { encode } from './encoders.js';
import type { EslEvent } from './event-decoding.js';
import { EslConnection, orderEventNames, type BgapiOptions } from './connection.js';
import { TypedEmitter } from '../util/index.js';
import { EslAuthError, EslConnectionClosedError, EslNodeDownError, EslOverloadError } from './errors.js';
import type { ApiOptions, BackgroundJobResult, EslNode, NodeConfig, NodeEvents, NodeState } from './types.js';

export const DEFAULT_NODE_EVENTS: readonly string[] = ['BACKGROUND_JOB', 'HEARTBEAT', 'CUSTOM', 'conference::maintenance'];

/** How long a connection must stay up before its backoff starts over (NodeConfig.reconnect.resetAfterMs). */
export const DEFAULT_RESET_AFTER_MS = 5000;

export interface PoolOptions {
  logger?: Logger;
  /** Injectable jitter source for tests; [0, 1). */
  random?: () => number;
}

export interface PoolStats {
  state: NodeState;
  eventConnectionReady: boolean;
  commandConnectionsReady: number;
  commandConnections: number;
  /** Commands on the wire. */
  inFlight: number;
  /** Commands waiting for their connection. */
  queued: number;
  /** Connection attempts since start (successful or not). */
  connectAttempts: number;
}

type Role = 'event' | 'command';

interface Slot {
  readonly role: Role;
  readonly label: string;
  readonly backoff: Backoff;
  conn: EslConnection | undefined;
  /** One queue per live connection; a dead connection's queue drains by failing fast. */
  queue: PQueue;
  reconnectTimer: NodeJS.Timeout | undefined;
  livenessTimer: NodeJS.Timeout | undefined;
  connecting: boolean;
  /** Set after a refused password with authRetryMs = 0: this slot stays down. */
  stopped: boolean;
}

export class EslNodePool extends TypedEmitter<NodeEvents> implements EslNode {
  readonly name: string;
  private readonly config: NodeConfig;
  private readonly log: Logger;
  private readonly events: string[];
  private readonly eventSlot: Slot;
  private readonly commandSlots: Slot[];
  private readonly maxQueued: number;
  private readonly apiTimeoutMs: number;
  private readonly livenessIntervalMs: number;
  private readonly heartbeatTimeoutMs: number;
  private readonly authRetryMs: number;
  private _state: NodeState = 'connecting';
  private started = false;
  private lastFailure = 'not connected yet';
  private attempts = 0;
  private rr = 0;
  /** Incremented per event; the watchdog only compares it, so the hot path pays one add. */
  private eventCounter = 0;

  constructor(config: NodeConfig, options: PoolOptions = {}) {
    super();
    if (!config.name) throw new EslNodeDownError('node config needs a name');
    this.config = config;
    this.name = config.name;
    this.log = (options.logger ?? silentLogger).child({ node: config.name });
    this.events = orderEventNames(config.events ?? DEFAULT_NODE_EVENTS);
    // Fail at construction, not at the first reconnect, on an event list that cannot be sent.
    encode.event('json', this.events);
    this.maxQueued = config.maxQueuedCommands ?? 1000;
    this.apiTimeoutMs = config.apiTimeoutMs ?? 5000;
    this.livenessIntervalMs = config.livenessIntervalMs ?? 20_000;
    this.heartbeatTimeoutMs = this.events.includes('HEARTBEAT') ? (config.heartbeatTimeoutMs ?? 65_000) : 0;
    this.authRetryMs = config.authRetryMs ?? 60_000;
    const backoff = () =>
      new Backoff({
        baseMs: config.reconnect?.baseMs,
        capMs: config.reconnect?.capMs,
        resetAfterMs: config.reconnect?.resetAfterMs ?? DEFAULT_RESET_AFTER_MS,
        random: options.random,
      });
    const slot = (role: Role, label: string): Slot => ({
      role,
      label,
      backoff: backoff(),
      conn: undefined,
      queue: new PQueue({ concurrency: 1 }),
      reconnectTimer: undefined,
      livenessTimer: undefined,
      connecting: false,
      stopped: false,
    });
    this.eventSlot = slot('event', `${config.name}/event`);
    const n = Math.max(1, config.commandConnections ?? 2);
    this.commandSlots = Array.from({ length: n }, (_, i) => slot('command', `${config.name}/cmd${i}`));
  }

  get state(): NodeState {
    return this._state;
  }

  /** Opens every connection (idempotent). Watch `up`/`down`, or await `waitUntilUp()`. */
  start(): void {
    if (this.started || this._state === 'closed') return;
    this.started = true;
    for (const s of [this.eventSlot, ...this.commandSlots]) void this.connectSlot(s);
  }

  /** Resolves when the node is up; rejects with EslNodeDownError after `timeoutMs` or on close. */
  waitUntilUp(timeoutMs = 10_000): Promise<void> {
    if (this._state === 'up') return Promise.resolve();
    if (this._state === 'closed') return Promise.reject(new EslNodeDownError(`node ${this.name} is closed`, { node: this.name }));
    return new Promise((resolve, reject) => {
      const onUp = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.off('up', onUp);
        reject(new EslNodeDownError(`node ${this.name} not up after ${timeoutMs} ms: ${this.lastFailure}`, { node: this.name }));
      }, timeoutMs);
      this.on('up', onUp);
    });
  }

  stats(): PoolStats {
    let ready = 0;
    let inFlight = 0;
    let queued = 0;
    for (const s of this.commandSlots) {
      if (s.conn?.isReady) ready++;
      inFlight += s.queue.pending;
      queued += s.queue.size;
    }
    return {
      state: this._state,
      eventConnectionReady: this.eventSlot.conn?.isReady ?? false,
      commandConnectionsReady: ready,
      commandConnections: this.commandSlots.length,
      inFlight,
      queued,
      connectAttempts: this.attempts,
    };
  }

  api(command: string, options: ApiOptions = {}): Promise<string> {
    try {
      encode.api(command); // refuse injection before anything is queued
    } catch (err) {
      return Promise.reject(err);
    }
    const timeoutMs = options.timeoutMs ?? this.apiTimeoutMs;
    return this.dispatch((conn) => conn.api(command, { timeoutMs }));
  }

  /** `bgapi` on a command connection; the connection is free again as soon as FreeSWITCH acknowledged it. */
  bgapi(command: string, options: BgapiOptions = {}): Promise<BackgroundJobResult> {
    try {
      encode.bgapi(command, '00000000-0000-0000-0000-000000000000');
    } catch (err) {
      return Promise.reject(err);
    }
    let result!: Promise<BackgroundJobResult>;
    const acknowledged = this.dispatch(
      (conn) =>
        new Promise<void>((ack) => {
          result = conn.bgapi(command, {
            timeoutMs: options.timeoutMs ?? this.apiTimeoutMs,
            jobTimeoutMs: options.jobTimeoutMs ?? this.config.jobTimeoutMs,
            onReply: ack,
          });
          result.then(() => ack(), () => ack());
        }),
    );
    return acknowledged.then(() => result);
  }

  /** Graceful: no new commands, waits (up to `graceMs`) for queued ones, then `exit`s every connection. */
  async close(graceMs = 2000): Promise<void> {
    if (this._state === 'closed') return;
    const wasUp = this._state === 'up';
    this._state = 'closed';
    const slots = [this.eventSlot, ...this.commandSlots];
    for (const s of slots) {
      clearTimeout(s.reconnectTimer);
      clearInterval(s.livenessTimer);
      s.reconnectTimer = undefined;
      s.livenessTimer = undefined;
    }
    if (wasUp) this.emit('down', this.name, 'closed');
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.all(this.commandSlots.map((s) => s.queue.onIdle())), grace]);
    clearTimeout(timer);
    await Promise.all(slots.map((s) => s.conn?.exit({ timeoutMs: 1000 })));
  }

  // -------------------------------------------------------------------------------------------

  private dispatch<T>(run: (conn: EslConnection) => Promise<T>): Promise<T> {
    if (this._state === 'closed') return Promise.reject(new EslNodeDownError(`node ${this.name} is closed`, { node: this.name }));
    let best: Slot | undefined;
    let bestLoad = Infinity;
    let queued = 0;
    const n = this.commandSlots.length;
    const start = this.rr++ % n; // rotate the tie-break so equal loads spread
    for (let k = 0; k < n; k++) {
      const s = this.commandSlots[(start + k) % n]!;
      if (!s.conn?.isReady) continue;
      queued += s.queue.size;
      const load = s.queue.size + s.queue.pending;
      if (load < bestLoad) {
        best = s;
        bestLoad = load;
      }
    }
    if (best === undefined) {
      return Promise.reject(new EslNodeDownError(`node ${this.name} has no ready command connection (${this.lastFailure})`, { node: this.name, state: this._state }));
    }
    if (queued >= this.maxQueued) {
      return Promise.reject(new EslOverloadError(`node ${this.name}: ${queued} commands already waiting (max ${this.maxQueued})`, { node: this.name, queued }));
    }
    const conn = best.conn!;
    return best.queue.add(() => {
      // The connection died while this waited: nothing was sent, so the caller may safely retry.
      if (!conn.isReady) {
        return Promise.reject(new EslConnectionClosedError(`connection ${conn.name} closed before the command was sent`, { connection: conn.name, sent: false }));
      }
      return run(conn);
    });
  }

  private async connectSlot(slot: Slot): Promise<void> {
    if (this._state === 'closed' || slot.connecting || slot.stopped) return;
    slot.connecting = true;
    slot.reconnectTimer = undefined;
    this.attempts++;
    let conn: EslConnection | undefined;
    try {
      conn = await EslConnection.connect({
        host: this.config.host,
        port: this.config.port,
        password: this.config.password,
        name: slot.label,
        logger: this.log,
        ...(this.config.connectTimeoutMs !== undefined ? { connectTimeoutMs: this.config.connectTimeoutMs } : {}),
        apiTimeoutMs: this.apiTimeoutMs,
        ...(this.config.jobTimeoutMs !== undefined ? { jobTimeoutMs: this.config.jobTimeoutMs } : {}),
      });
      if (slot.role === 'event') {
        conn.on('event', (event: EslEvent) => {
          this.eventCounter++;
          this.emit('event', this.name, event);
        });
      }
      // Command connections hear BACKGROUND_JOB to correlate their own bgapi jobs (FreeSWITCH fires the
      // job's event to every subscriber, so each connection ignores Job-UUIDs it did not generate).
      await conn.subscribe(slot.role === 'event' ? this.events : ['BACKGROUND_JOB'], 'json', { timeoutMs: this.apiTimeoutMs });
      // Bytes right behind the reply (garbage, a disconnect notice) may have closed it already, and its
      // 'close' went by before any listener of ours: that is a failed attempt, not a ready connection.
      if (!conn.isReady) {
        throw conn.closeReason ?? new EslConnectionClosedError(`connection ${slot.label} closed after subscribing`, { connection: slot.label });
      }
    } catch (err) {
      conn?.close('failed to subscribe');
      slot.connecting = false;
      this.onSlotFailure(slot, err as ConfmgrError);
      return;
    }
    slot.connecting = false;
    if (this.isClosed()) {
      void conn.exit({ timeoutMs: 1000 });
      return;
    }
    slot.backoff.connected();
    slot.conn = conn;
    slot.queue = new PQueue({ concurrency: 1 });
    const live = conn;
    conn.on('close', (reason) => {
      if (slot.conn !== live) return;
      slot.conn = undefined;
      clearInterval(slot.livenessTimer);
      slot.livenessTimer = undefined;
      this.onSlotFailure(slot, reason);
    });
    this.startLiveness(slot, conn);
    this.log.info({ connection: slot.label }, 'connection ready');
    this.updateState();
  }

  private onSlotFailure(slot: Slot, reason: ConfmgrError): void {
    const what = `${slot.label}: ${reason.message}`;
    this.lastFailure = reason instanceof EslAuthError ? `auth failed: ${what}` : what;
    if (this._state === 'closed') return;
    this.log.warn({ connection: slot.label, code: reason.code }, 'connection lost or refused');
    this.updateState(true);
    let delay: number;
    if (reason instanceof EslAuthError) {
      if (this.authRetryMs <= 0) {
        slot.stopped = true;
        this.log.error({ connection: slot.label }, 'password refused; not retrying');
        return;
      }
      delay = this.authRetryMs;
    } else {
      delay = slot.backoff.next();
    }
    slot.reconnectTimer = setTimeout(() => void this.connectSlot(slot), delay);
  }

  private isClosed(): boolean {
    return this._state === 'closed';
  }

  /** `failed`: called after a connection failure (only then may `connecting` turn into `down`). */
  private updateState(failed = false): void {
    if (this._state === 'closed') return;
    const up = (this.eventSlot.conn?.isReady ?? false) && this.commandSlots.some((s) => s.conn?.isReady);
    if (up && this._state !== 'up') {
      this._state = 'up';
      this.log.info('node up');
      this.emit('up', this.name);
    } else if (!up && (this._state === 'up' || (failed && this._state === 'connecting'))) {
      this._state = 'down';
      this.log.warn({ reason: this.lastFailure }, 'node down');
      this.emit('down', this.name, this.lastFailure);
    }
  }

  private startLiveness(slot: Slot, conn: EslConnection): void {
    const interval = this.livenessIntervalMs;
    const watchdog = slot.role === 'event' ? this.heartbeatTimeoutMs : 0;
    if (interval <= 0 && watchdog <= 0) return;
    // One timer per connection: probe with `api status` every `interval`, check the event flow every tick.
    const tick = Math.min(interval > 0 ? interval : Infinity, watchdog > 0 ? watchdog : Infinity);
    let lastProbe = Date.now();
    let lastCount = this.eventCounter;
    let lastEventAt = Date.now();
    slot.livenessTimer = setInterval(() => {
      const now = Date.now();
      if (watchdog > 0) {
        if (this.eventCounter !== lastCount) {
          lastCount = this.eventCounter;
          lastEventAt = now;
        } else if (now - lastEventAt >= watchdog) {
          this.log.warn({ connection: slot.label }, 'no event (not even HEARTBEAT) in time; replacing the event connection');
          conn.close(`was silent for ${now - lastEventAt} ms (no HEARTBEAT)`);
          return;
        }
      }
      if (interval > 0 && now - lastProbe >= interval) {
        lastProbe = now;
        // Through the queue on command connections so the probe never competes with a command on the wire.
        const probe = (): Promise<unknown> => conn.api('status', { timeoutMs: this.apiTimeoutMs });
        const done = slot.role === 'command' ? slot.queue.add(probe) : probe();
        // An answered probe proves the event connection alive as well as an event would: FreeSWITCH's
        // HEARTBEAT interval is configurable (event-heartbeat-interval) and may exceed the watchdog's.
        done.then(() => {
          if (watchdog > 0) lastEventAt = Math.max(lastEventAt, Date.now());
        }, () => undefined); // a timeout closes the connection, which reconnects
      }
    }, tick);
    slot.livenessTimer.unref();
  }
}
