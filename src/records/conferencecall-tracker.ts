/**
 * Conferencecall lifecycle and history, persisted. Which FreeSWITCH signal drives each step:
 *  - joining ← the entry service (src/entry) has the call: `beginJoining`, from the moment the call
 *    reaches it (PIN, checks); `abandonJoining` closes it as leaved when the call never joins. Calls
 *    that join any other way are not seen before `add-member`, so their records start at `joined`.
 *  - joined  ← `add-member` (the member is in the conference; audio flows).
 *  - leaving ← DELETE /conferencecalls/{id} (written before the kick is sent), any other kick/hup
 *    (`markLeaving`, called by the service's executor wrapper before the command is sent), or
 *    FreeSWITCH's `kick-member` / `hup-member` (src/conference/conferencecall.ts statusForEvent decides).
 *  - leaved  ← `del-member` (FreeSWITCH confirms; also synthesized by the registry's resync when a
 *    member left while confmgr was away), or a kick answered "member/conference not found".
 * States only move forward; records are never deleted (history), `tm_delete` keeps the sentinel.
 * All state changes run one at a time in arrival order (one queue, drained by one loop), so a
 * del-member that races a DELETE can never move a record backwards. An event waits in the queue as
 * itself (no promise per event: a resync's burst of add-members would otherwise hold a promise and a
 * closure each); the resync's pacing waits for the queue too (whenQueuedBelow).
 * A write that fails (the storage is unreachable: PostgreSQL restarting) is logged, not queued: the
 * event is not replayed. Instead a repair is scheduled, retried with backoff until the storage answers:
 * it closes the open records of calls no longer live and opens a `joined` record for each live call
 * that has none, so the records match the live state again once the storage is back.
 */
import { randomUUID } from 'node:crypto';
import { Fifo } from '../util/index.js';
import type { Logger } from '../util/index.js';
import { silentLogger } from '../util/index.js';
import { ConfmgrError } from '../util/index.js';
import { NodeDownError } from '../conference/index.js';
import type { ConferenceCommandExecutor, ConferenceEvent, OutboundEvent } from '../conference/index.js';
import type { Storage, StoredConferencecall, ConferencecallStatus } from '../storage/index.js';
import type { RealtimeRegistry } from './live.js';
import type { ConferenceDocuments } from './conference-documents.js';
import { conferenceOwner, type ConferenceAttributions } from './account.js';
import { InvalidStateError } from './errors.js';
import { TM_NOT_YET, canAdvance, formatTimestamp, monotonicMicros } from './conferencecall-record.js';
import { statusForEvent } from '../conference/index.js';

/** Active records read at once by reconcile(). */
const RECONCILE_PAGE = 500;

/** Repair after a failed write: first try after `baseMs`, doubling up to `capMs` while the storage fails. */
const REPAIR_BACKOFF = { baseMs: 500, capMs: 10_000 };

export interface ConferencecallTrackerOptions {
  storage: Storage;
  documents: ConferenceDocuments;
  registry: RealtimeRegistry;
  executor: ConferenceCommandExecutor;
  nodeUp(node: string): boolean;
  /** Owner (customer_id) of calls in conferences nothing else attributes (http.default_account_id). */
  defaultAccountId?: string | undefined;
  /** Running conferences' first attributions: a call's customer is its conference's sticky account. */
  attributions?: ConferenceAttributions | undefined;
  logger?: Logger;
  now?: () => number;
  /** Retry timing of the repair after a failed write (default 500 ms doubling to 10 s). */
  repairBackoff?: { baseMs: number; capMs: number };
}

/** What a repair changed. */
export interface RepairResult {
  /** Open records of calls no longer live, moved to `leaved`. */
  closed: number;
  /** Live calls that had no open record, given a `joined` one. */
  opened: number;
}

/** A record change waiting its turn: an event's, or an operation whose caller awaits its result. */
type Task =
  | { kind: 'event'; event: OutboundEvent; status: 'joined' | 'leaving' | 'leaved'; outcome?: AddOutcome }
  | { kind: 'call'; fn: () => Promise<unknown>; resolve: (v: unknown) => void; reject: (err: unknown) => void };

