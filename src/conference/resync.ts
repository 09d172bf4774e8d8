/**
 * Keeps the registry true across reconnects. FreeSWITCH sends nothing for the time a client is away,
 * so on every `up(node)` of the ESL pool we ask `conference json_list`, diff it against what we knew
 * for that node and publish the difference as synthesized events.
 *
 * Events that arrive while the snapshot is in flight are buffered, then applied on top of the snapshot
 * once it is in. That order is safe because FreeSWITCH member events carry the member's whole state
 * (every flag, not a delta): an event already reflected in the snapshot re-sets the same values, and
 * one that happened after it moves the state forward. Re-deliveries that change nothing are dropped by
 * the registry's quiet window, so consumers see each change once.
 *
 * A node that goes down keeps its conferences (commands to it fail with NodeDownError) for
 * `downGraceMs`; past that, they are flushed with synthesized del-member / conference-destroy events.
 */
import { TypedEmitter } from '../esl/emitter.js';
import { silentLogger, type Logger } from '../log.js';
import { parseJsonList, type ListedConference } from './json-list.js';
import type { ConferenceRegistry } from './registry.js';
import type { ConferenceEvent } from './types.js';
import type { EslEvent } from '../esl/codec.js';
import { parseConferenceEvent } from './events.js';

/** Runs `api <command>` on `node` and resolves with the reply body (the pool's EslNode.api). */
export type NodeApi = (node: string, command: string) => Promise<string>;

/**
 * - `pending`: configured, never synced yet (state being built: lookups may wait for it)
 * - `resyncing`: connected, json_list in flight (state being rebuilt: lookups may wait for it)
 * - `synced`: connected and rebuilt
 * - `stale`: connected but the last json_list failed; retried every `retryMs`
 * - `down`: disconnected, conferences kept until the grace period ends
 * - `flushed`: down past the grace period, its conferences forgotten
 */
export type NodeSyncState = 'pending' | 'resyncing' | 'synced' | 'stale' | 'down' | 'flushed';

export interface ResyncResult {
  node: string;
  conferences: number;
  participants: number;
  /** Synthesized events published by the diff. */
  synthesized: number;
  /** Received events buffered during the resync and applied after it. */
  replayed: number;
  apiMs: number;
  parseMs: number;
  diffMs: number;
  totalMs: number;
}

export interface StateSyncOptions {
  registry: ConferenceRegistry;
  api: NodeApi;
  /** Configured node names; each starts `pending`. Nodes seen later are added on the fly. */
  nodes?: readonly string[];
  /** How long a down node keeps its conferences (default 30 s). */
  downGraceMs?: number;
  /** Delay before retrying a failed json_list while the node is up (default 2 s; 0 disables). */
  retryMs?: number;
  /** Events buffered during one resync beyond which the oldest are applied immediately (default 100 000). */
  maxBuffered?: number;
  logger?: Logger;
  now?: () => number;
}

export interface StateSyncEvents {
  [event: string]: unknown[];
  /** Every event consumers should see, received or synthesized, in order. */
  event: [ConferenceEvent];
  resynced: [ResyncResult];
  'resync-failed': [node: string, error: Error];
  flushed: [node: string, events: number];
  /** A node's sync state changed. */
  state: [node: string, state: NodeSyncState];
}

interface NodeEntry {
  state: NodeSyncState;
  /** Bumped by every up and down: a resync finishing under an older generation is discarded. */
  generation: number;
  buffer: ConferenceEvent[];
  graceTimer?: NodeJS.Timeout;
  retryTimer?: NodeJS.Timeout;
}

interface Waiter {
  nodes: readonly string[] | undefined;
  resolve: (settled: boolean) => void;
  timer: NodeJS.Timeout;
}

const JSON_LIST = 'conference json_list';

export class ConferenceStateSync extends TypedEmitter<StateSyncEvents> {
  private readonly registry: ConferenceRegistry;
  private readonly api: NodeApi;
  private readonly downGraceMs: number;
  private readonly retryMs: number;
  private readonly maxBuffered: number;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly entries = new Map<string, NodeEntry>();
  private waiters: Waiter[] = [];
  private closed = false;

