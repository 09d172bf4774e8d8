/**
 * The realtime state of every conference on every node, kept from ConferenceEvents. Pure state: no
 * sockets, no timers (the clock is injected). `resync.ts` drives it through node ups and downs.
 *
 * Keys: a conference is (node, name) — one FreeSWITCH can only hold one conference of a name, but two
 * nodes can. A participant is (node, conference uuid, call id): member ids restart at 1 when
 * FreeSWITCH restarts, so a member id alone never identifies a participant across a reconnect.
 *
 * What it returns: `apply(event)` returns the events consumers should see — the received one after it
 * has been applied, preceded by any synthesized ones it implies (e.g. a conference-create for a name
 * whose older instance we still held). `applySnapshot()` and `flushNode()` return only synthesized
 * events (`synthesized: true`) describing the difference they made.
 *
 * Duplicate suppression: a received event passes straight through, even when it changes nothing
 * (FreeSWITCH said it: consumers hear it). Only the caller can know that an event may already be
 * reflected in a snapshot (resync.ts: events buffered while json_list was in flight, or provably older
 * than the json_list request); it passes `{ dedupe: true }`, and then a state event that changes
 * nothing is dropped instead of being told twice, and counted in `stats().deduplicated`.
 */
import type { ConferenceEvent, MemberState } from '../conference/types.js';
import type { ListedConference, ListedMember } from '../conference/json-list.js';
import type { ConferencecallStatus } from '../conference/conferencecall.js';

export interface NodeIdentity {
  /** FreeSWITCH-Switchname (Kazoo's focus as FreeSWITCH names itself). */
  switchname: string;
  hostname: string;
  coreUuid: string;
}

export interface ConferenceInfo {
  name: string;
  uuid: string;
  /** Configured node name hosting it (the `focus`). */
  node: string;
  switchname: string;
  hostname: string;
  profile?: string;
  domain?: string;
  locked: boolean;
  /** Epoch milliseconds. */
  startedAt: number;
  memberCount: number;
  moderatorCount: number;
  recording: boolean;
  /** Recording paths we saw start (empty when only the json_list flag told us it records). */
  recordings: string[];
  /** Other nodes where a conference of the same name is live at the same time (usually empty). */
  alsoOn: string[];
}

/** A participant as the registry knows it: FreeSWITCH's member state plus where and since when. */
export interface ParticipantInfo extends MemberState {
  node: string;
  conferenceName: string;
  conferenceUuid: string;
  volumeIn?: number;
  volumeOut?: number;
  /** Epoch milliseconds. */
  joinedAt: number;
  status: ConferencecallStatus;
}

/** Seconds from 0000-01-01 to 1970-01-01: Kazoo's gregorian seconds (seed: join_time 63635217275). */
export const GREGORIAN_EPOCH_OFFSET_S = 62_167_219_200;

/** See ConferenceRegistry.beginSnapshot. */
export interface SnapshotApplication {
  /** Applies one listed conference; returns its synthesized events (empty when nothing changed). */
  conference(l: ListedConference): ConferenceEvent[];
  /** Drops the node's conferences that no `conference()` call listed; returns their events, one batch per conference. */
  finish(): ConferenceEvent[][];
}

/** One participant of the seed's `_read_only.participants[]`. */
export interface ReadOnlyParticipant {
  call_id: string;
  conference_name: string;
  conference_uuid: string;
  switch_hostname: string;
  floor: boolean;
  hear: boolean;
  speak: boolean;
  talking: boolean;
  mute_detect: boolean;
  participant_id: number;
  energy_level: number;
  current_energy: number;
  video: boolean;
  is_moderator: boolean;
  /** Gregorian seconds (Kazoo's epoch, as in the seed: 63635217275). */
  join_time: number;
  /** Seconds in the conference so far. */
  duration: number;
}

/** The seed's `_read_only` object. `admins` and `moderators` carry the same count. */
export interface ReadOnlyView {
  /** Participants that are not moderators (Kazoo's count_members). */
  members: number;
  admins: number;
  moderators: number;
  /** Seconds since the conference started (0 when it is not running). */
  duration: number;
  is_locked: boolean;
  participants: ReadOnlyParticipant[];
  /** Hosting node(s); absent when the conference is not running. */
  focus?: string;
}

export interface RegistryOptions {
  /** Epoch milliseconds (default Date.now). */
  now?: () => number;
  /**
   * @deprecated No effect. Received events are no longer dropped for a time after a snapshot; the
   * resync asks for deduplication per event (`apply(event, { dedupe: true })`).
   */
  quietWindowMs?: number;
}