/** Whether an add-member created a record; a promise only once someone asks (isNewParticipant). */
interface AddOutcome {
  settled?: { ok: true; isNew: boolean } | { ok: false; err: unknown };
  waiting?: { promise: Promise<boolean>; resolve: (v: boolean) => void; reject: (err: unknown) => void };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

export class ConferencecallTracker {
  private readonly queue = new Fifo<Task>();
  /** The loop draining `queue`, while it runs. */
  private running: Promise<void> | undefined;
  /** Resolved when the queue next drops below a waiter's bound (whenQueuedBelow). */
  private below: Array<{ n: number; resolve: () => void }> = [];
  /** add-member event → whether it created a record (the call was new); see isNewParticipant. */
  private readonly addOutcomes = new WeakMap<OutboundEvent, AddOutcome>();
  private readonly micros: () => number;
  private readonly log: Logger;
  private readonly backoff: { baseMs: number; capMs: number };
  private repairDelayMs: number;
  private repairTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private counts = { failedWrites: 0, repairs: 0 };

  constructor(private readonly o: ConferencecallTrackerOptions) {
    this.micros = monotonicMicros(o.now ?? Date.now);
    this.log = o.logger ?? silentLogger;
    this.backoff = o.repairBackoff ?? REPAIR_BACKOFF;
    this.repairDelayMs = this.backoff.baseMs;
  }

  /** Writes that failed, and repairs that completed since (monotonic counters). */
  stats(): { failedWrites: number; repairs: number; repairPending: boolean } {
    return { ...this.counts, repairPending: this.repairTimer !== undefined };
  }

  /** Stops scheduling repairs (shutdown). */
  close(): void {
    this.closed = true;
    if (this.repairTimer) clearTimeout(this.repairTimer);
    this.repairTimer = undefined;
  }

  /** Event listener: never throws; failures are logged. */
  readonly handle = (event: OutboundEvent): void => {
    // The conference layer decides which Action drives which status (one place).
    const status = statusForEvent({ action: event.event } as ConferenceEvent);
    if (status === undefined || status === 'joining') return;
    const task: Task = { kind: 'event', event, status };
    if (status === 'joined') {
      task.outcome = {};
      this.addOutcomes.set(event, task.outcome);
    }
    this.enqueue(task);
  };

  /** Events and operations waiting or under way. */
  get queued(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  /**
   * Resolves once fewer than `n` record changes are queued, or after `maxWaitMs` (a slow storage
   * slows a producer down, it never stops it): the resync's pacing waits for this.
   */
  whenQueuedBelow(n: number, maxWaitMs: number): Promise<void> {
    if (this.queued < n) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter = { n, resolve: () => undefined as void };
      const timer = setTimeout(() => done(), maxWaitMs);
      const done = (): void => {
        clearTimeout(timer);
        this.below = this.below.filter((w) => w !== waiter);
        resolve();
      };
      waiter.resolve = done;
      this.below.push(waiter);
    });
  }

  private writeFailed(err: unknown, event: OutboundEvent): void {
    this.counts.failedWrites += 1;
    this.log.error({ err, event: event.event, conference: event.conferenceId }, 'conferencecall update failed; a repair is scheduled');
    this.scheduleRepair();
  }

  private scheduleRepair(): void {
    if (this.closed || this.repairTimer) return;
    this.repairTimer = setTimeout(() => {
      this.repairTimer = undefined;
      this.repair().then(
        (r) => {
          this.repairDelayMs = this.backoff.baseMs;
          this.log.info({ ...r }, 'conferencecall records repaired after failed writes');
        },
        (err: unknown) => {
          this.repairDelayMs = Math.min(this.backoff.capMs, this.repairDelayMs * 2);
          this.log.warn({ err, retryInMs: this.repairDelayMs }, 'conferencecall repair failed; retrying');
          this.scheduleRepair();
        },
      );
    }, this.repairDelayMs);
    this.repairTimer.unref?.();
  }

