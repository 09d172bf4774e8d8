/**
 * Kazoo's `_read_only` view of a conference (the conference document's realtime part): counts,
 * duration, lock state and one object per participant. The registry serves it whole; the HTTP API's
 * live view (records/realtime-adapter.ts) builds its participants with `readOnlyParticipant`.
 */
import type { MemberState } from '../conference/index.js';
import { kazooLayout, objectBuilder, type KazooMemberFields } from '../conference/index.js';
import type { ConferenceStore } from './store.js';

/** Seconds from 0000-01-01 to 1970-01-01: Kazoo's gregorian seconds (its `join_time`, e.g. 63635217275). */
export const GREGORIAN_EPOCH_OFFSET_S = 62_167_219_200;

/** One participant of Kazoo's `_read_only.participants[]`: its member fields (member-fields.ts) and these. */
export interface ReadOnlyParticipant extends KazooMemberFields<'readOnlyAt'> {
  conference_name: string;
  conference_uuid: string;
  switch_hostname: string;
  /** Gregorian seconds (Kazoo's epoch: seconds since 0000-01-01). */
  join_time: number;
  /** Seconds in the conference so far. */
  duration: number;
}

/** Kazoo's `_read_only` object. `admins` and `moderators` carry the same count. */
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

/** The conference instance a participant is in, as the `_read_only` participant names it. */
export interface ParticipantPlace {
  name: string;
  uuid: string;
  /** FreeSWITCH-Hostname of the node hosting it. */
  hostname: string;
}

interface Stay {
  place: ParticipantPlace;
  joinedAtMs: number;
  nowMs: number;
}

/** A `_read_only` participant's keys in Kazoo's order: its own below, the member fields at their `readOnlyAt`. */
const buildParticipant = objectBuilder(
  kazooLayout<Stay, Readonly<MemberState>>('readOnlyAt', [
    { key: 'conference_name', at: 1, value: (s) => s.place.name },
    { key: 'conference_uuid', at: 2, value: (s) => s.place.uuid },
    { key: 'switch_hostname', at: 3, value: (s) => s.place.hostname },
    { key: 'join_time', at: 14, value: (s) => Math.floor(s.joinedAtMs / 1000) + GREGORIAN_EPOCH_OFFSET_S },
    { key: 'duration', at: 15, value: (s) => Math.max(0, Math.floor((s.nowMs - s.joinedAtMs) / 1000)) },
  ]),
  (_s, member) => member,
);

/** One `_read_only.participants[]` object. */
export function readOnlyParticipant(place: ParticipantPlace, member: Readonly<MemberState>, joinedAtMs: number, nowMs: number): ReadOnlyParticipant {
  return buildParticipant({ place, joinedAtMs, nowMs }, member) as unknown as ReadOnlyParticipant;
}

/**
 * The `_read_only` object of `name` across every node hosting it (`focus` = the most recently
 * started); zeros and no participants when the conference is not running.
 */
export function readOnlyView(store: ConferenceStore, name: string, nowMs: number): ReadOnlyView {
  const recs = store.nodesHosting(name).map((n) => store.get(n, name)!);
  if (recs.length === 0) {
    return { members: 0, admins: 0, moderators: 0, duration: 0, is_locked: false, participants: [] };
  }
  const participants: ReadOnlyParticipant[] = [];
  let moderators = 0;
  for (const rec of recs) {
    const place: ParticipantPlace = { name: rec.name, uuid: rec.uuid, hostname: store.identity(rec.node).hostname };
    for (const p of rec.participants.values()) {
      if (p.member.isModerator) moderators++;
      participants.push(readOnlyParticipant(place, p.member, p.joinedAtMs, nowMs));
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