  constructor(options: StateSyncOptions) {
    super();
    this.registry = options.registry;
    this.api = options.api;
    this.downGraceMs = options.downGraceMs ?? 30_000;
    this.retryMs = options.retryMs ?? 2_000;
    this.maxBuffered = options.maxBuffered ?? 100_000;
    this.log = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    for (const n of options.nodes ?? []) this.entry(n);
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs (wired to the ESL pool: up, down, and events already turned into ConferenceEvents)

  /** The node's event connection is (re)subscribed: rebuild its state. Never rejects. */
  async nodeUp(node: string): Promise<ResyncResult | undefined> {
    const e = this.entry(node);
    clearTimeout(e.graceTimer);
    clearTimeout(e.retryTimer);
    e.graceTimer = undefined;
    e.retryTimer = undefined;
    const generation = ++e.generation;
    this.setState(node, e, 'resyncing');
    return this.resync(node, e, generation);
  }

  /** The node's connection is gone. Its conferences stay (NodeDownError) until the grace period ends. */
  nodeDown(node: string, reason = 'down'): void {
    const e = this.entry(node);
    e.generation++;
    clearTimeout(e.retryTimer);
    e.retryTimer = undefined;
    // Events buffered for an abandoned resync did happen: apply them rather than lose them.
    this.drainBuffer(e);
    if (e.state === 'down' || e.state === 'flushed') return;
    this.setState(node, e, 'down');
    this.log.warn({ node, reason, graceMs: this.downGraceMs }, 'conference node down; keeping its state for the grace period');
    if (!e.graceTimer && !this.closed) {
      e.graceTimer = setTimeout(() => this.flush(node), this.downGraceMs);
      e.graceTimer.unref();
    }
  }

  /** A received conference event (from events.ts). Buffered while its node resyncs. */
  handleEvent(event: ConferenceEvent): void {
    const e = this.entry(event.node);
    if (e.state === 'resyncing') {
      e.buffer.push(event);
      if (e.buffer.length > this.maxBuffered) this.publish(this.registry.apply(e.buffer.shift()!));
      return;
    }
    this.publish(this.registry.apply(event));
  }

  // ---------------------------------------------------------------------------------------------
  // State for the router

  state(node: string): NodeSyncState | undefined {
    return this.entries.get(node)?.state;
  }

  nodes(): string[] {
    return [...this.entries.keys()];
  }

  /** Whether `node`'s part of the state is still being built (never synced, or json_list in flight). */
  isRebuilding(node: string): boolean {
    const s = this.entries.get(node)?.state;
    return s === 'pending' || s === 'resyncing';
  }

  rebuildingNodes(): string[] {
    return this.nodes().filter((n) => this.isRebuilding(n));
  }

  isDown(node: string): boolean {
    const s = this.entries.get(node)?.state;
    return s === 'down' || s === 'flushed';
  }

  /**
   * Resolves true once none of `nodes` (default: all) is rebuilding, false when `timeoutMs` passes
   * first. `pending` nodes count as rebuilding until they come up or are reported down.
   */
  whenSettled(timeoutMs: number, nodes?: readonly string[]): Promise<boolean> {
    if (this.settled(nodes) || this.closed) return Promise.resolve(this.settled(nodes));
    return new Promise((resolve) => {
      const waiter: Waiter = {
        nodes,
        resolve,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve(false);
        }, timeoutMs),
      };
      waiter.timer.unref();
      this.waiters.push(waiter);
    });
  }

  /** Stops timers and releases waiters; the registry keeps its state. */
  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) {
      clearTimeout(e.graceTimer);
      clearTimeout(e.retryTimer);
      e.generation++;
      this.drainBuffer(e);
    }
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.resolve(false);
    }
    this.waiters = [];
  }

  // ---------------------------------------------------------------------------------------------

  private async resync(node: string, e: NodeEntry, generation: number): Promise<ResyncResult | undefined> {
    const t0 = performance.now();
    try {
      const fetched = await this.fetchListing(node, () => generation !== e.generation || this.closed);
      if (fetched === undefined) return undefined; // superseded by a down or a newer up: not even parsed
      const { listed, t1 } = fetched;
      const t2 = performance.now();
      if (generation !== e.generation || this.closed) return undefined;
      // Published conference by conference: nothing holds all of a cold resync's events at once.
      let synthesized = 0;
      this.registry.applySnapshot(node, listed, this.now(), (events) => {
        synthesized += events.length;
        this.publish(events);
      });
      const replayed = e.buffer.length;
      this.drainBuffer(e);
      const t3 = performance.now();
      this.setState(node, e, 'synced');
      let participants = 0;
      for (const c of listed) participants += c.members.length;
      const result: ResyncResult = {
        node,
        conferences: listed.length,
        participants,
        synthesized,
        replayed,
        apiMs: t1 - t0,
        parseMs: t2 - t1,
        diffMs: t3 - t2,
        totalMs: t3 - t0,
      };
      this.log.info(result, 'conference state resynced');
      this.emit('resynced', result);
      return result;
    } catch (err) {
      if (generation !== e.generation || this.closed) return undefined;
      const error = err instanceof Error ? err : new Error(String(err));
      // Without a snapshot the buffered events are still the best knowledge we have.
      this.drainBuffer(e);
      this.setState(node, e, 'stale');
      this.log.error({ node, err: error }, 'conference resync failed');
      this.emit('resync-failed', node, error);
      if (this.retryMs > 0) {
        e.retryTimer = setTimeout(() => {
          e.retryTimer = undefined;
          if (e.state === 'stale' && e.generation === generation) void this.nodeUp(node);
        }, this.retryMs);
        e.retryTimer.unref();
      }
      return undefined;
    }
  }

  /**
   * json_list, parsed; undefined when the resync was superseded while the reply was on its way. Its own
   * frame so that the reply text (7 MB for 1000 conferences) is garbage as soon as it is parsed, not
   * held through the diff by the caller's frame.
   */
  private async fetchListing(node: string, superseded: () => boolean): Promise<{ listed: ListedConference[]; t1: number } | undefined> {
    const reply = await this.api(node, JSON_LIST);
    if (superseded()) return undefined;
    const t1 = performance.now();
    return { listed: parseJsonList(reply, JSON_LIST), t1 };
  }

  private flush(node: string): void {
    const e = this.entry(node);
    e.graceTimer = undefined;
    if (e.state !== 'down') return;
    const events = this.registry.flushNode(node, this.now());
    this.publish(events);
    this.setState(node, e, 'flushed');
    this.log.warn({ node, events: events.length }, 'conference node stayed down past its grace period; state flushed');
    this.emit('flushed', node, events.length);
  }

  private drainBuffer(e: NodeEntry): void {
    const buffered = e.buffer;
    e.buffer = [];
    for (const ev of buffered) this.publish(this.registry.apply(ev));
  }

  private publish(events: readonly ConferenceEvent[]): void {
    for (const ev of events) this.emit('event', ev);
  }

  private entry(node: string): NodeEntry {
    let e = this.entries.get(node);
    if (!e) {
      e = { state: 'pending', generation: 0, buffer: [] };
      this.entries.set(node, e);
    }
    return e;
  }

  private setState(node: string, e: NodeEntry, state: NodeSyncState): void {
    if (e.state === state) return;
    e.state = state;
    this.emit('state', node, state);
    if (this.waiters.length > 0) {
      const still: Waiter[] = [];
      for (const w of this.waiters) {
        if (this.settled(w.nodes)) {
          clearTimeout(w.timer);
          w.resolve(true);
        } else still.push(w);
      }
      this.waiters = still;
    }
  }

  private settled(nodes: readonly string[] | undefined): boolean {
    return (nodes ?? this.nodes()).every((n) => !this.isRebuilding(n));
  }
}

