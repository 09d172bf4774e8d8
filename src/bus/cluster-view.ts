/**
 * ClusterView: what the other instances on the broker serve, for the REST API and CLI of this one.
 *
 *   <exchange>.cluster (fanout)  ──▶ every instance's private queue
 *      presence  {type:"presence", from, instance}      each `heartbeatMs`: who is alive
 *      bye       {type:"bye", from, instance}           a graceful stop: no longer waited for
 *      request   {type:"request", from, instance, kind, account?, conference?}   reply_to + correlation_id
 *   reply (default exchange, to the asker's queue)  {type:"reply", from, instance, data | error}
 *
 * A request is answered by every other instance, each for the nodes it serves (`answer`); the asker
 * gathers the answers until every live instance answered or `gatherMs` passed (cluster-gather.ts), and
 * says which ones stayed silent. Alone on the broker, nothing is waited for.
 *
 * `forward` sends a command for a conference another instance serves as confmgr's own command message
 * on the senders' exchange with the conference's key `conference.command.<id>`: the per-conference
 * routing (command-bindings.ts) takes it to exactly the serving instance's queue (or, when nobody
 * serves it, the shared queue answers CONFERENCE_NOT_FOUND); the reply comes back on this queue.
 */
import { randomBytes } from 'node:crypto';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { ConferenceCommand } from '../conference/index.js';
import { CommandTimeoutError } from '../conference/index.js';
import { reconnectLoop, redactUrl, silentLogger, sleep, type BackoffOptions, type Logger } from '../util/index.js';
import { ClusterPeers, Gathering, type GatherOutcome } from './cluster-gather.js';
import type { CommandReply } from './command-message.js';
import { closeWithin, connectAmqp } from './connect.js';
import { ClusterUnavailableError } from './errors.js';
import { commandRoutingKey } from './routing.js';

/** What one instance is asked: its conferences (of an account), one conference, or its nodes. */
export type ClusterRequest =
  | { kind: 'conferences'; account: string }
  | { kind: 'conference'; account: string; conference: string }
  | { kind: 'nodes' };

const KINDS = new Set(['conferences', 'conference', 'nodes']);
/** Ids in a request (account, conference) are at most this long; anything longer is not ours. */
const MAX_ID = 256;
/** Messages on the cluster queue larger than this are ignored (a gather answer lists conferences, not events). */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const CLOSE_MS = 1000;

export interface ClusterViewOptions {
  url: string;
  /** The senders' topic exchange (forwarded commands); the cluster exchange is `<exchange>.cluster`. */
  exchange: string;
  /** This instance's name, as the answers and `missing` lists show it. */
  instanceName: string;
  connectionName: string;
  /** How long a gather waits for the silent ones. Default 500. */
  gatherMs?: number;
  /** A forwarded command with no reply within this rejects with TIMEOUT. Default 15 000. */
  forwardTimeoutMs?: number;
  /** Presence beat. Default 1000. */
  heartbeatMs?: number;
  /**
   * An instance not heard from for this long is no longer waited for. Default 30 × heartbeatMs: one
   * that vanished without a goodbye (killed, cut off) is reported missing that long, not hidden.
   */
  expireMs?: number;
  /** What this instance answers to another's request (only what it serves). */
  answer: (request: ClusterRequest) => Promise<unknown> | unknown;
  reconnect?: BackoffOptions;
  logger?: Logger;
}

interface Session {
  connection: ChannelModel;
  channel: Channel;
  queue: string;
}

type Pending =
  | { kind: 'gather'; gathering: Gathering<unknown> }
  | { kind: 'forward'; resolve: (reply: CommandReply) => void; reject: (err: unknown) => void };

export class ClusterView {
  readonly clusterExchange: string;
  private readonly options: ClusterViewOptions;
  private readonly gatherMs: number;
  private readonly forwardTimeoutMs: number;
  private readonly heartbeatMs: number;
  private readonly peers: ClusterPeers;
  private readonly log: Logger;
  private readonly id = randomBytes(8).toString('hex');
  private seq = 0;
  private readonly pending = new Map<string, Pending>();
  private session: Session | undefined;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private startedResolve: (() => void) | undefined;
  private readonly started: Promise<void>;

  constructor(options: ClusterViewOptions) {
    this.options = options;
    this.clusterExchange = `${options.exchange}.cluster`;
    this.gatherMs = options.gatherMs ?? 500;
    this.forwardTimeoutMs = options.forwardTimeoutMs ?? 15_000;
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.peers = new ClusterPeers({ expireMs: options.expireMs ?? 30 * this.heartbeatMs });
    this.log = (options.logger ?? silentLogger).child({ component: 'cluster-view' });
    this.started = new Promise((resolve) => (this.startedResolve = resolve));
  }

