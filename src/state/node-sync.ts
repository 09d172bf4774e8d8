/**
 * Keeps the registry true across reconnects: one state machine per node (pending → resyncing →
 * synced / stale, down → flushed). FreeSWITCH sends nothing for the time a client is away, so on
 * every `up(node)` of the ESL pool the node's conferences are listed (listing-fetch.ts), diffed
 * against what we knew for that node, and the difference is published as synthesized events.
 *
 * Events that arrive while the listing is in flight are held (event-buffer.ts, which also says which
 * received events may be deduplicated), then applied on top of the snapshot once it is in.
 * Participants that joined while we were away have no channel variables in the listing: before the
 * snapshot is applied they are taken from a held event of theirs or fetched with `uuid_dump`, so their
 * synthesized add-member carries them (Kazoo's custom_channel_vars: account id…). The snapshot is
 * applied conference by conference, pausing every `paceEvery` events for the consumers (`pace`).
 *
 * A node that goes down keeps its conferences (commands to it fail with NodeDownError) for
 * `downGraceMs`; past that, they are flushed with synthesized del-member / conference-destroy events.
 */
import { TypedEmitter } from '../util/index.js';
import { silentLogger, type Logger } from '../util/index.js';
import type { ListedConference } from '../conference/index.js';
import type { ConferenceRegistry } from './registry.js';
import type { ConferenceEvent } from '../conference/index.js';
import type { EslEvent } from '../esl/index.js';
import { parseConferenceEvent } from '../conference/index.js';
import { logRefusals, type OnRefused } from '../conference/index.js';
import { fetchChannelVars, fetchListing, type FetchContext, type NodeApi } from './listing-fetch.js';
import { ResyncEventBuffer } from './event-buffer.js';

export type { NodeApi } from './listing-fetch.js';

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
  /** Of those, state events dropped because the snapshot had already told them (they changed nothing). */
  deduplicated: number;
  /** The listing command that answered (`conference xml_list` when json_list was refused). */
  listCommand: string;
  /** Newly discovered participants whose channel variables were fetched / could not be fetched. */
  channelVarsFetched: number;
  channelVarsFailed: number;
  apiMs: number;
  parseMs: number;
  diffMs: number;
  /** Time spent fetching channel variables (uuid_dump), included in totalMs, not in diffMs. */
  channelVarsMs: number;
  totalMs: number;
}

/**
 * Steps of one resync, for benchmarks and diagnostics (`onPhase`): `reply` (listing reply in hand),
 * `parsed`, `channel-vars` (uuid_dumps done), `applied` (snapshot applied and published), `replayed`
 * (buffered events applied).
 */
export type ResyncPhase = 'reply' | 'parsed' | 'channel-vars' | 'applied' | 'replayed';

export interface ChannelVarsOptions {
  /** uuid_dump requests in flight at once per resync (default 8). */
  concurrency?: number;
  /** Per request (default 2 s). */
  timeoutMs?: number;
  /** For all of one resync's requests; participants not reached by then go without (default 10 s). */
  budgetMs?: number;
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
  /**
   * How long after a snapshot a received event that is provably older than the json_list request
   * (Event-Date-Timestamp) may still be deduplicated (default 10 s). 0: only buffered events are.
   */
  stragglerWindowMs?: number;
  /** Fetch channel variables of newly discovered participants with uuid_dump (default on); false: never. */
  channelVars?: boolean | ChannelVarsOptions;
  /**
   * How a resync lists the node's conferences (default `whole`):
   * - `whole`: one `conference json_list` (xml_list when refused): one reply holding every conference.
   * - `paged`: `conference list summary` for the names, then `conference <name> json_list` for each,
   *   `pageConcurrency` at once: no reply ever holds every conference (memory at scale). Anything
   *   unexpected (summary refused, a page not understood) falls back to `whole`.
   */
  listing?: 'whole' | 'paged';
  /** Paged listing: `conference <name> json_list` requests in flight at once (default 8). */
  pageConcurrency?: number;
  /**
   * Awaited every `paceEvery` synthesized events while a snapshot is applied (default: never), to let
   * the consumers of `event` catch up. It should resolve even when they cannot (broker down): the
   * resync waits for it.
   */
  pace?: () => Promise<void>;
  /** Synthesized events between two `pace` calls (default 500). */
  paceEvery?: number;
  /** Called at each step of a resync with the ms elapsed since it started (errors are ignored). */
  onPhase?: (node: string, phase: ResyncPhase, elapsedMs: number) => void;
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
  buffer: ResyncEventBuffer;
  graceTimer?: NodeJS.Timeout;
  retryTimer?: NodeJS.Timeout;
}

interface Waiter {
  nodes: readonly string[] | undefined;
  resolve: (settled: boolean) => void;
  timer: NodeJS.Timeout;
}

const DEDUPE = { dedupe: true } as const;