/** What attachStateSync listens to: the ESL cluster or one pool (NodeEvents). */
export interface NodeEventSource {
  on(event: 'up', listener: (node: string) => void): unknown;
  on(event: 'down', listener: (node: string, reason: string) => void): unknown;
  on(event: 'event', listener: (node: string, event: EslEvent) => void): unknown;
  off(event: 'up', listener: (node: string) => void): unknown;
  off(event: 'down', listener: (node: string, reason: string) => void): unknown;
  off(event: 'event', listener: (node: string, event: EslEvent) => void): unknown;
}

/**
 * Wires a cluster (or pool) to a ConferenceStateSync: conference events are parsed (events.ts) and
 * handed over in wire order, `up` starts a resync, `down` starts the grace period. Returns a detach.
 */
export function attachStateSync(source: NodeEventSource, sync: ConferenceStateSync): () => void {
  const onUp = (node: string): void => void sync.nodeUp(node);
  const onDown = (node: string, reason: string): void => sync.nodeDown(node, reason);
  const onEvent = (node: string, event: EslEvent): void => {
    const ev = parseConferenceEvent(event, node);
    if (ev) sync.handleEvent(ev);
  };
  source.on('up', onUp);
  source.on('down', onDown);
  source.on('event', onEvent);
  return () => {
    source.off('up', onUp);
    source.off('down', onDown);
    source.off('event', onEvent);
  };
}