  get connected(): boolean {
    return this.session !== undefined;
  }

  /** The other instances alive now (names). */
  instances(): string[] {
    return [...new Set(this.peers.live().values())].sort();
  }

  /** Connects (and keeps reconnecting); resolves once first connected, or on close. */
  start(): Promise<void> {
    if (!this.loop) {
      this.loop = reconnectLoop({
        signal: this.abort.signal,
        backoff: this.options.reconnect ?? {},
        session: (connected) => this.runSession(connected),
        onError: (err) => this.log.warn({ err, url: redactUrl(this.options.url) }, 'cluster view connect failed'),
      });
      this.timer = setInterval(() => this.announce('presence'), this.heartbeatMs);
      this.timer.unref();
    }
    return this.started;
  }

  /** Says goodbye (peers stop waiting for this instance) and closes. */
  async close(): Promise<void> {
    if (this.abort.signal.aborted) return;
    clearInterval(this.timer);
    this.announce('bye');
    this.abort.abort();
    const s = this.session;
    if (s) {
      // The channel's close-ok comes after the broker has routed what the channel published: the
      // goodbye is out before the connection goes (a connection close alone may lose it).
      await Promise.race([s.channel.close().catch(() => undefined), sleep(CLOSE_MS)]);
      await closeWithin(s.connection, CLOSE_MS);
    }
    this.failPending(new ClusterUnavailableError('the cluster view is closing'));
    this.startedResolve?.();
    await this.loop;
  }

  /**
   * Asks every other live instance; resolves with their answers and who stayed silent, or as soon as
   * an answer is `enough` (e.g. the one instance that serves a conference said so).
   */
  async gather<T>(request: ClusterRequest, enough?: (data: T) => boolean): Promise<GatherOutcome<T>> {
    const s = this.session;
    if (!s) return { answers: [], missing: [], partial: true };
    const correlationId = this.nextId('g');
    const gathering = new Gathering<unknown>({
      expected: this.peers.live(),
      deadlineMs: this.gatherMs,
      ...(enough ? { enough: (data: unknown) => enough(data as T) } : {}),
    });
    this.pending.set(correlationId, { kind: 'gather', gathering });
    try {
      s.channel.publish(this.clusterExchange, '', json({ type: 'request', from: this.id, instance: this.options.instanceName, ...request }), {
        replyTo: s.queue,
        correlationId,
        contentType: 'application/json',
      });
    } catch (err) {
      this.log.debug({ err }, 'cluster request not sent');
      gathering.finish();
    }
    const outcome = await gathering.done;
    this.pending.delete(correlationId);
    return outcome as GatherOutcome<T>;
  }