export class ConferenceStateSync extends TypedEmitter<StateSyncEvents> {
  private readonly registry: ConferenceRegistry;
  private readonly api: NodeApi;
  private readonly downGraceMs: number;
  private readonly retryMs: number;
  private readonly maxBuffered: number;
  private readonly stragglerWindowMs: number;
  private readonly channelVars: Required<ChannelVarsOptions> | undefined;
  private readonly listing: 'whole' | 'paged';
  private readonly pageConcurrency: number;
  private readonly onPhase: ((node: string, phase: ResyncPhase, elapsedMs: number) => void) | undefined;
  private readonly pace: (() => Promise<void>) | undefined;
  private readonly paceEvery: number;
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
    this.stragglerWindowMs = options.stragglerWindowMs ?? 10_000;
    const cv = options.channelVars ?? true;
    this.channelVars =
      cv === false
        ? undefined
        : {
            concurrency: Math.max(1, (cv === true ? undefined : cv.concurrency) ?? 8),
            timeoutMs: (cv === true ? undefined : cv.timeoutMs) ?? 2_000,
            budgetMs: (cv === true ? undefined : cv.budgetMs) ?? 10_000,
          };
    this.listing = options.listing ?? 'whole';
    this.pageConcurrency = Math.max(1, options.pageConcurrency ?? 8);
    this.onPhase = options.onPhase;
    this.pace = options.pace;
    this.paceEvery = Math.max(1, options.paceEvery ?? 500);
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
    e.buffer.newConnection();
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
    // Events held for an abandoned resync did happen: apply them rather than lose them.
    this.replayHeld(e, false);
    if (e.state === 'down' || e.state === 'flushed') return;
    this.setState(node, e, 'down');
    this.log.warn({ node, reason, graceMs: this.downGraceMs }, 'conference node down; keeping its state for the grace period');
    if (!e.graceTimer && !this.closed) {
      e.graceTimer = setTimeout(() => this.flush(node), this.downGraceMs);
      e.graceTimer.unref();
    }
  }

  /** A received conference event (from events.ts). Held while its node resyncs. */
  handleEvent(event: ConferenceEvent): void {
    const e = this.entry(event.node);
    e.buffer.noteClock(event);
    if (e.state === 'resyncing') {
      const overflow = e.buffer.hold(event);
      if (overflow) this.registry.applyEach(overflow, undefined, this.tell);
      return;
    }
    this.registry.applyEach(event, e.buffer.isStraggler(event) ? DEDUPE : undefined, this.tell);
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
      this.replayHeld(e, false);
    }
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.resolve(false);
    }
    this.waiters = [];
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * One resync: listing → newcomers' channel variables → snapshot applied (paced) → held events
   * replayed → `synced`; on failure the held events are applied as received, `stale`, retried every
   * `retryMs`. A down or a newer up supersedes it: it stops at its next step, discarded.
   */
  private async resync(node: string, e: NodeEntry, generation: number): Promise<ResyncResult | undefined> {
    const t0 = performance.now();
    const superseded = (): boolean => generation !== e.generation || this.closed;
    const ctx: FetchContext = { node, api: this.api, log: this.log, now: this.now, superseded };
    try {
      let t1 = t0;
      const fetched = await fetchListing(ctx, {
        listing: this.listing,
        pageConcurrency: this.pageConcurrency,
        onReply: () => {
          t1 = performance.now();
          this.phase(node, 'reply', t1 - t0);
        },
      });
      if (fetched === undefined) return undefined; // superseded by a down or a newer up: not even parsed
      const { listed, receivedAtMs, command, requestedAtMs } = fetched;
      const t2 = performance.now();
      this.phase(node, 'parsed', t2 - t0);
      if (superseded()) return undefined;
      const vars = await this.newcomersChannelVars(ctx, e, listed);
      if (superseded()) return undefined;
      const t3 = performance.now();
      if (this.channelVars) this.phase(node, 'channel-vars', t3 - t0);
      const synthesized = await this.applyPaced(node, listed, receivedAtMs, superseded);
      if (synthesized === undefined) return undefined;
      e.buffer.snapshotApplied(requestedAtMs);
      this.phase(node, 'applied', performance.now() - t0);
      const dedupedBefore = this.registry.stats().deduplicated;
      const replayed = this.replayHeld(e, true);
      const deduplicated = this.registry.stats().deduplicated - dedupedBefore;
      const t4 = performance.now();
      this.phase(node, 'replayed', t4 - t0);
      this.setState(node, e, 'synced');
      let participants = 0;
      for (const c of listed) participants += c.members.length;
      const result: ResyncResult = {
        node,
        conferences: listed.length,
        participants,
        synthesized,
        replayed,
        deduplicated,
        listCommand: command,
        channelVarsFetched: vars.fetched,
        channelVarsFailed: vars.failed,
        apiMs: t1 - t0,
        parseMs: t2 - t1,
        diffMs: t4 - t3,
        channelVarsMs: t3 - t2,
        totalMs: t4 - t0,
      };
      this.log.info(result, 'conference state resynced');
      this.emit('resynced', result);
      return result;
    } catch (err) {
      if (superseded()) return undefined;
      const error = err instanceof Error ? err : new Error(String(err));
      // Without a snapshot the held events are still the best knowledge we have.
      this.replayHeld(e, false);
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
   * Fills the channel variables of the listed participants the registry does not know: from a held
   * event of theirs that has them, else from `uuid_dump` (bounded by the `channelVars` options).
   */
  private async newcomersChannelVars(
    ctx: FetchContext,
    e: NodeEntry,
    listed: readonly ListedConference[],
  ): Promise<{ fetched: number; failed: number }> {
    if (!this.channelVars) return { fetched: 0, failed: 0 };
    const unknown = this.registry.unknownMembers(ctx.node, listed);
    if (unknown.length === 0) return { fetched: 0, failed: 0 };
    return fetchChannelVars(ctx, e.buffer.lendChannelVars(unknown), this.channelVars);
  }

  /**
   * Applies the snapshot conference by conference, publishing each one's events as it is done; every
   * `paceEvery` events it awaits `pace` (when set), so that consumers (AMQP publisher, storage) work
   * through a cold start's events as they come instead of all of them waiting in memory at once. The
   * node's own events stay held meanwhile. Returns the number of events, or undefined when superseded
   * during a pause (the part applied stands, told; the next resync finishes it).
   */
  private async applyPaced(
    node: string,
    listed: readonly ListedConference[],
    atMs: number,
    superseded: () => boolean,
  ): Promise<number | undefined> {
    const applying = this.registry.beginSnapshot(node, atMs);
    let synthesized = 0;
    let sincePause = 0;
    for (const l of listed) {
      const events = applying.conference(l);
      synthesized += events.length;
      this.publish(events);
      sincePause += events.length;
      if (this.pace && sincePause >= this.paceEvery) {
        sincePause = 0;
        await this.pace();
        if (superseded()) return undefined;
      }
    }
    for (const gone of applying.finish()) {
      synthesized += gone.length;
      this.publish(gone);
    }
    return synthesized;
  }

  /** Applies and publishes the node's held events (ResyncEventBuffer.replay says when they are deduplicated). */
  private replayHeld(e: NodeEntry, afterSnapshot: boolean): number {
    return e.buffer.replay(afterSnapshot, (ev, dedupe) => this.registry.applyEach(ev, dedupe ? DEDUPE : undefined, this.tell));
  }

  private phase(node: string, phase: ResyncPhase, elapsedMs: number): void {
    if (!this.onPhase) return;
    try {
      this.onPhase(node, phase, elapsedMs);
    } catch (err) {
      this.log.debug({ node, phase, err }, 'onPhase hook threw');
    }
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

  private publish(events: readonly ConferenceEvent[]): void {
    for (const ev of events) this.emit('event', ev);
  }

  /** One event consumers should see (bound once: the registry calls it per event). */
  private readonly tell = (ev: ConferenceEvent): void => {
    this.emit('event', ev);
  };

  private entry(node: string): NodeEntry {
    let e = this.entries.get(node);
    if (!e) {
      e = {
        state: 'pending',
        generation: 0,
        buffer: new ResyncEventBuffer({ maxBuffered: this.maxBuffered, stragglerWindowMs: this.stragglerWindowMs, now: this.now }),
      };
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

export interface AttachOptions {
  /** Sees each parsed conference event before the sync does (e.g. a received-events metric). */
  onEvent?: (event: ConferenceEvent) => void;
  /** Where events carrying values FreeSWITCH could not have sent are reported (dropped either way). */
  logger?: Logger;
}

/**
 * Wires a cluster (or pool) to a ConferenceStateSync: conference events are parsed (events.ts) and
 * handed over in wire order, `up` starts a resync, `down` starts the grace period. Returns a detach.
 */
export function attachStateSync(source: NodeEventSource, sync: ConferenceStateSync, options: AttachOptions = {}): () => void {
  const seen = options.onEvent;
  const refusalLogs = new Map<string, OnRefused>();
  const refused = (node: string): OnRefused | undefined => {
    if (!options.logger) return undefined;
    let r = refusalLogs.get(node);
    if (!r) refusalLogs.set(node, (r = logRefusals(options.logger, node)));
    return r;
  };
  const onUp = (node: string): void => void sync.nodeUp(node);
  const onDown = (node: string, reason: string): void => sync.nodeDown(node, reason);
  const onEvent = (node: string, event: EslEvent): void => {
    const ev = parseConferenceEvent(event, node, refused(node));
    if (!ev) return;
    seen?.(ev);
    sync.handleEvent(ev);
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
