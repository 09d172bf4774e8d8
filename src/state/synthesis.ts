/**
 * Events confmgr makes up (`synthesized: true`) to tell consumers a change it did not receive: what
 * a resync found different, a conference replaced or flushed. Shaped like FreeSWITCH's own
 * `conference::maintenance` events (headers included, plus `X-Confmgr-Synthesized: true`), so
 * consumers treat both alike.
 */
import type { ConferenceEvent, MemberState } from '../conference/index.js';
import { MEMBER_FIELDS, fieldValue, headerText } from '../conference/index.js';
import type { ConferenceRec, ConferenceStore, NodeIdentity } from './store.js';

export type Details = Record<string, string | number | boolean | null>;

/** A FreeSWITCH-shaped event about `rec` (and `member`), dated `atMs`. */
export function synthesize(
  action: string,
  rec: ConferenceRec,
  id: NodeIdentity,
  member: MemberState | undefined,
  details: Details,
  atMs: number,
): ConferenceEvent {
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
    for (const f of MEMBER_FIELDS) headers[f.headers[0]!] = headerText(f, fieldValue(member, f)!);
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

/** A member leaving: neither holding the floor nor talking any more. */
export function leaving(member: MemberState): MemberState {
  return { ...member, floor: false, talking: false };
}

/**
 * Forgets a conference and returns the events that tell it: del-member for each participant, then
 * conference-destroy, all dated `atMs`.
 */
export function dropConference(store: ConferenceStore, rec: ConferenceRec, atMs: number): ConferenceEvent[] {
  const id = store.identity(rec.node);
  const out: ConferenceEvent[] = [];
  for (const [key, p] of [...rec.participants]) {
    rec.participants.delete(key);
    out.push(synthesize('del-member', rec, id, leaving(p.member), {}, atMs));
  }
  store.remove(rec);
  out.push(synthesize('conference-destroy', rec, id, undefined, {}, atMs));
  return out;
}