  /**
   * Sends `command` to the instance serving its conference (per-conference routing) and resolves with
   * its reply, success or error as that instance gave it. `account` goes as `Account-ID`: the serving
   * instance refuses (FORBIDDEN) a conference of another account.
   */
  forward(command: ConferenceCommand, account?: string): Promise<CommandReply> {
    const s = this.session;
    if (!s) return Promise.reject(new ClusterUnavailableError('the cluster view is not connected to the broker'));
    const correlationId = this.nextId('f');
    return new Promise<CommandReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new CommandTimeoutError(`no reply from the instance serving ${command.conference} within ${this.forwardTimeoutMs} ms`, { conference: command.conference }));
      }, this.forwardTimeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.pending.delete(correlationId);
      };
      this.pending.set(correlationId, {
        kind: 'forward',
        resolve: (reply) => (done(), resolve(reply)),
        reject: (err) => (done(), reject(err)),
      });
      try {
        const body = account === undefined ? { command } : { command, 'Account-ID': account };
        s.channel.publish(this.options.exchange, commandRoutingKey(command.conference), json(body), {
          replyTo: s.queue,
          correlationId,
          contentType: 'application/json',
          appId: 'confmgr-cluster-view',
        });
      } catch (err) {
        done();
        reject(new ClusterUnavailableError('the forwarded command could not be sent', { cause: String(err) }));
      }
    });
  }

  // ---------------------------------------------------------------------------------------------

  private nextId(kind: string): string {
    return `${kind}-${this.id}-${(this.seq++).toString(36)}`;
  }

  private announce(type: 'presence' | 'bye' | 'hello'): void {
    const s = this.session;
    if (!s) return;
    try {
      s.channel.publish(this.clusterExchange, '', json({ type, from: this.id, instance: this.options.instanceName }));
    } catch (err) {
      this.log.debug({ err, type }, 'cluster presence not sent');
    }
  }

  private failPending(err: unknown): void {
    for (const [id, p] of [...this.pending]) {
      this.pending.delete(id);
      if (p.kind === 'gather') p.gathering.finish();
      else p.reject(err);
    }
  }

  private async runSession(connected: () => void): Promise<void> {
    const connection = await connectAmqp(this.options.url, this.options.connectionName, this.log);
    let session: Session;
    try {
      const channel = await connection.createChannel();
      channel.on('error', (err: unknown) => this.log.warn({ err }, 'cluster view channel error'));
      await channel.assertExchange(this.options.exchange, 'topic', { durable: true });
      await channel.assertExchange(this.clusterExchange, 'fanout', { durable: false, autoDelete: true });
      const q = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
      await channel.bindQueue(q.queue, this.clusterExchange, '');
      session = { connection, channel, queue: q.queue };
      await channel.consume(q.queue, (msg) => this.onMessage(session, msg), { noAck: true });
    } catch (err) {
      await closeWithin(connection, CLOSE_MS);
      throw err;
    }
    if (this.abort.signal.aborted) {
      await closeWithin(connection, CLOSE_MS);
      return;
    }
    const closed = new Promise<void>((resolve) => connection.on('close', () => resolve()));
    this.session = session;
    connected();
    // Everyone answers a hello with a presence beat: the first gather already knows who is there.
    this.announce('hello');
    this.log.info({ exchange: this.clusterExchange }, 'cluster view connected');
    // A short pause for the first beats, bounded: start() must not wait for peers that are not there.
    await Promise.race([sleep(Math.min(200, this.heartbeatMs), this.abort.signal), closed]);
    this.startedResolve?.();
    await closed;
    if (this.session === session) this.session = undefined;
    this.failPending(new ClusterUnavailableError('the cluster view lost its broker connection'));
    if (!this.abort.signal.aborted) this.log.warn('cluster view lost its connection; reconnecting');
  }

  private onMessage(s: Session, msg: ConsumeMessage | null): void {
    if (!msg || msg.content.length > MAX_MESSAGE_BYTES) return;
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(msg.content.toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return;
      body = parsed as Record<string, unknown>;
    } catch {
      return;
    }
    const correlationId = typeof msg.properties.correlationId === 'string' ? msg.properties.correlationId : undefined;
    const pending = correlationId === undefined ? undefined : this.pending.get(correlationId);
    if (pending?.kind === 'forward') {
      pending.resolve(body as unknown as CommandReply);
      return;
    }
    const from = body.from;
    const instance = body.instance;
    if (typeof from !== 'string' || typeof instance !== 'string' || from === this.id) return;
    switch (body.type) {
      case 'bye':
        this.peers.gone(from);
        return;
      case 'hello':
        this.peers.heard(from, instance);
        this.announce('presence');
        return;
      case 'presence':
        this.peers.heard(from, instance);
        return;
      case 'reply':
        this.peers.heard(from, instance);
        if (pending?.kind === 'gather') pending.gathering.answer(from, instance, body.error === undefined ? body.data : undefined);
        return;
      case 'request': {
        this.peers.heard(from, instance);
        const request = toRequest(body);
        const replyTo = msg.properties.replyTo as unknown;
        if (request && typeof replyTo === 'string' && correlationId !== undefined) void this.reply(s, request, replyTo, correlationId);
        return;
      }
    }
  }

  private async reply(s: Session, request: ClusterRequest, replyTo: string, correlationId: string): Promise<void> {
    let payload: Record<string, unknown>;
    try {
      payload = { data: await this.options.answer(request) };
    } catch (err) {
      this.log.warn({ err, kind: request.kind }, 'cluster request not answered');
      payload = { error: err instanceof Error ? err.message : String(err) };
    }
    try {
      s.channel.sendToQueue(replyTo, json({ type: 'reply', from: this.id, instance: this.options.instanceName, ...payload }), {
        correlationId,
        contentType: 'application/json',
      });
    } catch (err) {
      this.log.debug({ err }, 'cluster reply not sent');
    }
  }
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID;

/** The request a message carries, or undefined when it is not a well-formed one. */
function toRequest(body: Record<string, unknown>): ClusterRequest | undefined {
  if (!KINDS.has(body.kind as string)) return undefined;
  if (body.kind === 'nodes') return { kind: 'nodes' };
  if (!isId(body.account)) return undefined;
  if (body.kind === 'conferences') return { kind: 'conferences', account: body.account };
  return isId(body.conference) ? { kind: 'conference', account: body.account, conference: body.conference } : undefined;
}
