/**
 * NodeLeases: which instance is active for each FreeSWITCH node, decided by RabbitMQ alone.
 *
 * The lease of node N is the exclusive queue `confmgr.lease.<N>`: the instance whose connection
 * declared it holds it; any other declaration fails with RESOURCE_LOCKED (405) and that instance is
 * a standby, trying again every `retryMs`. The broker deletes an exclusive queue with its connection,
 * so an active that is killed, cut off (the lease connection's short heartbeat notices within about
 * two beats) or loses the broker gives the lease up without doing anything; a voluntary release
 * (SIGTERM, the node's ESL connection lost) deletes the queue.
 *
 * The same connection reads back every event published on the exchange (a private auto-delete queue
 * bound to `conference.event.#`) and reports each one's node and FreeSWITCH identity from its headers:
 * what a standby must not publish again when it takes over (src/bus/node-gate.ts).
 *
 * A node is contended only while this instance can reach it (`contend` / `withdraw`, driven by the
 * node's ESL connection), so a standby that cannot see the node never takes it.
 *
 * Balance (several instances sharing one node list): every instance announces itself each round on a
 * fanout exchange: how many leases it holds and which, which nodes it contends for, how far back its
 * hold of each node's events reaches and the last event of each it saw published. `share` =
 * ceil(reachable nodes / live instances). A free lease is claimed only by the best candidate among the
 * live instances ready for it (src/bus/lease-balance.ts: one whose hold reaches back to the last
 * published event first), so a joiner never takes a node whose recent events only another instance
 * has; a freshly connected instance listens to a round and a half of presence before it claims
 * anything. Over its share, an instance gives up its newest lease that a live peer under its share is
 * ready for and covers (gracefully: stop publishing, flush, delete) and leaves it alone for a while.
 * A node that no live instance announces holding for FREE_ROUNDS rounds is claimed by whoever can,
 * whatever the order says (the presence of the best candidate may be misleading).
 */
import { randomBytes } from 'node:crypto';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { reconnectLoop, redactUrl, silentLogger, type BackoffOptions, type Logger } from '../util/index.js';
import { closeWithin, connectAmqp } from './connect.js';
import { CORE_HEADER, NODE_HEADER, SEQUENCE_HEADER } from './node-gate.js';
import { latestPublished, leaseToGiveUp, parsePresence, peerPresence, shouldClaim, type PeerPresence, type PresenceMessage, type Published, type Reach } from './lease-balance.js';
import { EVENT_PREFIX } from './routing.js';
import type { ServedNodes } from './served-nodes.js';

export type LeaseState = 'active' | 'standby' | 'unreachable';

export interface NodeLeasesOptions {
  url: string;
  /** The topic exchange events are published on (read back here). */
  exchange: string;
  /** Client-provided connection name (rabbitmqctl list_connections). */
  connectionName: string;
  /** How often a standby tries a held lease. Default 1000. */
  retryMs?: number;
  /** AMQP heartbeat of the lease connection, seconds: how fast the broker notices a cut-off holder. Default 1. */
  heartbeatS?: number;
  reconnect?: BackoffOptions;
  /** Every event seen published on the exchange, by any instance. */
  onPublished?: (node: string, core: string, sequence: number) => void;
  /** Runs after a lease is won, before the node counts as served (the takeover itself). */
  onAcquired?: (node: string) => Promise<void> | void;
  /** Runs when a lease is given up to rebalance, after the node stopped counting as served, before the queue goes (flush what was taken). */
  beforeRelease?: (node: string) => Promise<void> | void;
  /** How far back this instance's hold of a node's events reaches, and the last event of it seen published (the claim order). */
  holdView?: { reach(node: string): Reach | undefined; published(node: string): Published | undefined };
  /** Fanout exchange where instances announce themselves (balance). Default `<exchange>.presence`: instances sharing nodes share the event exchange. */
  presenceExchange?: string;
  logger?: Logger;
}