  /**
   * Makes the records match the live state of the connected nodes: open records of calls that are no
   * longer live → `leaved`; live calls without an open record → a `joined` one. What a failed write
   * missed is recovered this way (not the exact times: `tm_update` is the repair's). Records of nodes
   * not connected now, and records that never learnt their node, are left alone.
   */
  async repair(): Promise<RepairResult> {
    const result = await this.serial(async () => {
      const closed = await this.closeGone((n) => n !== null && this.o.nodeUp(n));
      const opened = await this.openMissing();
      return { closed, opened };
    });
    this.counts.repairs += 1;
    return result;
  }

  /**
   * For an add-member event this tracker has handled (subscribe the tracker before asking): whether
   * the call had no open record before it, i.e. confmgr (this process or an earlier one, the records
   * are persisted) had never seen it join. Rejects when the record could not be read or written;
   * false for events the tracker did not handle.
   */
  isNewParticipant(event: OutboundEvent): Promise<boolean> {
    const outcome = this.addOutcomes.get(event);
    if (!outcome) return Promise.resolve(false);
    if (outcome.settled) return outcome.settled.ok ? Promise.resolve(outcome.settled.isNew) : Promise.reject(outcome.settled.err);
    if (!outcome.waiting) {
      let resolve!: (v: boolean) => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<boolean>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      outcome.waiting = { promise, resolve, reject };
    }
    return outcome.waiting.promise;
  }

  /**
   * A kick/hup is about to be sent (any door: AMQP, HTTP, CLI): the open records of the calls it
   * affects move to `leaving` now, before FreeSWITCH answers with del-member (→ `leaved`).
   * `target` as in the command: a member id, `all`, `non_moderator`; `last` cannot be resolved
   * reliably and marks nothing (FreeSWITCH's kick-member event moves it). `node`: the node the
   * command goes to; participants of an instance on another node are not touched. Returns how many
   * records moved. Never rejects for a missing conference or member (the command will say so).
   */
  async markLeaving(conference: string, target: number | string, node?: string): Promise<number> {
    const live = this.o.registry.conference(conference);
    if (!live || (node !== undefined && live.node !== node)) return 0;
    const affected = live.participants.filter((p) =>
      target === 'all' ? true : target === 'non_moderator' ? !p.is_moderator : p.participant_id === target,
    );
    if (affected.length === 0) return 0;
    return this.serial(async () => {
      let moved = 0;
      for (const p of affected) {
        const r = await this.o.storage.conferencecalls.findActive(conference, p.call_id);
        if (!r || !canAdvance(r.status, 'leaving')) continue;
        await this.move(r.id, 'leaving', { member_id: p.participant_id, node: live.node });
        moved += 1;
      }
      return moved;
    });
  }

  /**
   * The entry service has the call `callId` for `conference` (it has not joined yet): a `joining`
   * record, which add-member moves to `joined`. An open record of that call is returned as it is.
   */
  beginJoining(conference: string, callId: string, customerId: string, node: string | null = null): Promise<StoredConferencecall> {
    return this.serial(async () => {
      const store = this.o.storage.conferencecalls;
      const existing = await store.findActive(conference, callId);
      if (existing) return existing;
      const tm = formatTimestamp(this.micros());
      const record: StoredConferencecall = {
        id: randomUUID(),
        customer_id: customerId,
        conference_id: conference,
        reference_type: 'call',
        reference_id: callId,
        status: 'joining',
        tm_create: tm,
        tm_update: tm,
        tm_delete: TM_NOT_YET,
        member_id: null,
        node,
      };
      await store.insert(record);
      return record;
    });
  }

  /** The call of a `joining` record will not join (refused, hung up): it is closed as leaved. No-op otherwise. */
  abandonJoining(conference: string, callId: string): Promise<void> {
    return this.serial(async () => {
      const r = await this.o.storage.conferencecalls.findActive(conference, callId);
      if (r?.status === 'joining') await this.move(r.id, 'leaved');
    });
  }

