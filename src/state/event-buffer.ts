/**
 * One node's received events around a resync: those held while its listing is in flight, and the
 * rule for which received events may repeat what the snapshot's synthesized events already told.
 *
 * Holding them and applying them on top of the snapshot is safe because FreeSWITCH member events
 * carry the member's whole state (every flag, not a delta), and lock/unlock/floor-change are absolute
 * too: an event the snapshot already reflects re-sets the same values, a later one moves state on.
 * Only two kinds of received event can be told twice, and only those may be deduplicated:
 * - the held ones, replayed right after the snapshot: any of them may be older than it (the api reply
 *   and the events travel on different sockets) and we cannot tell which are not;
 * - a later one (a straggler) whose Event-Date-Timestamp proves it older than the listing request,
 *   shortly after the snapshot: the api reply can overtake an event on the other socket.
 * Every other received event passes, even when it changes nothing: FreeSWITCH said it.
 */
import type { ConferenceEvent } from '../conference/index.js';
import type { ListedMember } from '../conference/index.js';

/**
 * Slack for the straggler test: timestamps carry sub-ms noise (the simulator adds the sequence's µs),
 * so only events at least this much older than the request count as provably older.
 */
const CLOCK_MARGIN_US = 5_000;

export interface EventBufferOptions {
  /** Events held beyond which the oldest is handed back to be applied at once. */
  maxBuffered: number;
  /** How long after a snapshot a straggler may still be deduplicated (ms). */
  stragglerWindowMs: number;
  now: () => number;
}

export class ResyncEventBuffer {
  private events: ConferenceEvent[] = [];
  /**
   * Lower bound of (node clock − our clock) in µs: the largest Event-Date-Timestamp − arrival time
   * seen since the connection came up (an event cannot arrive before it happened). Undefined until
   * an event came.
   */
  private clockOffsetLowUs: number | undefined;
  /** Our clock (ms) when the listing of the last applied snapshot was requested. */
  private listRequestedAtMs: number | undefined;
  /** Our clock (ms) when that snapshot was applied. */
  private snapshotAppliedAtMs: number | undefined;

  constructor(private readonly options: EventBufferOptions) {}

  /** Events held now. */
  get size(): number {
    return this.events.length;
  }

  /**
   * A new connection: the node may be another process (or host) with another clock, and the last
   * snapshot no longer tells what the stragglers are. Held events stay (they are replayed next).
   */
  newConnection(): void {
    this.clockOffsetLowUs = undefined;
    this.listRequestedAtMs = undefined;
    this.snapshotAppliedAtMs = undefined;
  }

  /** Records a lower bound of the node's clock offset from a received event. */
  noteClock(ev: ConferenceEvent): void {
    if (ev.synthesized || !(ev.timestampUs > 0)) return;
    const d = ev.timestampUs - this.options.now() * 1000;
    if (this.clockOffsetLowUs === undefined || d > this.clockOffsetLowUs) this.clockOffsetLowUs = d;
  }

  /**
   * Holds a received event until the snapshot is in. Past `maxBuffered`, returns the oldest held
   * event: with no snapshot to compare it with yet, it is to be applied as received.
   */
  hold(ev: ConferenceEvent): ConferenceEvent | undefined {
    this.events.push(ev);
    return this.events.length > this.options.maxBuffered ? this.events.shift() : undefined;
  }

  /**
   * Hands every held event to `apply` in arrival order and empties the buffer; returns how many.
   * `afterSnapshot`: they were held while the snapshot just applied was taken, so `dedupe`; otherwise
   * (the resync failed or was abandoned) they are the best knowledge there is, applied as received.
   */
  replay(afterSnapshot: boolean, apply: (ev: ConferenceEvent, dedupe: boolean) => void): number {
    const held = this.events;
    this.events = [];
    for (const ev of held) apply(ev, afterSnapshot);
    return held.length;
  }

  /** A snapshot whose listing was requested at `requestedAtMs` (our clock) has just been applied. */
  snapshotApplied(requestedAtMs: number): void {
    this.listRequestedAtMs = requestedAtMs;
    this.snapshotAppliedAtMs = this.options.now();
  }

  /**
   * Whether a received event (after the snapshot) provably happened before the listing was requested,
   * so the snapshot already reflects it: its timestamp is earlier than the request time on the node's
   * clock (request time on ours + a lower bound of the offset, minus a margin). Only within
   * `stragglerWindowMs` of a snapshot; unknown offset or timestamp → not a straggler (never drop what
   * we cannot prove).
   */
  isStraggler(ev: ConferenceEvent): boolean {
    if (this.listRequestedAtMs === undefined || this.snapshotAppliedAtMs === undefined || this.clockOffsetLowUs === undefined) return false;
    if (ev.synthesized || !(ev.timestampUs > 0)) return false;
    if (this.options.now() - this.snapshotAppliedAtMs > this.options.stragglerWindowMs) return false;
    return ev.timestampUs < this.listRequestedAtMs * 1000 + this.clockOffsetLowUs - CLOCK_MARGIN_US;
  }

  /**
   * Copies channel variables (and channel name / presence id) onto `members` from the latest held
   * event of the same call that carries some (a verbose add-member that came during the resync).
   * Returns the members still without: those to ask `uuid_dump` for.
   */
  lendChannelVars(members: readonly ListedMember[]): ListedMember[] {
    const byCall = new Map<string, NonNullable<ConferenceEvent['member']>>();
    for (const ev of this.events) if (ev.member && Object.keys(ev.member.channelVars).length > 0) byCall.set(ev.member.callId, ev.member);
    const without: ListedMember[] = [];
    for (const m of members) {
      const known = byCall.get(m.callId);
      if (!known) {
        without.push(m);
        continue;
      }
      m.channelVars = { ...known.channelVars };
      if (known.channelName !== undefined) m.channelName = known.channelName;
      if (known.presenceId !== undefined) m.presenceId = known.presenceId;
    }
    return without;
  }
}