/** The lease queue of a node. */
export function leaseQueueName(node: string): string {
  return `confmgr.lease.${node}`;
}

const RESOURCE_LOCKED = 405;
/** A peer not heard from for this many rounds is gone. */
const PEER_ROUNDS = 3;
/** Presence younger than this many rounds counts (a peer that died still counts as live for PEER_ROUNDS). */
const HEARD_ROUNDS = 1.5;
/** A node no live instance announces holding is claimed by anyone after this many rounds. */
const FREE_ROUNDS = 4;
/** A lease given up to rebalance is left alone for this many rounds. */
const COOLDOWN_ROUNDS = 2;
const CLOSE_MS = 1000;
/** Header of a fence: a message this instance sends to its own read-back queue (see fence()). */
const FENCE_HEADER = 'x-confmgr-fence';

interface Session {
  connection: ChannelModel;
  closed: boolean;
  /** node → the channel that declared its lease queue. */
  leases: Map<string, Channel>;
  acquiring: Set<string>;
  /** The channel that consumes and publishes presence. */
  channel: Channel;
  /** The private queue reading back what is published on the exchange. */
  readBack: string;
  /** Before this (ms) nothing is claimed: the presence of every live peer is heard first. */
  listenUntil: number;
}

export class NodeLeases implements ServedNodes {
  private readonly options: NodeLeasesOptions;
  private readonly retryMs: number;
  private readonly log: Logger;
  private readonly reachable = new Set<string>();
  private readonly serving = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private session: Session | undefined;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private startedResolve: (() => void) | undefined;
  private readonly started: Promise<void>;
  private timer: NodeJS.Timeout | undefined;
  private takeovers = 0;
  private readonly id = randomBytes(8).toString('hex');
  private readonly peers = new Map<string, PeerPresence>();
  private round = 0;
  /** node → the round before which it is not tried again (given up to rebalance). */
  private readonly cooldown = new Map<string, number>();
  /** node → the round since which no live instance announced holding it. */
  private readonly freeSince = new Map<string, number>();
  /** Leases in the order they were won (the newest is given up first). */
  private readonly wonOrder: string[] = [];
  private rebalancing = false;
  private fences = 0;
  private readonly fenceWaiters = new Map<string, () => void>();

  constructor(options: NodeLeasesOptions) {
    this.options = options;
    this.retryMs = Math.max(50, options.retryMs ?? 1000);
    this.log = (options.logger ?? silentLogger).child({ component: 'node-lease' });
    this.started = new Promise((resolve) => (this.startedResolve = resolve));
  }

  isServing(node: string): boolean {
    return this.serving.has(node);
  }