  /** Resolves when every queued state change is written (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * DELETE /conferencecalls/{id}: leaving, then a kick; leaved follows on del-member. Returns the
   * record as it stands when the kick was accepted. Ownership is checked by the caller.
   */
  async requestLeave(record: StoredConferencecall): Promise<StoredConferencecall> {
    if (record.status === 'leaved') throw new InvalidStateError(`conferencecall ${record.id} has already left`, { id: record.id, status: record.status });
    const live = this.o.registry.conference(record.conference_id);
    const participant = live?.participants.find((p) => p.call_id === record.reference_id);
    if (!live || !participant) {
      // Gone without us seeing del-member (e.g. while confmgr was down): it has left.
      return this.serial(() => this.move(record.id, 'leaved'));
    }
    if (!this.o.nodeUp(live.node)) throw new NodeDownError(live.node, { conference: record.conference_id });
    const leaving = await this.serial(() => this.move(record.id, 'leaving', { member_id: participant.participant_id, node: live.node }));
    try {
      await this.o.executor.execute({ kind: 'kick', conference: record.conference_id, target: participant.participant_id });
    } catch (err) {
      if (err instanceof ConfmgrError && (err.code === 'MEMBER_NOT_FOUND' || err.code === 'CONFERENCE_NOT_FOUND')) {
        return this.serial(() => this.move(record.id, 'leaved'));
      }
      throw err;
    }
    return leaving;
  }

  /**
   * After the first resync of a node: records still open whose call is no longer in its conference
   * are closed as leaved (they left while confmgr was away: no del-member was ever seen).
   * `known(node)` says whether the registry's view of that node can be trusted (connected AND
   * resynced — a node still resyncing shows no conferences yet); `known(null)` is asked for records
   * that never learnt their node, and should be true only once every node has been resynced.
   * Default: the node is connected. Returns how many records were closed.
   */
  async reconcile(known: (node: string | null) => boolean = (n) => n === null || this.o.nodeUp(n)): Promise<number> {
    return this.serial(() => this.closeGone(known));
  }

  /** reconcile's work, run inside the chain. */
  private async closeGone(known: (node: string | null) => boolean): Promise<number> {
    let closed = 0;
    // One view per conference, not per record: a resync after a restart reconciles every record.
    const views = new Map<string, { node: string; calls: Set<string> } | undefined>();
    const viewOf = (name: string): { node: string; calls: Set<string> } | undefined => {
      if (views.has(name)) return views.get(name);
      const c = this.o.registry.conference(name);
      const v = c && { node: c.node, calls: new Set(c.callIds?.() ?? c.participants.map((p) => p.call_id)) };
      views.set(name, v);
      return v;
    };
    // A page at a time: a restart beside 10,000 calls would otherwise hold 10,000 rows at once.
    for (let afterId: string | undefined; ; ) {
      const page = await this.o.storage.conferencecalls.listActivePage(afterId, RECONCILE_PAGE);
      for (const r of page) {
        const live = viewOf(r.conference_id);
        if (live && !known(live.node)) continue;
        if (!live && !known(r.node ?? null)) continue;
        if (live?.calls.has(r.reference_id)) continue;
        await this.move(r.id, 'leaved');
        closed += 1;
      }
      if (page.length < RECONCILE_PAGE) break;
      afterId = page.at(-1)!.id;
    }
    return closed;
  }