export interface ApplyOptions {
  /**
   * The event may already be reflected in the last snapshot (see resync.ts): when it is a state event
   * that changes nothing, drop it (counted in `stats().deduplicated`) rather than tell it twice.
   */
  dedupe?: boolean;
}

/** Registry counts for metrics. */
export interface RegistryStats {
  nodes: number;
  conferences: number;
  participants: number;
  /** Received state events dropped because a snapshot had already told consumers (since start). */
  deduplicated: number;
}

interface ParticipantRec {
  member: MemberState;
  joinedAtMs: number;
  status: ConferencecallStatus;
  volumeIn?: number;
  volumeOut?: number;
}

interface ConferenceRec {
  name: string;
  uuid: string;
  node: string;
  profile?: string;
  domain?: string;
  locked: boolean;
  startedAtMs: number;
  recordings: Set<string>;
  /** json_list says it records but we do not know the path. */
  recordingFlag: boolean;
  participants: Map<string, ParticipantRec>;
}

/** Actions whose only meaning is a state change: safe to drop when they change nothing. */
const STATE_ACTIONS: ReadonlySet<string> = new Set([
  'conference-create',
  'conference-destroy',
  'add-member',
  'del-member',
  'mute-member',
  'unmute-member',
  'deaf-member',
  'undeaf-member',
  'start-talking',
  'stop-talking',
  'hold-member',
  'unhold-member',
  'floor-change',
  'lock',
  'unlock',
  'energy-level-member',
  'start-recording',
  'stop-recording',
]);

/** Fields compared to decide whether a member changed (current energy moves all the time: not one). */
function sameMember(a: MemberState, b: MemberState): boolean {
  return (
    a.memberId === b.memberId &&
    a.callId === b.callId &&
    a.callerIdName === b.callerIdName &&
    a.callerIdNumber === b.callerIdNumber &&
    a.isModerator === b.isModerator &&
    a.hear === b.hear &&
    a.see === b.see &&
    a.speak === b.speak &&
    a.talking === b.talking &&
    a.floor === b.floor &&
    a.hold === b.hold &&
    a.muteDetect === b.muteDetect &&
    a.video === b.video &&
    a.ghost === b.ghost &&
    a.energyLevel === b.energyLevel
  );
}

function memberFromListing(m: ListedMember, previous?: MemberState): MemberState {
  const out: MemberState = {
    memberId: m.memberId,
    callId: m.callId,
    callerIdName: m.callerIdName,
    callerIdNumber: m.callerIdNumber,
    isModerator: m.isModerator,
    hear: m.hear,
    see: m.see,
    speak: m.speak,
    talking: m.talking,
    floor: m.floor,
    hold: m.hold,
    muteDetect: m.muteDetect,
    video: m.video,
    ghost: m.ghost,
    energyLevel: m.energyLevel,
    // json_list has no current energy: keep what the last event said, 0 for a newcomer.
    currentEnergy: previous?.currentEnergy ?? 0,
    // Nor channel variables: keep what add-member carried (Kazoo's custom_channel_vars live there);
    // for a newcomer, what the resync fetched with uuid_dump, if anything.
    channelVars: previous?.channelVars ?? m.channelVars ?? {},
  };
  const channelName = previous?.channelName ?? m.channelName;
  const presenceId = previous?.presenceId ?? m.presenceId;
  if (channelName !== undefined) out.channelName = channelName;
  if (presenceId !== undefined) out.presenceId = presenceId;
  return out;
}

/** Whether memberFromListing(m, previous) would equal `previous` field for field. */
function listingMatches(m: ListedMember, p: MemberState): boolean {
  return (
    m.memberId === p.memberId &&
    m.callId === p.callId &&
    m.callerIdName === p.callerIdName &&
    m.callerIdNumber === p.callerIdNumber &&
    m.isModerator === p.isModerator &&
    m.hear === p.hear &&
    m.see === p.see &&
    m.speak === p.speak &&
    m.talking === p.talking &&
    m.floor === p.floor &&
    m.hold === p.hold &&
    m.muteDetect === p.muteDetect &&
    m.video === p.video &&
    m.ghost === p.ghost &&
    m.energyLevel === p.energyLevel
  );
}

/** A received member state, keeping channel data an event without verbose headers does not repeat. */
function mergeMember(incoming: MemberState, previous: MemberState | undefined): MemberState {
  if (!previous) return { ...incoming, channelVars: { ...incoming.channelVars } };
  const out: MemberState = {
    ...incoming,
    callerIdName: incoming.callerIdName || previous.callerIdName,
    callerIdNumber: incoming.callerIdNumber || previous.callerIdNumber,
    channelVars: Object.keys(incoming.channelVars).length > 0 ? { ...incoming.channelVars } : previous.channelVars,
  };
  if (out.channelName === undefined && previous.channelName !== undefined) out.channelName = previous.channelName;
  if (out.presenceId === undefined && previous.presenceId !== undefined) out.presenceId = previous.presenceId;
  return out;
}

