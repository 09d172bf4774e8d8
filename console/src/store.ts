/**
 * The console's live state: the account's running conferences with their participants, and each
 * conference's event log (the last LOG_SIZE events). Snapshots from the REST API replace a conference;
 * WebSocket events change it. Objects handed to the view are never mutated (a changed participant or
 * conference is a new object), so the view can skip whatever did not change.
 *
 * Listeners are told at most once per `schedule` tick (an animation frame in the browser), however
 * many events arrived: a 300-member conference with a hundred talking events a second costs one
 * render per frame, not one per event.
 */
import type { ApiConference, ApiParticipant, Conference, EventPayload, LogEntry, Participant } from './types.js';

export const LOG_SIZE = 200;

/** What an event means for the state it was applied to. */
export type ApplyResult =
  /** Applied. */
  | 'applied'
  /** About a conference the store does not hold: load it. */
  | 'unknown-conference'
  /** Applied, but it shows the snapshot missed something (a member never seen): reload it. */
  | 'stale'
  /** The conference ended (destroyed, or its last member left). */
  | 'ended';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);

function participantFromApi(p: ApiParticipant, receivedAt: number): Participant {
  return {
    id: p.participant_id,
    callId: p.call_id,
    name: p.caller_id_name ?? '',
    number: p.caller_id_number ?? '',
    moderator: p.is_moderator,
    speak: p.speak,
    hear: p.hear,
    talking: p.talking,
    joinedAt: receivedAt - p.duration * 1000,
  };
}

function callerOf(e: EventPayload): string | undefined {
  const name = str(e.caller_id_name);
  const number = str(e.caller_id_number);
  if (name === undefined && number === undefined) return undefined;
  return name && number ? `${name} <${number}>` : (name ?? number);
}

export class ConsoleStore {
  private readonly confs = new Map<string, Conference>();
  private readonly logs = new Map<string, LogEntry[]>();
  private readonly listeners = new Set<() => void>();
  private scheduled = false;
  private seq = 0;
  private version = 0;

  /** `schedule(flush)` runs flush later, once (requestAnimationFrame in the browser). */
  constructor(private readonly schedule: (flush: () => void) => void) {}

  /** Called after changes, at most once per scheduled tick. Returns an unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Increases with every change (what a view compares to know it is current). */
  get revision(): number {
    return this.version;
  }

  conferences(): Conference[] {
    return [...this.confs.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  conference(id: string): Conference | undefined {
    return this.confs.get(id);
  }

  has(id: string): boolean {
    return this.confs.has(id);
  }

  /** The conference's events, oldest first (at most LOG_SIZE). */
  log(id: string): readonly LogEntry[] {
    return this.logs.get(id) ?? [];
  }

  /** Replaces a conference with what the API says now; a conference not running is removed. */
  setSnapshot(view: ApiConference, receivedAt: number): void {
    if (view.focus === undefined) {
      this.remove(view.id);
      return;
    }
    const ro = view._read_only;
    const participants = new Map<number, Participant>();
    for (const p of ro.participants) participants.set(p.participant_id, participantFromApi(p, receivedAt));
    this.confs.set(view.id, {
      id: view.id,
      name: view.name,
      focus: view.focus,
      locked: ro.is_locked,
      startedAt: receivedAt - ro.duration * 1000,
      participants,
    });
    this.changed();
  }

  /** Forgets every conference (a new session, or before a full reload); logs are kept. */
  clear(): void {
    this.confs.clear();
    this.changed();
  }

  remove(id: string): void {
    if (this.confs.delete(id)) this.changed();
  }

  /** Sets the lock state the API confirmed (the `lock`/`unlock` event may be filtered out by the config). */
  setLocked(id: string, locked: boolean): void {
    const c = this.confs.get(id);
    if (!c || c.locked === locked) return;
    this.confs.set(id, { ...c, locked });
    this.changed();
  }

  /** Records an event in its conference's log (also for conferences still loading). */
  record(e: EventPayload, at: number): void {
    const conf = str(e.conference_id);
    if (conf === undefined) return;
    let log = this.logs.get(conf);
    if (!log) this.logs.set(conf, (log = []));
    log.push({
      seq: ++this.seq,
      at,
      event: str(e.event) ?? '?',
      participantId: typeof e.participant_id === 'number' ? e.participant_id : undefined,
      caller: callerOf(e),
      moderator: e.is_moderator === true,
      synthesized: e.synthesized === true,
    });
    if (log.length > LOG_SIZE) log.splice(0, log.length - LOG_SIZE);
    this.changed();
  }

  /** Applies one event to the conference it names. */
  apply(e: EventPayload, receivedAt: number): ApplyResult {
    const confId = str(e.conference_id);
    const event = str(e.event);
    if (confId === undefined || event === undefined) return 'applied';
    const conf = this.confs.get(confId);
    if (!conf) return event === 'conference-destroy' || event === 'del-member' ? 'applied' : 'unknown-conference';

    if (e.event_name === 'conference_event' || typeof e.participant_id !== 'number') {
      if (event === 'conference-destroy') {
        this.remove(confId);
        return 'ended';
      }
      const locked = event === 'lock' ? true : event === 'unlock' ? false : bool(e.is_locked);
      if (locked !== undefined) this.setLocked(confId, locked);
      return 'applied';
    }

    const id = e.participant_id;
    const participants = new Map(conf.participants);
    const before = participants.get(id);
    if (event === 'del-member') {
      if (!participants.delete(id)) return 'applied';
      if (participants.size === 0) {
        // FreeSWITCH ends a conference when its last member leaves; its conference-destroy may be filtered out.
        this.remove(confId);
        return 'ended';
      }
      this.confs.set(confId, { ...conf, participants });
      this.changed();
      return 'applied';
    }
    const talking = event === 'start-talking' ? true : event === 'stop-talking' ? false : (bool(e.talking) ?? before?.talking ?? false);
    const next: Participant = {
      id,
      callId: str(e.call_id) ?? before?.callId ?? '',
      name: str(e.caller_id_name) ?? before?.name ?? '',
      number: str(e.caller_id_number) ?? before?.number ?? '',
      moderator: bool(e.is_moderator) ?? before?.moderator ?? false,
      speak: bool(e.speak) ?? before?.speak ?? true,
      hear: bool(e.hear) ?? before?.hear ?? true,
      talking,
      joinedAt: before ? before.joinedAt : event === 'add-member' && e.synthesized !== true ? receivedAt : undefined,
    };
    if (before && sameParticipant(before, next)) return 'applied';
    participants.set(id, next);
    this.confs.set(confId, { ...conf, participants });
    this.changed();
    // A member first seen in anything but a received add-member: the snapshot is behind (its join time is unknown).
    return before === undefined && next.joinedAt === undefined ? 'stale' : 'applied';
  }

  private changed(): void {
    this.version++;
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      for (const l of [...this.listeners]) l();
    });
  }
}

function sameParticipant(a: Participant, b: Participant): boolean {
  return (
    a.callId === b.callId &&
    a.name === b.name &&
    a.number === b.number &&
    a.moderator === b.moderator &&
    a.speak === b.speak &&
    a.hear === b.hear &&
    a.talking === b.talking
  );
}