  /** Live calls of connected nodes that have no open record get a `joined` one (run inside the chain). */
  private async openMissing(): Promise<number> {
    let opened = 0;
    for (const live of this.o.registry.conferences()) {
      if (!this.o.nodeUp(live.node)) continue;
      for (const p of live.participants) {
        if (await this.o.storage.conferencecalls.findActive(live.name, p.call_id)) continue;
        await this.insertJoined(live.name, p.call_id, p.participant_id, live.node, undefined);
        opened += 1;
      }
    }
    return opened;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => this.enqueue({ kind: 'call', fn, resolve: resolve as (v: unknown) => void, reject }));
  }

  private enqueue(task: Task): void {
    this.queue.push(task);
    this.running ??= this.run();
  }

  /** Runs the queued changes one at a time, in order, until none is left. Never rejects. */
  private async run(): Promise<void> {
    await undefined; // starts once the caller that queued the first task has returned
    try {
      for (let task = this.queue.shift(); task !== undefined; task = this.queue.shift()) {
        if (task.kind === 'call') {
          try {
            task.resolve(await task.fn());
          } catch (err) {
            task.reject(err);
          }
        } else {
          await this.runEvent(task.event, task.status, task.outcome);
        }
        if (this.below.length > 0) for (const w of this.below.filter((x) => this.queue.length + 1 < x.n)) w.resolve();
      }
    } finally {
      this.running = undefined;
      for (const w of [...this.below]) w.resolve();
    }
  }

  private async runEvent(event: OutboundEvent, status: 'joined' | 'leaving' | 'leaved', outcome: AddOutcome | undefined): Promise<void> {
    try {
      if (status === 'joined') {
        const isNew = await this.onAdd(event);
        if (outcome) {
          outcome.settled = { ok: true, isNew };
          outcome.waiting?.resolve(isNew);
        }
      } else {
        await this.onLeave(event, status);
      }
    } catch (err) {
      if (outcome) {
        outcome.settled = { ok: false, err };
        outcome.waiting?.reject(err);
      }
      this.writeFailed(err, event);
    }
  }

  /** Returns whether the call was new (no open record before). */
  private async onAdd(event: OutboundEvent): Promise<boolean> {
    const callId = event.callId ?? str(event.payload.call_id);
    if (!callId) return false;
    const memberId = typeof event.payload.participant_id === 'number' ? event.payload.participant_id : null;
    const live = this.o.registry.conference(event.conferenceId);
    const node = live?.node ?? null;
    const store = this.o.storage.conferencecalls;
    const existing = await store.findActive(event.conferenceId, callId);
    const tm = formatTimestamp(this.micros());
    if (existing) {
      // Seen again (resync after a reconnect or restart): refresh where it is, never go back.
      const status: ConferencecallStatus = canAdvance(existing.status, 'joined') ? 'joined' : existing.status;
      await store.update({ ...existing, status, member_id: memberId ?? existing.member_id, node: node ?? existing.node, tm_update: tm });
      return false;
    }
    await this.insertJoined(event.conferenceId, callId, memberId, node, event.payload, tm);
    return true;
  }

  private async insertJoined(
    conference: string,
    callId: string,
    memberId: number | null,
    node: string | null,
    payload: OutboundEvent['payload'] | undefined,
    tm = formatTimestamp(this.micros()),
  ): Promise<void> {
    const doc = await this.o.documents.get(conference);
    const live = this.o.registry.conference(conference);
    const account =
      conferenceOwner({ documentAccount: doc?.accountId, payload, live, defaultAccount: this.o.defaultAccountId, attributions: this.o.attributions }) ?? '';
    await this.o.storage.conferencecalls.insert({
      id: randomUUID(),
      customer_id: account,
      conference_id: conference,
      reference_type: 'call',
      reference_id: callId,
      status: 'joined',
      tm_create: tm,
      tm_update: tm,
      tm_delete: TM_NOT_YET,
      member_id: memberId,
      node,
    });
  }

  /** kick-member / hup-member → leaving; del-member → leaved. */
  private async onLeave(event: OutboundEvent, status: 'leaving' | 'leaved'): Promise<void> {
    const callId = event.callId ?? str(event.payload.call_id);
    if (!callId) return;
    const existing = await this.o.storage.conferencecalls.findActive(event.conferenceId, callId);
    if (existing) await this.move(existing.id, status);
  }

  /** Moves a record forward (no-op when it is already there or beyond); returns the stored row. */
  private async move(id: string, to: ConferencecallStatus, extra: Partial<StoredConferencecall> = {}): Promise<StoredConferencecall> {
    const store = this.o.storage.conferencecalls;
    const current = await store.get(id);
    if (!current) throw new InvalidStateError(`conferencecall ${id} vanished`, { id });
    if (!canAdvance(current.status, to)) return current;
    const next: StoredConferencecall = { ...current, ...extra, status: to, tm_update: formatTimestamp(this.micros()) };
    if (to === 'leaved') next.member_id = null;
    await store.update(next);
    return next;
  }
}