function parseMemberId(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

export class ConferenceRegistry {
  private readonly now: () => number;
  private deduplicated = 0;
  /** node → name → conference. */
  private readonly byNode = new Map<string, Map<string, ConferenceRec>>();
  /** name → nodes hosting it. */
  private readonly byName = new Map<string, Set<string>>();
  private readonly identities = new Map<string, NodeIdentity>();

  constructor(options: RegistryOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  // ---------------------------------------------------------------------------------------------
  // Received events

  /**
   * Applies a received event; returns what consumers should see: the event, preceded by any
   * synthesized ones it implies. With `dedupe`, a state event that changes nothing is left out.
   */
  apply(event: ConferenceEvent, options?: ApplyOptions): ConferenceEvent[] {
    this.noteIdentity(event);
    const implied: ConferenceEvent[] = [];
    const changed = this.applyEvent(event, implied);
    if (!changed && options?.dedupe === true && !event.synthesized && STATE_ACTIONS.has(event.action)) {
      this.deduplicated++;
      return implied;
    }
    implied.push(event);
    return implied;
  }

  private applyEvent(ev: ConferenceEvent, out: ConferenceEvent[]): boolean {
    if (!ev.conferenceName) return false;
    switch (ev.action) {
      case 'conference-create':
        return this.ensureConference(ev, out).created;
      case 'conference-destroy': {
        const rec = this.get(ev.node, ev.conferenceName);
        if (!rec || (ev.conferenceUuid && rec.uuid && rec.uuid !== ev.conferenceUuid)) return false;
        // FreeSWITCH sends del-member for everyone first; whoever is left, we missed: say so.
        for (const [key, p] of [...rec.participants]) {
          rec.participants.delete(key);
          out.push(this.synth('del-member', rec, { ...p.member, floor: false, talking: false }, { reason: 'conference-destroyed' }));
        }
        this.remove(rec);
        return true;
      }
      case 'del-member': {
        const rec = this.get(ev.node, ev.conferenceName);
        if (!rec || !ev.member) return false;
        const key = this.findParticipantKey(rec, ev.member);
        if (key === undefined) return false;
        rec.participants.delete(key);
        return true;
      }
      case 'floor-change': {
        const { rec, created } = this.ensureConference(ev, out);
        const newId = parseMemberId(ev.headers['New-ID'] ?? String(ev.details['New-ID'] ?? ''));
        let changed = created;
        if (ev.member) changed = this.upsertMember(rec, ev, out) || changed;
        for (const p of rec.participants.values()) {
          const floor = newId !== undefined && p.member.memberId === newId;
          if (p.member.floor !== floor) {
            p.member = { ...p.member, floor };
            changed = true;
          }
        }
        return changed;
      }
      case 'lock':
      case 'unlock': {
        const { rec, created } = this.ensureConference(ev, out);
        const locked = ev.action === 'lock';
        if (rec.locked === locked) return created;
        rec.locked = locked;
        return true;
      }
      case 'start-recording':
      case 'stop-recording': {
        const { rec, created } = this.ensureConference(ev, out);
        const path = ev.headers['Path'];
        const before = rec.recordings.size > 0 || rec.recordingFlag;
        if (ev.action === 'start-recording') {
          if (path) rec.recordings.add(path);
          else rec.recordingFlag = true;
        } else {
          if (path) rec.recordings.delete(path);
          if (ev.headers['Other-Recordings'] === 'false' || !path) rec.recordings.clear();
          if (rec.recordings.size === 0) rec.recordingFlag = false;
        }
        return created || before !== (rec.recordings.size > 0 || rec.recordingFlag);
      }
      default: {
        const { rec, created } = this.ensureConference(ev, out);
        if (!ev.member) return created;
        const changed = this.upsertMember(rec, ev, out);
        if (ev.action === 'kick-member' || ev.action === 'hup-member') {
          const p = rec.participants.get(ev.member.callId);
          if (p && p.status === 'joined') p.status = 'leaving';
        }
        if (ev.action === 'volume-in-member' || ev.action === 'volume-out-member') {
          const p = rec.participants.get(ev.member.callId);
          const level = Number(ev.headers['Volume-Level'] ?? ev.details['Volume-Level']);
          if (p && Number.isFinite(level)) {
            if (ev.action === 'volume-in-member') p.volumeIn = level;
            else p.volumeOut = level;
          }
        }
        return created || changed;
      }
    }
  }

  /** The conference the event speaks of, created when we did not know it (we may have started late). */
  private ensureConference(ev: ConferenceEvent, out: ConferenceEvent[]): { rec: ConferenceRec; created: boolean } {
    let rec = this.get(ev.node, ev.conferenceName);
    if (rec && ev.conferenceUuid && rec.uuid && rec.uuid !== ev.conferenceUuid) {
      // A new instance under the same name on the same node: the old one is gone, say so.
      out.push(...this.dropConference(rec));
      rec = undefined;
    }
    if (rec) {
      if (!rec.uuid && ev.conferenceUuid) rec.uuid = ev.conferenceUuid;
      if (ev.profile) rec.profile = ev.profile;
      if (ev.conferenceDomain) rec.domain = ev.conferenceDomain;
      return { rec, created: false };
    }
    const fresh: ConferenceRec = {
      name: ev.conferenceName,
      uuid: ev.conferenceUuid,
      node: ev.node,
      locked: false,
      startedAtMs: ev.timestampUs > 0 ? Math.floor(ev.timestampUs / 1000) : this.now(),
      recordings: new Set(),
      recordingFlag: false,
      participants: new Map(),
    };
    if (ev.profile) fresh.profile = ev.profile;
    if (ev.conferenceDomain) fresh.domain = ev.conferenceDomain;
    this.insert(fresh);
    return { rec: fresh, created: true };
  }

  private upsertMember(rec: ConferenceRec, ev: ConferenceEvent, out: ConferenceEvent[]): boolean {
    const incoming = ev.member!;
    // Another call holding this member id is stale (missed del-member): it cannot be in the conference.
    for (const [key, p] of rec.participants) {
      if (p.member.memberId === incoming.memberId && key !== incoming.callId) {
        rec.participants.delete(key);
        out.push(this.synth('del-member', rec, p.member, { reason: 'member-id-reused' }));
      }
    }
    const existing = rec.participants.get(incoming.callId);
    if (existing && existing.member.memberId !== incoming.memberId) {
      // Same call, new member id: it left and came back while we were not looking.
      rec.participants.delete(incoming.callId);
      out.push(this.synth('del-member', rec, existing.member, { reason: 'rejoined' }));
      return this.upsertMember(rec, ev, out) || true;
    }
    const member = mergeMember(incoming, existing?.member);
    if (existing) {
      const changed = !sameMember(existing.member, member);
      existing.member = member;
      return changed;
    }
    const joinedAtMs = ev.timestampUs > 0 ? Math.floor(ev.timestampUs / 1000) : this.now();
    rec.participants.set(member.callId, { member, joinedAtMs, status: 'joined' });
    return true;
  }

  private findParticipantKey(rec: ConferenceRec, m: MemberState): string | undefined {
    if (m.callId && rec.participants.has(m.callId)) {
      const p = rec.participants.get(m.callId)!;
      // A del-member for an earlier membership of this call (different member id) is not about this one.
      return p.member.memberId === m.memberId || !m.memberId ? m.callId : undefined;
    }
    if (!m.callId) {
      for (const [key, p] of rec.participants) if (p.member.memberId === m.memberId) return key;
    }
    return undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // Snapshots (resync) and flushes

  /**
   * Makes `node`'s part of the state equal to a json_list snapshot taken at `atMs` (epoch ms when the
   * reply arrived) and returns the synthesized events describing the difference, in an order that keeps
   * each participant's story consistent: per conference, leavers first, then newcomers, then flag
   * changes, then the floor. Conferences gone get del-member for every participant, then destroy.
   * With `sink`, the events go to it conference by conference as each is done (same order) and the
   * returned array is empty. `beginSnapshot` does the same one conference at a time.
   */
  applySnapshot(
    node: string,
    listed: readonly ListedConference[],
    atMs = this.now(),
    sink?: (events: ConferenceEvent[]) => void,
  ): ConferenceEvent[] {
    // With a sink, each conference's events are handed over as soon as that conference is done (its
    // state final), instead of all of them at the end: a cold resync of 1000 conferences makes
    // ~12 000 events, ~20 MB if they are all held at once.
    const all: ConferenceEvent[] = [];
    const emit = sink ?? ((events: ConferenceEvent[]): void => void all.push(...events));
    const applying = this.beginSnapshot(node, atMs);
    for (const l of listed) {
      const out = applying.conference(l);
      if (out.length > 0) emit(out);
    }
    for (const gone of applying.finish()) emit(gone);
    return all;
  }

  /**
   * A snapshot applied piecewise, so a caller can let its consumers catch up between conferences
   * (resync.ts paces a cold start this way): `conference(l)` for each listed conference, then
   * `finish()` once, which drops the node's conferences the snapshot did not list. Between calls the
   * node's events must be held back (resync buffers them); the other nodes' may be applied.
   * Abandoned before `finish()`, the state is part old, part new, every change told: the next
   * snapshot completes it.
   */
  beginSnapshot(node: string, atMs = this.now()): SnapshotApplication {
    const seen = new Set<string>();
    return {
      conference: (l) => {
        if (!l.name) return [];
        seen.add(l.name);
        return this.applyListedConference(node, l, atMs);
      },
      finish: () => {
        const out: ConferenceEvent[][] = [];
        for (const rec of [...(this.byNode.get(node)?.values() ?? [])]) {
          if (!seen.has(rec.name)) out.push(this.dropConference(rec, atMs));
        }
        return out;
      },
    };
  }

  private applyListedConference(node: string, l: ListedConference, atMs: number): ConferenceEvent[] {
    const out: ConferenceEvent[] = [];
    let rec = this.byNode.get(node)?.get(l.name);
    if (rec && l.uuid && rec.uuid && rec.uuid !== l.uuid) {
      out.push(...this.dropConference(rec));
      rec = undefined;
    }
    if (!rec) {
      rec = {
        name: l.name,
        uuid: l.uuid,
        node,
        locked: l.locked,
        startedAtMs: atMs - l.runTimeSeconds * 1000,
        recordings: new Set(),
        recordingFlag: l.recording,
        participants: new Map(),
      };
      this.insert(rec);
      out.push(this.synth('conference-create', rec, undefined, {}, atMs));
      if (l.locked) out.push(this.synth('lock', rec, undefined, {}, atMs));
      if (l.recording) out.push(this.synth('start-recording', rec, undefined, {}, atMs));
    } else {
      if (!rec.uuid) rec.uuid = l.uuid;
      if (rec.locked !== l.locked) {
        rec.locked = l.locked;
        out.push(this.synth(l.locked ? 'lock' : 'unlock', rec, undefined, {}, atMs));
      }
      const recording = rec.recordings.size > 0 || rec.recordingFlag;
      if (recording !== l.recording) {
        rec.recordings.clear();
        rec.recordingFlag = l.recording;
        out.push(this.synth(l.recording ? 'start-recording' : 'stop-recording', rec, undefined, {}, atMs));
      }
    }
    this.diffMembers(rec, l, atMs, out);
    return out;
  }

  private diffMembers(rec: ConferenceRec, l: ListedConference, atMs: number, out: ConferenceEvent[]): void {
    const listed = new Map<string, ListedMember>();
    for (const m of l.members) if (m.callId && m.type === 'caller') listed.set(m.callId, m);
    const oldFloor = [...rec.participants.values()].find((p) => p.member.floor)?.member.memberId;

    // Leavers: gone, or the same call now under another member id (left and rejoined, or FS restarted).
    for (const [key, p] of [...rec.participants]) {
      const now = listed.get(key);
      if (!now || now.memberId !== p.member.memberId) {
        rec.participants.delete(key);
        out.push(this.synth('del-member', rec, { ...p.member, floor: false, talking: false }, {}, atMs));
      }
    }
    const ordered = [...listed.values()].sort((a, b) => a.memberId - b.memberId);
    const stayed: ListedMember[] = [];
    for (const m of ordered) {
      if (rec.participants.has(m.callId)) {
        stayed.push(m);
        continue;
      }
      const member = memberFromListing(m);
      rec.participants.set(m.callId, {
        member,
        joinedAtMs: atMs - m.joinedSecondsAgo * 1000,
        status: 'joined',
        volumeIn: m.volumeIn,
        volumeOut: m.volumeOut,
      });
      out.push(this.synth('add-member', rec, member, {}, atMs));
    }
    for (const m of stayed) {
      const p = rec.participants.get(m.callId)!;
      const before = p.member;
      // Unchanged (the common case): keep the object, so a resync allocates nothing per stayer.
      const after = listingMatches(m, before) ? before : memberFromListing(m, before);
      p.member = after;
      p.volumeIn = m.volumeIn;
      p.volumeOut = m.volumeOut;
      const emit = (action: string): void => void out.push(this.synth(action, rec, after, {}, atMs));
      if (before.speak !== after.speak) emit(after.speak ? 'unmute-member' : 'mute-member');
      if (before.hear !== after.hear) emit(after.hear ? 'undeaf-member' : 'deaf-member');
      if (before.hold !== after.hold) emit(after.hold ? 'hold-member' : 'unhold-member');
      if (before.talking !== after.talking) emit(after.talking ? 'start-talking' : 'stop-talking');
      if (before.energyLevel !== after.energyLevel) emit('energy-level-member');
      if (
        before.callerIdName !== after.callerIdName ||
        before.callerIdNumber !== after.callerIdNumber ||
        before.isModerator !== after.isModerator ||
        before.muteDetect !== after.muteDetect ||
        before.video !== after.video ||
        before.see !== after.see ||
        before.ghost !== after.ghost
      ) {
        // No FreeSWITCH action names these changes; consumers still learn the new state.
        emit('member-update');
      }
    }
    const newFloorMember = [...rec.participants.values()].find((p) => p.member.floor)?.member;
    const newFloor = newFloorMember?.memberId;
    if (newFloor !== oldFloor) {
      out.push(
        this.synth('floor-change', rec, newFloorMember, { 'Old-ID': oldFloor ?? 'none', 'New-ID': newFloor ?? 'none' }, atMs),
      );
    }
  }

  /**
   * The listed call legs that `applySnapshot(node, listed)` would add (synthesized add-member): calls
   * we do not know in that conference instance, or know under another member id. The resync fetches
   * their channel variables before applying the snapshot.
   */
  unknownMembers(node: string, listed: readonly ListedConference[]): ListedMember[] {
    const out: ListedMember[] = [];
    for (const l of listed) {
      if (!l.name) continue;
      const rec = this.get(node, l.name);
      const same = rec !== undefined && !(l.uuid && rec.uuid && rec.uuid !== l.uuid);
      for (const m of l.members) {
        if (!m.callId || m.type !== 'caller') continue;
        const p = same ? rec.participants.get(m.callId) : undefined;
        if (!p || p.member.memberId !== m.memberId) out.push(m);
      }
    }
    return out;
  }

  /**
   * Forgets everything on `node` (it stayed down past its grace period) and returns the synthesized
   * del-member and conference-destroy events that tell consumers so.
   */
  flushNode(node: string, atMs = this.now()): ConferenceEvent[] {
    const out: ConferenceEvent[] = [];
    for (const rec of [...(this.byNode.get(node)?.values() ?? [])]) out.push(...this.dropConference(rec, atMs));
    return out;
  }

  /** Removes a conference, returning synthesized del-member for each participant and its destroy. */
  private dropConference(rec: ConferenceRec, atMs = this.now()): ConferenceEvent[] {
    const out: ConferenceEvent[] = [];
    for (const [key, p] of [...rec.participants]) {
      rec.participants.delete(key);
      out.push(this.synth('del-member', rec, { ...p.member, floor: false, talking: false }, {}, atMs));
    }
    this.remove(rec);
    out.push(this.synth('conference-destroy', rec, undefined, {}, atMs));
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Synthesized events

  private synth(
    action: string,
    rec: ConferenceRec,
    member: MemberState | undefined,
    details: Record<string, string | number | boolean | null>,
    atMs = this.now(),
  ): ConferenceEvent {
    const id = this.identity(rec.node);
    const timestampUs = Math.round(atMs * 1000);
    const headers: Record<string, string> = {
      'Event-Name': 'CUSTOM',
      'Event-Subclass': 'conference::maintenance',
      'Core-UUID': id.coreUuid,
      'FreeSWITCH-Hostname': id.hostname,
      'FreeSWITCH-Switchname': id.switchname,
      'Event-Date-Timestamp': String(timestampUs),
      'Conference-Name': rec.name,
      'Conference-Size': String(rec.participants.size),
      'Conference-Unique-ID': rec.uuid,
      Action: action,
      'X-Confmgr-Synthesized': 'true',
    };
    if (rec.domain) headers['Conference-Domain'] = rec.domain;
    if (rec.profile) headers['Conference-Profile-Name'] = rec.profile;
    if (member) {
      Object.assign(headers, {
        'Member-ID': String(member.memberId),
        'Member-Type': member.isModerator ? 'moderator' : 'member',
        'Member-Ghost': String(member.ghost),
        'Unique-ID': member.callId,
        'Caller-Caller-ID-Name': member.callerIdName,
        'Caller-Caller-ID-Number': member.callerIdNumber,
        Floor: String(member.floor),
        Video: String(member.video),
        Hear: String(member.hear),
        See: String(member.see),
        Speak: String(member.speak),
        Talking: String(member.talking),
        'Mute-Detect': String(member.muteDetect),
        Hold: String(member.hold),
        'Energy-Level': String(member.energyLevel),
        'Current-Energy': String(member.currentEnergy),
      });
      if (member.channelName !== undefined) headers['Channel-Name'] = member.channelName;
      if (member.presenceId !== undefined) headers['Channel-Presence-ID'] = member.presenceId;
      for (const [k, v] of Object.entries(member.channelVars)) headers[`variable_${k}`] = v;
    }
    for (const [k, v] of Object.entries(details)) if (v !== null) headers[k] = String(v);
    const ev: ConferenceEvent = {
      action,
      known: action !== 'member-update',
      node: rec.node,
      switchname: id.switchname,
      coreUuid: id.coreUuid,
      conferenceName: rec.name,
      conferenceUuid: rec.uuid,
      conferenceSize: rec.participants.size,
      timestampUs,
      sequence: 0,
      details,
      synthesized: true,
      headers,
    };
    if (rec.domain) ev.conferenceDomain = rec.domain;
    if (rec.profile) ev.profile = rec.profile;
    if (member) ev.member = { ...member, channelVars: { ...member.channelVars } };
    return ev;
  }

  private noteIdentity(ev: ConferenceEvent): void {
    if (ev.synthesized || !ev.switchname) return;
    const hostname = ev.headers['FreeSWITCH-Hostname'] ?? ev.switchname;
    const cur = this.identities.get(ev.node);
    if (!cur || cur.switchname !== ev.switchname || cur.coreUuid !== ev.coreUuid || cur.hostname !== hostname) {
      this.identities.set(ev.node, { switchname: ev.switchname, hostname, coreUuid: ev.coreUuid });
    }
  }

  /** What we last heard the node call itself; the configured name until an event arrives. */
  identity(node: string): NodeIdentity {
    return this.identities.get(node) ?? { switchname: node, hostname: node, coreUuid: '' };
  }

  /** Sets the node's identity (e.g. from `api switchname` at connect), so synthesized events carry it. */
  setIdentity(node: string, identity: Partial<NodeIdentity>): void {
    const cur = this.identity(node);
    this.identities.set(node, { ...cur, ...identity });
  }

  // ---------------------------------------------------------------------------------------------
  // Indexes

  private get(node: string, name: string): ConferenceRec | undefined {
    return this.byNode.get(node)?.get(name);
  }

  private insert(rec: ConferenceRec): void {
    let names = this.byNode.get(rec.node);
    if (!names) this.byNode.set(rec.node, (names = new Map()));
    names.set(rec.name, rec);
    let nodes = this.byName.get(rec.name);
    if (!nodes) this.byName.set(rec.name, (nodes = new Set()));
    nodes.add(rec.node);
  }

  private remove(rec: ConferenceRec): void {
    const names = this.byNode.get(rec.node);
    if (names?.get(rec.name) === rec) names.delete(rec.name);
    const nodes = this.byName.get(rec.name);
    if (nodes) {
      nodes.delete(rec.node);
      if (nodes.size === 0) this.byName.delete(rec.name);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Read accessors (HTTP API, CLI, router)

  /** Nodes where `name` is live, the most recent conference start first. */
  nodesHosting(name: string): string[] {
    const nodes = [...(this.byName.get(name) ?? [])];
    return nodes
      .map((n) => this.get(n, name)!)
      .sort((a, b) => b.startedAtMs - a.startedAtMs || a.node.localeCompare(b.node))
      .map((r) => r.node);
  }

  /** Names of the conferences live on `node`. */
  conferenceNamesOn(node: string): string[] {
    return [...(this.byNode.get(node)?.keys() ?? [])];
  }

  conferences(): ConferenceInfo[] {
    const out: ConferenceInfo[] = [];
    for (const names of this.byNode.values()) for (const rec of names.values()) out.push(this.info(rec));
    return out.sort((a, b) => a.name.localeCompare(b.name) || a.node.localeCompare(b.node));
  }

  /**
   * One conference by name. With `node`, that node's instance; without, the only instance, or — when
   * the name is live on several nodes — the most recently started one (see `alsoOn`).
   */
  conference(name: string, node?: string): ConferenceInfo | undefined {
    const rec = this.pick(name, node);
    return rec ? this.info(rec) : undefined;
  }

  /** Participants of `name` (all instances when it is live on several nodes and no `node` is given). */
  participants(name: string, node?: string): ParticipantInfo[] {
    const recs = node !== undefined ? [this.get(node, name)].filter((r) => r !== undefined) : this.nodesHosting(name).map((n) => this.get(n, name)!);
    const out: ParticipantInfo[] = [];
    for (const rec of recs) for (const p of rec.participants.values()) out.push(this.participantInfo(rec, p));
    return out.sort((a, b) => a.node.localeCompare(b.node) || a.memberId - b.memberId);
  }

  /**
   * The stored member states of one conference instance, in no particular order, without the copies
   * `participants()` makes: for readers on a hot path (one call per event) that only look.
   */
  memberStates(name: string, node: string): Iterable<Readonly<MemberState>> {
    const rec = this.get(node, name);
    if (!rec) return [];
    return Array.from(rec.participants.values(), (p) => p.member);
  }

  /** A participant by member id (number or digits) or call id. */
  participant(name: string, id: number | string, node?: string): ParticipantInfo | undefined {
    const memberId = typeof id === 'number' ? id : /^\d+$/.test(id) ? Number(id) : undefined;
    for (const p of this.participants(name, node)) {
      if (memberId !== undefined ? p.memberId === memberId : p.callId === id) return p;
    }
    return undefined;
  }

  /** Where a call is a participant, if anywhere. */
  findCall(callId: string): ParticipantInfo | undefined {
    for (const names of this.byNode.values()) {
      for (const rec of names.values()) {
        const p = rec.participants.get(callId);
        if (p) return this.participantInfo(rec, p);
      }
    }
    return undefined;
  }

  /** The seed's `_read_only` object; zeros and no participants when the conference is not running. */
  readOnlyView(name: string, nowMs = this.now()): ReadOnlyView {
    const recs = this.nodesHosting(name).map((n) => this.get(n, name)!);
    if (recs.length === 0) {
      return { members: 0, admins: 0, moderators: 0, duration: 0, is_locked: false, participants: [] };
    }
    const participants: ReadOnlyParticipant[] = [];
    let moderators = 0;
    for (const rec of recs) {
      const id = this.identity(rec.node);
      for (const p of rec.participants.values()) {
        const m = p.member;
        if (m.isModerator) moderators++;
        participants.push({
          call_id: m.callId,
          conference_name: rec.name,
          conference_uuid: rec.uuid,
          switch_hostname: id.hostname,
          floor: m.floor,
          hear: m.hear,
          speak: m.speak,
          talking: m.talking,
          mute_detect: m.muteDetect,
          participant_id: m.memberId,
          energy_level: m.energyLevel,
          current_energy: m.currentEnergy,
          video: m.video,
          is_moderator: m.isModerator,
          join_time: Math.floor(p.joinedAtMs / 1000) + GREGORIAN_EPOCH_OFFSET_S,
          duration: Math.max(0, Math.floor((nowMs - p.joinedAtMs) / 1000)),
        });
      }
    }
    participants.sort((a, b) => a.participant_id - b.participant_id);
    const first = recs[0]!;
    return {
      members: participants.length - moderators,
      admins: moderators,
      moderators,
      duration: Math.max(0, Math.floor((nowMs - first.startedAtMs) / 1000)),
      is_locked: recs.some((r) => r.locked),
      participants,
      focus: first.node,
    };
  }

  private pick(name: string, node?: string): ConferenceRec | undefined {
    if (node !== undefined) return this.get(node, name);
    const nodes = this.nodesHosting(name);
    return nodes.length > 0 ? this.get(nodes[0]!, name) : undefined;
  }

  private info(rec: ConferenceRec): ConferenceInfo {
    const id = this.identity(rec.node);
    let moderatorCount = 0;
    for (const p of rec.participants.values()) if (p.member.isModerator) moderatorCount++;
    const out: ConferenceInfo = {
      name: rec.name,
      uuid: rec.uuid,
      node: rec.node,
      switchname: id.switchname,
      hostname: id.hostname,
      locked: rec.locked,
      startedAt: rec.startedAtMs,
      memberCount: rec.participants.size,
      moderatorCount,
      recording: rec.recordings.size > 0 || rec.recordingFlag,
      recordings: [...rec.recordings],
      alsoOn: [...(this.byName.get(rec.name) ?? [])].filter((n) => n !== rec.node).sort(),
    };
    if (rec.profile !== undefined) out.profile = rec.profile;
    if (rec.domain !== undefined) out.domain = rec.domain;
    return out;
  }

  private participantInfo(rec: ConferenceRec, p: ParticipantRec): ParticipantInfo {
    const out: ParticipantInfo = {
      ...p.member,
      // A copy: callers must not be able to change the registry's state through the result.
      channelVars: { ...p.member.channelVars },
      node: rec.node,
      conferenceName: rec.name,
      conferenceUuid: rec.uuid,
      joinedAt: p.joinedAtMs,
      status: p.status,
    };
    if (p.volumeIn !== undefined) out.volumeIn = p.volumeIn;
    if (p.volumeOut !== undefined) out.volumeOut = p.volumeOut;
    return out;
  }

  /** Counts for metrics and benchmarks. */
  stats(): RegistryStats {
    let conferences = 0;
    let participants = 0;
    for (const names of this.byNode.values()) {
      conferences += names.size;
      for (const rec of names.values()) participants += rec.participants.size;
    }
    return { nodes: this.byNode.size, conferences, participants, deduplicated: this.deduplicated };
  }
}