  /**
   * Whether this instance's connection still holds the node's lease (won, and not lost since), served
   * yet or not: a takeover step asks it before releasing what it held.
   */
  holds(node: string): boolean {
    const s = this.session;
    return s !== undefined && !s.closed && s.leases.has(node);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  state(node: string): LeaseState {
    if (this.serving.has(node)) return 'active';
    return this.reachable.has(node) ? 'standby' : 'unreachable';
  }

  /** The lease connection is up (without it this instance serves no node and cannot take one). */
  get connected(): boolean {
    return this.session !== undefined && !this.session.closed;
  }

  /** Leases won since start. */
  takeoverCount(): number {
    return this.takeovers;
  }

  /** Connects (and keeps reconnecting); resolves once the read-back queue is consuming, or on close. */
  start(): Promise<void> {
    if (!this.loop) {
      this.loop = reconnectLoop({
        signal: this.abort.signal,
        backoff: this.options.reconnect ?? {},
        session: (connected) => this.runSession(connected),
        onError: (err) => this.log.warn({ err, url: redactUrl(this.options.url) }, 'lease connection failed'),
      });
      this.timer = setInterval(() => this.tick(), this.retryMs);
      this.timer.unref();
    }
    return this.started;
  }

  /** This instance can reach the node (its ESL connection is up): compete for its lease. */
  contend(node: string): void {
    this.reachable.add(node);
    this.tryAll();
  }

  /** This instance lost the node: give its lease up (a standby that still reaches it takes over). */
  async withdraw(node: string): Promise<void> {
    this.reachable.delete(node);
    await this.release(node);
  }

  /** Gives every lease up (deleting the queues) and closes the connection. */
  async close(): Promise<void> {
    this.abort.abort();
    clearInterval(this.timer);
    this.reachable.clear();
    const s = this.session;
    if (s) {
      await Promise.all([...s.leases.keys()].map((node) => this.release(node)));
      s.closed = true;
      await closeWithin(s.connection, CLOSE_MS);
    }
    this.startedResolve?.();
    await this.loop;
  }

  private async release(node: string): Promise<void> {
    const s = this.session;
    const channel = s?.leases.get(node);
    s?.leases.delete(node);
    this.setServing(node, false);
    if (!channel) return;
    try {
      await channel.deleteQueue(leaseQueueName(node));
      await channel.close();
    } catch (err) {
      this.log.debug({ err, node }, 'lease release: channel already gone');
    }
    this.log.info({ node }, 'lease released');
  }

  private setServing(node: string, on: boolean): void {
    if (on === this.serving.has(node)) return;
    if (on) this.serving.add(node);
    else this.serving.delete(node);
    for (const l of [...this.listeners]) l();
  }

  /** Live instances sharing the broker (this one included), as last announced. */
  liveInstances(): number {
    const since = Date.now() - PEER_ROUNDS * this.retryMs;
    let n = 1;
    for (const [id, p] of this.peers) if (id !== this.id && p.at >= since) n++;
    return n;
  }

  /** The most leases this instance should hold: ceil(reachable nodes / live instances). */
  share(): number {
    return Math.max(1, Math.ceil(this.reachable.size / this.liveInstances()));
  }

  private tick(): void {
    this.round++;
    const s = this.session;
    if (!s || s.closed) return;
    try {
      s.channel.publish(this.presenceExchange(), '', Buffer.from(JSON.stringify(this.presence(s))));
    } catch (err) {
      this.log.debug({ err }, 'presence not sent');
    }
    const since = Date.now() - PEER_ROUNDS * this.retryMs;
    for (const [id, p] of this.peers) if (p.at < since) this.peers.delete(id);
    const heard = this.heardPeers();
    for (const node of this.reachable) {
      if (s.leases.has(node) || heard.some(([, p]) => p.holds?.has(node))) this.freeSince.delete(node);
      else if (!this.freeSince.has(node)) this.freeSince.set(node, this.round);
    }
    void this.rebalance(s);
    this.tryAll();
  }

  private presence(s: Session): PresenceMessage {
    // No prototype: a node named `__proto__` is a key like any other.
    const reach = Object.create(null) as Record<string, [string, number]>;
    const published = Object.create(null) as Record<string, [string, number]>;
    for (const node of this.reachable) {
      const r = this.options.holdView?.reach(node);
      if (r) reach[node] = [r.core, r.from];
      const p = this.options.holdView?.published(node);
      if (p) published[node] = [p.core, p.sequence];
    }
    return { id: this.id, held: s.leases.size, ready: [...this.reachable], holds: [...s.leases.keys()], reach, published };
  }

  /** Peers heard in the last round and a half (this instance excluded). */
  private heardPeers(): Array<[string, PeerPresence]> {
    const since = Date.now() - HEARD_ROUNDS * this.retryMs;
    return [...this.peers].filter(([id, p]) => id !== this.id && p.at >= since);
  }

  /** Whether this instance is the one to claim the node's lease if it is free (see the header). */
  private mayClaim(s: Session, node: string, heard: ReadonlyArray<[string, PeerPresence]>): boolean {
    const free = this.freeSince.get(node);
    if (free !== undefined && this.round - free >= FREE_ROUNDS) return true;
    const reach = this.options.holdView?.reach(node);
    const published = latestPublished([this.options.holdView?.published(node), ...heard.map(([, p]) => p.published?.get(node))], reach?.core);
    const rivals = heard.filter(([, p]) => p.ready?.has(node) && !p.holds?.has(node)).map(([id, p]) => ({ id, held: p.held, reach: p.reach?.get(node) }));
    return shouldClaim({ me: { id: this.id, held: s.leases.size, reach }, rivals, published, share: this.share() });
  }

  private presenceExchange(): string {
    return this.options.presenceExchange ?? `${this.options.exchange}.presence`;
  }

  /** Over its share: gives up the newest lease a live peer under its own share is ready to take. */
  private async rebalance(s: Session): Promise<void> {
    if (this.rebalancing || s.leases.size <= this.share()) return;
    // Takers only among peers heard in the last round and a half: a peer that died still counts as live
    // for PEER_ROUNDS, and a lease given up to it would wait for the free-lease fallback.
    const share = this.share();
    const node = leaseToGiveUp({
      won: this.wonOrder.filter((n) => s.leases.has(n) && this.serving.has(n)),
      peers: this.heardPeers().map(([, p]) => p),
      share,
      published: (n) => this.options.holdView?.published(n),
    });
    if (!node) return;
    this.rebalancing = true;
    try {
      this.cooldown.set(node, this.round + COOLDOWN_ROUNDS);
      this.setServing(node, false);
      await this.options.beforeRelease?.(node);
      this.log.info({ node, share, instances: this.liveInstances() }, 'giving a lease up to rebalance');
      await this.release(node);
    } finally {
      this.rebalancing = false;
    }
  }

  private tryAll(): void {
    const s = this.session;
    if (!s || s.closed) return;
    if (Date.now() < s.listenUntil) return;
    const heard = this.heardPeers();
    for (const node of this.reachable) {
      if (s.leases.has(node) || s.acquiring.has(node) || (this.cooldown.get(node) ?? 0) > this.round) continue;
      if (this.mayClaim(s, node, heard)) void this.tryAcquire(s, node);
    }
  }

  private async tryAcquire(s: Session, node: string): Promise<void> {
    s.acquiring.add(node);
    let channel: Channel | undefined;
    try {
      channel = await s.connection.createChannel();
      channel.on('error', () => undefined); // a 405 closes the channel; the rejection below says it
      await channel.assertQueue(leaseQueueName(node), { exclusive: true, durable: false, autoDelete: false });
    } catch (err) {
      s.acquiring.delete(node);
      if ((err as { code?: number }).code !== RESOURCE_LOCKED) this.log.debug({ err, node }, 'lease attempt failed');
      return;
    }
    if (s.closed || !this.reachable.has(node)) {
      s.acquiring.delete(node);
      await channel.deleteQueue(leaseQueueName(node)).catch(() => undefined);
      await channel.close().catch(() => undefined);
      return;
    }
    s.leases.set(node, channel);
    const startedAt = performance.now();
    try {
      await this.options.onAcquired?.(node);
    } catch (err) {
      this.log.error({ err, node }, 'takeover step failed');
    }
    s.acquiring.delete(node);
    // Released or disconnected meanwhile: not served.
    if (s.closed || s.leases.get(node) !== channel) return;
    this.takeovers++;
    const at = this.wonOrder.indexOf(node);
    if (at >= 0) this.wonOrder.splice(at, 1);
    this.wonOrder.push(node);
    this.setServing(node, true);
    this.log.info({ node, ms: Math.round(performance.now() - startedAt) }, 'lease acquired: active for node');
  }

  private async runSession(connected: () => void): Promise<void> {
    const url = withHeartbeat(this.options.url, this.options.heartbeatS ?? 1);
    const connection = await connectAmqp(url, this.options.connectionName, this.log);
    let channel: Channel;
    let readBack: string;
    try {
      channel = await connection.createChannel();
      await channel.assertExchange(this.options.exchange, 'topic', { durable: true });
      const q = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
      readBack = q.queue;
      await channel.bindQueue(q.queue, this.options.exchange, `${EVENT_PREFIX}.#`);
      await channel.consume(q.queue, (msg) => this.onMessage(msg), { noAck: true });
      await channel.assertExchange(this.presenceExchange(), 'fanout', { durable: false, autoDelete: true });
      const presence = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
      await channel.bindQueue(presence.queue, this.presenceExchange(), '');
      await channel.consume(presence.queue, (msg) => this.onPresence(msg), { noAck: true });
    } catch (err) {
      await closeWithin(connection, CLOSE_MS);
      throw err;
    }
    if (this.abort.signal.aborted) {
      await closeWithin(connection, CLOSE_MS);
      return;
    }
    const listenMs = HEARD_ROUNDS * this.retryMs;
    const s: Session = { connection, closed: false, leases: new Map(), acquiring: new Set(), channel, readBack, listenUntil: Date.now() + listenMs };
    const closed = new Promise<void>((resolve) => {
      connection.on('close', () => {
        s.closed = true;
        if (this.session === s) this.session = undefined;
        // The broker dropped every lease of this connection with it: nothing is served any more.
        for (const node of s.leases.keys()) this.setServing(node, false);
        s.leases.clear();
        if (!this.abort.signal.aborted) this.log.warn('lease connection lost: serving no node until it is back');
        resolve();
      });
    });
    this.session = s;
    connected();
    this.log.info({ url: redactUrl(this.options.url) }, 'lease connection up');
    this.startedResolve?.();
    const listened = setTimeout(() => this.tryAll(), listenMs + 5);
    listened.unref();
    await closed;
    clearTimeout(listened);
  }

  private onPresence(msg: ConsumeMessage | null): void {
    if (!msg) return;
    const p = parsePresence(msg.content);
    if (p) this.peers.set(p.id, peerPresence(p, Date.now()));
  }

  /**
   * Resolves true once everything the broker had routed to the read-back queue before this call has
   * been read back and reported (onPublished), false after `timeoutMs` or without a connection. A
   * takeover waits for it: under load the read-back can lag seconds behind what the previous holder
   * published, and what is not yet read back would be released again. The fence goes to this
   * instance's own queue only (the default exchange), so no consumer of the exchange sees it.
   */
  fence(timeoutMs: number): Promise<boolean> {
    const s = this.session;
    if (!s || s.closed) return Promise.resolve(false);
    const token = `${this.id}-${++this.fences}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.fenceWaiters.delete(token);
        this.log.warn({ timeoutMs }, 'read-back fence not back in time: taking over with what was read back');
        resolve(false);
      }, timeoutMs);
      this.fenceWaiters.set(token, () => {
        clearTimeout(timer);
        this.fenceWaiters.delete(token);
        resolve(true);
      });
      try {
        s.channel.sendToQueue(s.readBack, Buffer.alloc(0), { headers: { [FENCE_HEADER]: token } });
      } catch (err) {
        this.log.debug({ err }, 'read-back fence not sent');
        this.fenceWaiters.get(token)?.();
      }
    });
  }

  private onMessage(msg: ConsumeMessage | null): void {
    if (!msg) return;
    const h = msg.properties.headers ?? {};
    const fence = h[FENCE_HEADER];
    if (typeof fence === 'string') {
      this.fenceWaiters.get(fence)?.();
      return;
    }
    const node = h[NODE_HEADER];
    const core = h[CORE_HEADER];
    const sequence = Number(h[SEQUENCE_HEADER]);
    if (typeof node === 'string' && typeof core === 'string' && sequence > 0) this.options.onPublished?.(node, core, sequence);
  }
}

function withHeartbeat(url: string, seconds: number): string {
  if (/[?&]heartbeat=/.test(url)) return url;
  return `${url}${url.includes('?') ? '&' : '?'}heartbeat=${seconds}`;
}

