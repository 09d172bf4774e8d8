/**
 * How a received conference event changes the store. A participant is keyed by call id within its
 * conference instance (member ids restart when FreeSWITCH does); a conference by (node, name), a new
 * uuid under a known name being a new instance. Changes the event implies but does not say (an older
 * instance gone, a member id now held by another call) are told by synthesized events.
 */
import type { ConferenceEvent, MemberState } from '../conference/index.js';
import { COMPARED_FIELDS, STICKY_FIELDS, agreement, fieldValue, setField } from '../conference/index.js';
import type { ConferenceRec, ConferenceStore } from './store.js';
import { dropConference, leaving, synthesize } from './synthesis.js';

/** Actions whose only meaning is a state change: safe to drop when they change nothing. */
export const STATE_ACTIONS: ReadonlySet<string> = new Set([
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

/** Whether a member changed (volatile fields, such as the current energy, do not count). */
const sameMember: (a: MemberState, b: MemberState) => boolean = agreement(COMPARED_FIELDS);

/** A received member state, keeping what an event does not repeat (channel data, sticky fields). */
function mergeMember(incoming: MemberState, previous: MemberState | undefined): MemberState {
  if (!previous) return { ...incoming, channelVars: { ...incoming.channelVars } };
  const out: MemberState = {
    ...incoming,
    channelVars: hasKeys(incoming.channelVars) ? { ...incoming.channelVars } : previous.channelVars,
  };
  for (const f of STICKY_FIELDS) if (!fieldValue(out, f)) setField(out, f, fieldValue(previous, f)!);
  if (out.channelName === undefined && previous.channelName !== undefined) out.channelName = previous.channelName;
  if (out.presenceId === undefined && previous.presenceId !== undefined) out.presenceId = previous.presenceId;
  return out;
}

/** Whether an object has an own enumerable key (Object.keys(o).length > 0 without the array). */
function hasKeys(o: object): boolean {
  for (const key in o) if (Object.prototype.hasOwnProperty.call(o, key)) return true;
  return false;
}

function parseMemberId(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** The del-member we did not receive, with why we know it happened. */
function missedLeave(store: ConferenceStore, now: () => number, rec: ConferenceRec, member: MemberState, reason: string): ConferenceEvent {
  return synthesize('del-member', rec, store.identity(rec.node), member, { reason }, now());
}

/** Remembers what the node calls itself, from a received event, so synthesized events say the same. */
export function noteIdentity(store: ConferenceStore, ev: ConferenceEvent): void {
  if (ev.synthesized || !ev.switchname) return;
  const hostname = ev.headers['FreeSWITCH-Hostname'] ?? ev.switchname;
  const cur = store.identity(ev.node);
  if (cur.switchname !== ev.switchname || cur.coreUuid !== ev.coreUuid || cur.hostname !== hostname) {
    store.setIdentity(ev.node, { switchname: ev.switchname, hostname, coreUuid: ev.coreUuid });
  }
}

/**
 * Applies a received event to the store; pushes onto `out` the synthesized events it implies.
 * Returns whether the state changed.
 */
export function applyEvent(store: ConferenceStore, now: () => number, ev: ConferenceEvent, out: ConferenceEvent[]): boolean {
  if (!ev.conferenceName) return false;
  switch (ev.action) {
    case 'conference-create':
      if (knownConference(store, now, ev, out) !== undefined) return false;
      addConference(store, now, ev);
      return true;
    case 'conference-destroy': {
      const rec = store.get(ev.node, ev.conferenceName);
      if (!rec || (ev.conferenceUuid && rec.uuid && rec.uuid !== ev.conferenceUuid)) return false;
      // FreeSWITCH sends del-member for everyone first; whoever is left, we missed: say so.
      for (const [key, p] of [...rec.participants]) {
        rec.participants.delete(key);
        out.push(missedLeave(store, now, rec, leaving(p.member), 'conference-destroyed'));
      }
      store.remove(rec);
      return true;
    }
    case 'del-member': {
      const rec = store.get(ev.node, ev.conferenceName);
      if (!rec || !ev.member) return false;
      const key = findParticipantKey(rec, ev.member);
      if (key === undefined) return false;
      rec.participants.delete(key);
      return true;
    }
    case 'floor-change': {
      const known = knownConference(store, now, ev, out);
      const rec = known ?? addConference(store, now, ev);
      const created = known === undefined;
      const newId = parseMemberId(ev.headers['New-ID'] ?? String(ev.details['New-ID'] ?? ''));
      let changed = created;
      if (ev.member) changed = upsertMember(store, now, rec, ev, out) || changed;
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
      const known = knownConference(store, now, ev, out);
      const rec = known ?? addConference(store, now, ev);
      const created = known === undefined;
      const locked = ev.action === 'lock';
      if (rec.locked === locked) return created;
      rec.locked = locked;
      return true;
    }
    case 'start-recording':
    case 'stop-recording': {
      const known = knownConference(store, now, ev, out);
      const rec = known ?? addConference(store, now, ev);
      const created = known === undefined;
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
      const known = knownConference(store, now, ev, out);
      const rec = known ?? addConference(store, now, ev);
      const created = known === undefined;
      if (!ev.member) return created;
      const changed = upsertMember(store, now, rec, ev, out);
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

/**
 * The conference the event speaks of when we know it (brought up to date by the event), else undefined:
 * then addConference (we may have started late). Two functions, not one returning { rec, created }:
 * no result object per event.
 */
function knownConference(store: ConferenceStore, now: () => number, ev: ConferenceEvent, out: ConferenceEvent[]): ConferenceRec | undefined {
  const rec = store.get(ev.node, ev.conferenceName);
  if (!rec) return undefined;
  if (ev.conferenceUuid && rec.uuid && rec.uuid !== ev.conferenceUuid) {
    // A new instance under the same name on the same node: the old one is gone, say so.
    out.push(...dropConference(store, rec, now()));
    return undefined;
  }
  if (!rec.uuid && ev.conferenceUuid) rec.uuid = ev.conferenceUuid;
  if (ev.profile) rec.profile = ev.profile;
  if (ev.conferenceDomain) rec.domain = ev.conferenceDomain;
  return rec;
}

/** A conference the event speaks of and we did not know, added to the store. */
function addConference(store: ConferenceStore, now: () => number, ev: ConferenceEvent): ConferenceRec {
  const fresh: ConferenceRec = {
    name: ev.conferenceName,
    uuid: ev.conferenceUuid,
    node: ev.node,
    locked: false,
    startedAtMs: ev.timestampUs > 0 ? Math.floor(ev.timestampUs / 1000) : now(),
    recordings: new Set(),
    recordingFlag: false,
    participants: new Map(),
  };
  if (ev.profile) fresh.profile = ev.profile;
  if (ev.conferenceDomain) fresh.domain = ev.conferenceDomain;
  store.insert(fresh);
  return fresh;
}

function upsertMember(store: ConferenceStore, now: () => number, rec: ConferenceRec, ev: ConferenceEvent, out: ConferenceEvent[]): boolean {
  const incoming = ev.member!;
  const existing = rec.participants.get(incoming.callId);
  // Another call holding this member id is stale (missed del-member): it cannot be in the conference.
  // Looked for only when this call is new here or its member id changed: each such upsert removes the
  // others holding the id, so a call that already holds it holds it alone (no scan of every participant
  // on every talking event). forEach, not for-of over entries: no [key, value] array per participant.
  if (existing === undefined || existing.member.memberId !== incoming.memberId) {
    rec.participants.forEach((p, key) => {
      if (p.member.memberId === incoming.memberId && key !== incoming.callId) {
        rec.participants.delete(key);
        out.push(missedLeave(store, now, rec, p.member, 'member-id-reused'));
      }
    });
  }
  if (existing && existing.member.memberId !== incoming.memberId) {
    // Same call, new member id: it left and came back while we were not looking.
    rec.participants.delete(incoming.callId);
    out.push(missedLeave(store, now, rec, existing.member, 'rejoined'));
    return upsertMember(store, now, rec, ev, out) || true;
  }
  const member = mergeMember(incoming, existing?.member);
  if (existing) {
    const changed = !sameMember(existing.member, member);
    existing.member = member;
    return changed;
  }
  const joinedAtMs = ev.timestampUs > 0 ? Math.floor(ev.timestampUs / 1000) : now();
  rec.participants.set(member.callId, { member, joinedAtMs, status: 'joined' });
  return true;
}

function findParticipantKey(rec: ConferenceRec, m: MemberState): string | undefined {
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
