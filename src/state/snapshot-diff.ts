/**
 * Applying a listing (`conference json_list` / `xml_list`) of one node to the store: the node's part
 * of the state becomes what the listing says, and the synthesized events returned describe the
 * difference. Also the node flush (it stayed down too long), which is a listing of nothing.
 *
 * Order of the events, per conference, so that each participant's story stays consistent: leavers
 * first, then newcomers, then flag changes, then the floor. Conferences gone get del-member for every
 * participant, then destroy.
 */
import type { ListedConference, ListedMember } from '../conference/index.js';
import type { ConferenceEvent, MemberState } from '../conference/index.js';
import {
  CHANGE_FIELDS,
  COMPARED_FIELDS,
  LISTED_FIELDS,
  MEMBER_FIELDS,
  agree,
  fieldValue,
  objectBuilder,
  type Slot,
} from '../conference/index.js';
import type { ConferenceRec, ConferenceStore } from './store.js';
import { dropConference, leaving, synthesize, type Details } from './synthesis.js';

/** See beginSnapshot. */
export interface SnapshotApplication {
  /** Applies one listed conference; returns its synthesized events (empty when nothing changed). */
  conference(l: ListedConference): ConferenceEvent[];
  /** Drops the node's conferences that no `conference()` call listed; returns their events, one batch per conference. */
  finish(): ConferenceEvent[][];
}

/**
 * A member as a listing shows it. What listings do not carry (current energy, channel data) is kept
 * from `previous`; for a newcomer, the channel data the node sync fetched (uuid_dump), if any.
 */
const memberFromListing = objectBuilder<ListedMember, MemberState | undefined>(
  [
    ...MEMBER_FIELDS.map(
      (f): Slot<ListedMember, MemberState | undefined> =>
        f.list !== undefined
          ? { key: f.key, field: f.key }
          : { key: f.key, value: (_m, previous) => (previous === undefined ? undefined : fieldValue(previous, f)) ?? f.fresh },
    ),
    { key: 'channelVars', value: (m, previous) => previous?.channelVars ?? m.channelVars ?? {} },
    { key: 'channelName', optional: true, value: (m, previous) => previous?.channelName ?? m.channelName },
    { key: 'presenceId', optional: true, value: (m, previous) => previous?.presenceId ?? m.presenceId },
  ],
  (m) => m,
) as unknown as (m: ListedMember, previous?: MemberState) => MemberState;

/** Whether memberFromListing(m, previous) would equal `previous` field for field. */
function listingMatches(m: ListedMember, p: MemberState): boolean {
  return agree(m, p, LISTED_FIELDS);
}

/**
 * Makes `node`'s part of the state equal to a listing taken at `atMs` (epoch ms when the reply
 * arrived) and returns the synthesized events describing the difference. With `sink`, the events go
 * to it conference by conference as each is done (same order) and the returned array is empty.
 */
export function applySnapshot(
  store: ConferenceStore,
  now: () => number,
  node: string,
  listed: readonly ListedConference[],
  atMs: number,
  sink?: (events: ConferenceEvent[]) => void,
): ConferenceEvent[] {
  // With a sink, each conference's events are handed over as soon as that conference is done (its
  // state final), instead of all of them at the end: a cold resync's events all held at once would
  // be its largest allocation.
  const all: ConferenceEvent[] = [];
  const emit = sink ?? ((events: ConferenceEvent[]): void => void all.push(...events));
  const applying = beginSnapshot(store, now, node, atMs);
  for (const l of listed) {
    const out = applying.conference(l);
    if (out.length > 0) emit(out);
  }
  for (const gone of applying.finish()) emit(gone);
  return all;
}

/** A listing applied one conference at a time (see ConferenceRegistry.beginSnapshot). */
export function beginSnapshot(store: ConferenceStore, now: () => number, node: string, atMs: number): SnapshotApplication {
  const seen = new Set<string>();
  return {
    conference: (l) => {
      if (!l.name) return [];
      seen.add(l.name);
      return applyListedConference(store, now, node, l, atMs);
    },
    finish: () => {
      const out: ConferenceEvent[][] = [];
      for (const rec of store.conferencesOn(node)) {
        if (!seen.has(rec.name)) out.push(dropConference(store, rec, atMs));
      }
      return out;
    },
  };
}

function applyListedConference(store: ConferenceStore, now: () => number, node: string, l: ListedConference, atMs: number): ConferenceEvent[] {
  const out: ConferenceEvent[] = [];
  let rec = store.get(node, l.name);
  if (rec && l.uuid && rec.uuid && rec.uuid !== l.uuid) {
    out.push(...dropConference(store, rec, now()));
    rec = undefined;
  }
  const tell = (action: string, r: ConferenceRec): void => void out.push(synthesize(action, r, store.identity(node), undefined, {}, atMs));
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
    store.insert(rec);
    tell('conference-create', rec);
    if (l.locked) tell('lock', rec);
    if (l.recording) tell('start-recording', rec);
  } else {
    if (!rec.uuid) rec.uuid = l.uuid;
    if (rec.locked !== l.locked) {
      rec.locked = l.locked;
      tell(l.locked ? 'lock' : 'unlock', rec);
    }
    const recording = rec.recordings.size > 0 || rec.recordingFlag;
    if (recording !== l.recording) {
      rec.recordings.clear();
      rec.recordingFlag = l.recording;
      tell(l.recording ? 'start-recording' : 'stop-recording', rec);
    }
  }
  diffMembers(store, rec, l, atMs, out);
  return out;
}

function diffMembers(store: ConferenceStore, rec: ConferenceRec, l: ListedConference, atMs: number, out: ConferenceEvent[]): void {
  const id = store.identity(rec.node);
  const tell = (action: string, member: MemberState | undefined, details: Details = {}): void =>
    void out.push(synthesize(action, rec, id, member, details, atMs));
  const listed = new Map<string, ListedMember>();
  for (const m of l.members) if (m.callId && m.type === 'caller') listed.set(m.callId, m);
  const oldFloor = [...rec.participants.values()].find((p) => p.member.floor)?.member.memberId;

  // Leavers: gone, or the same call now under another member id (left and rejoined, or FS restarted).
  for (const [key, p] of [...rec.participants]) {
    const now = listed.get(key);
    if (!now || now.memberId !== p.member.memberId) {
      rec.participants.delete(key);
      tell('del-member', leaving(p.member));
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
    tell('add-member', member);
  }
  for (const m of stayed) {
    const p = rec.participants.get(m.callId)!;
    const before = p.member;
    // Unchanged (the common case): keep the object, so a resync allocates nothing per stayer.
    const after = listingMatches(m, before) ? before : memberFromListing(m, before);
    p.member = after;
    p.volumeIn = m.volumeIn;
    p.volumeOut = m.volumeOut;
    // Member id and call id are the same by construction (a stayer is the same call under the same id).
    let update = false;
    for (const f of COMPARED_FIELDS) if (f.change === undefined && fieldValue(before, f) !== fieldValue(after, f)) update = true;
    for (const f of CHANGE_FIELDS) {
      const value = fieldValue(after, f);
      if (fieldValue(before, f) !== value) tell('any' in f.change ? f.change.any : value ? f.change.set : f.change.unset, after);
    }
    // No FreeSWITCH action names the other changes; consumers still learn the new state.
    if (update) tell('member-update', after);
  }
  const newFloorMember = [...rec.participants.values()].find((p) => p.member.floor)?.member;
  const newFloor = newFloorMember?.memberId;
  if (newFloor !== oldFloor) {
    tell('floor-change', newFloorMember, { 'Old-ID': oldFloor ?? 'none', 'New-ID': newFloor ?? 'none' });
  }
}

/**
 * The listed call legs that applying the listing would add (synthesized add-member): calls not known
 * in that conference instance, or known under another member id.
 */
export function unknownMembers(store: ConferenceStore, node: string, listed: readonly ListedConference[]): ListedMember[] {
  const out: ListedMember[] = [];
  for (const l of listed) {
    if (!l.name) continue;
    const rec = store.get(node, l.name);
    const same = rec !== undefined && !(l.uuid && rec.uuid && rec.uuid !== l.uuid);
    for (const m of l.members) {
      if (!m.callId || m.type !== 'caller') continue;
      const p = same ? rec.participants.get(m.callId) : undefined;
      if (!p || p.member.memberId !== m.memberId) out.push(m);
    }
  }
  return out;
}

/** Forgets everything on `node`; returns the del-member and conference-destroy events that tell it. */
export function flushNode(store: ConferenceStore, node: string, atMs: number): ConferenceEvent[] {
  const out: ConferenceEvent[] = [];
  for (const rec of store.conferencesOn(node)) out.push(...dropConference(store, rec, atMs));
  return out;
}
