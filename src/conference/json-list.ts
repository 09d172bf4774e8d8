/**
 * Parses mod_conference's `conference json_list` reply (cJSON_Print output: tab-indented JSON) and the
 * `xml_list` reply into one neutral shape, pure. Used by the resync to rebuild a node's state.
 *
 * What FreeSWITCH 1.10 answers (see test/fixtures/freeswitch/api-replies.txt):
 * - `conference json_list` / `conference <name> json_list`: a JSON array of conferences, no `+OK`.
 *   With no conference at all cJSON prints an empty array (`[]`, as the simulator answers). The
 *   `conference list` text `+OK No active conferences.` is accepted too; both mean "nothing".
 * - `conference <name> json_list` for an unknown name: `-ERR Conference <name> not found` (or, from the
 *   top-level dispatcher, `Conference <name> not found`).
 * Times in these replies are relative: `run_time` and a member's `join_time` are seconds elapsed, so a
 * snapshot is turned into absolute times against the clock reading taken when the reply arrived.
 * A listed conference or member carrying a value FreeSWITCH could not have sent (refusals.ts) is left
 * out and reported to `onRefused`; the rest of the listing stands.
 */
import { EslProtocolError, xmlUnescape } from '../esl/index.js';
import { ConferenceNotFoundError, UnrecognizedReplyError } from './errors.js';
import { LISTED_FIELDS, objectBuilder, type ListedFieldKey, type MemberField } from './member-fields.js';
import type { MemberState } from './types.js';
import { conferenceNameProblem, memberIdProblem, refusedValue, type OnRefused, type Refusal } from './refusals.js';

/**
 * A listed member: the member fields listings carry (member-fields.ts, under their MemberState keys)
 * plus what only listings say.
 */
export interface ListedMember extends Pick<MemberState, ListedFieldKey> {
  /** `caller` for call legs; other types (recording/file nodes) are not participants. */
  type: string;
  endConference: boolean;
  /** Seconds since the member joined. */
  joinedSecondsAgo: number;
  /** Seconds since the member last talked; undefined when never (xml `N/A`). */
  lastTalking: number | undefined;
  volumeIn: number;
  volumeOut: number;
  /**
   * Not in json_list/xml_list: the resync fills these for participants it did not know (from
   * `uuid_dump <call id> json`), so their synthesized add-member carries the channel variables.
   */
  channelVars?: Record<string, string>;
  channelName?: string;
  presenceId?: string;
}

export interface ListedConference {
  name: string;
  uuid: string;
  memberCount: number;
  ghostCount: number;
  rate: number;
  /** Seconds since the conference started. */
  runTimeSeconds: number;
  locked: boolean;
  recording: boolean;
  running: boolean;
  answered: boolean;
  dynamic: boolean;
  variables: Record<string, string>;
  members: ListedMember[];
}

const NOT_FOUND = /^(?:-ERR )?Conference (\S+) not found/;

/** True when the reply says there is no conference at all. */
function isEmptyReply(text: string): boolean {
  // `-ERR no reply` is mod_event_socket's body when the api wrote nothing at all: nothing listed.
  return text === '' || text === '[]' || text === '-ERR no reply' || /^(?:\+OK )?No active conferences\.?$/.test(text);
}

function failNotFoundOrUnrecognized(command: string, text: string): never {
  const m = NOT_FOUND.exec(text);
  if (m) throw new ConferenceNotFoundError(m[1]!, { reply: text });
  throw new UnrecognizedReplyError(command, text);
}

// -----------------------------------------------------------------------------------------------
// json_list

type Json = Record<string, unknown>;

function bool(o: Json, key: string, fallback = false): boolean {
  const v = o[key];
  return typeof v === 'boolean' ? v : typeof v === 'string' ? v === 'true' : fallback;
}

function num(o: Json, key: string, fallback = 0): number {
  const v = o[key];
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : fallback;
}

function str(o: Json, key: string): string {
  const v = o[key];
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Reads one listed member field, from the member's own fields or from its `flags` object. */
function listReader(f: MemberField): (fields: Json, flags: Json) => boolean | number | string {
  const where = f.list!;
  if ('flag' in where) return (_fields, flags) => bool(flags, where.flag, f.fresh as boolean);
  if (f.type === 'int') return (fields) => num(fields, where.key, f.fresh as number);
  return (fields) => str(fields, where.key);
}

const listedFields = objectBuilder<Json, Json>(LISTED_FIELDS.map((f) => ({ key: f.key, value: listReader(f) })));

/**
 * One listed member from its fields and its `flags` object (json_list's member object and flags, or
 * xml_list's member leaves and `<flags>` leaves: the same names, all text in xml).
 */
function listedMember(fields: Json, flags: Json, type: string, lastTalking: number | undefined): ListedMember {
  const out = listedFields(fields, flags) as unknown as ListedMember;
  out.type = type;
  out.endConference = bool(flags, 'end_conference');
  out.joinedSecondsAgo = num(fields, 'join_time');
  out.lastTalking = lastTalking;
  out.volumeIn = num(fields, 'volume_in');
  out.volumeOut = num(fields, 'volume_out');
  return out;
}

/** The member, or undefined (and a refusal) when its id cannot be a member id. */
function checkedMember(member: ListedMember, rawId: unknown, conference: string, refused: Refusal[]): ListedMember | undefined {
  const problem = memberIdProblem(member.memberId);
  if (problem === undefined) return member;
  refused.push({ dropped: 'member', field: 'id', value: refusedValue(rawId), reason: problem, conference });
  return undefined;
}

/** The conference's name, or undefined (and a refusal) when FreeSWITCH could not have it. */
function checkedName(name: string, field: string, refused: Refusal[]): string | undefined {
  const problem = conferenceNameProblem(name);
  if (problem === undefined) return name;
  refused.push({ dropped: 'conference', field, value: refusedValue(name), reason: problem });
  return undefined;
}

function memberFromJson(m: Json): ListedMember {
  const lastTalking = m.last_talking;
  return listedMember(m, isObject(m.flags) ? m.flags : {}, str(m, 'type') || 'caller', typeof lastTalking === 'number' ? lastTalking : undefined);
}

function variablesFrom(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(v)) for (const [k, val] of Object.entries(v)) out[k] = typeof val === 'string' ? val : String(val);
  return out;
}

function conferenceFromJson(c: Json, refused: Refusal[]): ListedConference | undefined {
  const name = checkedName(str(c, 'conference_name'), 'conference_name', refused);
  if (name === undefined) return undefined;
  const listed = Array.isArray(c.members) ? c.members.filter(isObject) : [];
  const members: ListedMember[] = [];
  for (const m of listed) {
    const member = checkedMember(memberFromJson(m), m.id, name, refused);
    if (member) members.push(member);
  }
  return {
    name,
    uuid: str(c, 'conference_uuid'),
    memberCount: num(c, 'member_count', listed.length),
    ghostCount: num(c, 'ghost_count'),
    rate: num(c, 'rate'),
    runTimeSeconds: num(c, 'run_time'),
    locked: bool(c, 'locked'),
    recording: bool(c, 'recording'),
    running: bool(c, 'running'),
    answered: bool(c, 'answered'),
    dynamic: bool(c, 'dynamic'),
    variables: variablesFrom(c.variables),
    members,
  };
}

/**
 * Parses the body of `conference json_list` (all conferences) or `conference <name> json_list`.
 * Throws ConferenceNotFoundError for an unknown name, UnrecognizedReplyError for anything else
 * that is not the expected array.
 */
export function parseJsonList(reply: string, command = 'conference json_list', onRefused?: OnRefused): ListedConference[] {
  const text = reply.trim();
  if (isEmptyReply(text)) return [];
  if (!text.startsWith('[')) failNotFoundOrUnrecognized(command, text);
  // A node with many conferences answers megabytes. One JSON.parse per conference keeps every raw tree
  // short-lived (it dies young instead of the whole reply's tree being promoted to the old
  // generation while the rest is converted). Anything the fast path cannot vouch for takes the
  // whole-reply path, so results and errors are the same either way.
  // Refusals are told once the result is known: the fast path may give up after some conferences.
  const fast = parsePerConference(text);
  if (fast) return told(fast.listed, fast.refused, onRefused);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UnrecognizedReplyError(command, text);
  }
  if (!Array.isArray(parsed)) throw new UnrecognizedReplyError(command, text);
  const refused: Refusal[] = [];
  const listed: ListedConference[] = [];
  for (const c of parsed.filter(isObject)) {
    const conference = conferenceFromJson(c, refused);
    if (conference) listed.push(conference);
  }
  return told(listed, refused, onRefused);
}

function told<T>(result: T, refused: readonly Refusal[], onRefused: OnRefused | undefined): T {
  if (onRefused) for (const r of refused) onRefused(r);
  return result;
}

/**
 * cJSON_Print closes each top-level element on its own line at one tab: the array's elements are
 * separated by exactly `\n\t}, {` (a JSON string cannot hold a raw newline, so this never matches
 * inside a string). Each piece between separators is JSON.parsed alone. A piece that parses is exactly
 * one element: it starts where an element starts and an object's text ends at its own closing brace,
 * so a cut anywhere else (inside a string, in a nested object) leaves invalid JSON. Any piece that does
 * not parse, or does not look like this layout at all → undefined (the caller parses the whole reply).
 */
function parsePerConference(text: string): { listed: ListedConference[]; refused: Refusal[] } | undefined {
  const SEP = '\n\t}, {';
  if (text.charCodeAt(1) !== 0x7b /* { */ || !text.endsWith('}]')) return undefined;
  const last = text.length - 1; // the closing ']'
  const out: ListedConference[] = [];
  const refused: Refusal[] = [];
  let start = 1;
  try {
    for (;;) {
      const sep = text.indexOf(SEP, start);
      const end = sep < 0 ? last : sep + 3; // through the element's '}'
      const element: unknown = JSON.parse(text.slice(start, end));
      if (!isObject(element)) return undefined;
      const conference = conferenceFromJson(element, refused);
      if (conference) out.push(conference);
      if (sep < 0) return { listed: out, refused };
      start = sep + SEP.length - 1; // the next element's '{'
    }
  } catch {
    return undefined;
  }
}

/**
 * Conference names from `conference list summary` (conference_api_sub_list without members): one
 * `Conference <name> (<n> member(s) rate: … flags: …)` line per conference, or `No active
 * conferences.`. FreeSWITCH 1.10 puts `+OK ` before the reply (fixtures: api-replies.txt); older
 * sources write none, and one conference is all the fixtures show, so the prefix is optional on every
 * line. A name with a space (printed raw; no `conference <name>` command could address it anyway)
 * or anything else unexpected gives undefined: the caller then lists everything at once. A name
 * FreeSWITCH could not have (control characters, too long) is left out and reported to `onRefused`,
 * as the whole listing would.
 */
export function parseListSummary(reply: string, onRefused?: OnRefused): string[] | undefined {
  const text = reply.trim();
  if (isEmptyReply(text)) return [];
  const names: string[] = [];
  const refused: Refusal[] = [];
  for (const line of text.split('\n')) {
    const m = /^(?:\+OK )?Conference (\S+) \(\d+ members? rate: /.exec(line);
    if (!m) return undefined;
    const name = checkedName(m[1]!, 'Conference', refused);
    if (name !== undefined) names.push(name);
  }
  return told(names, refused, onRefused);
}

// -----------------------------------------------------------------------------------------------
// xml_list (mod_conference writes a fixed, flat shape; a tiny tag reader is enough)

/** XML text → string; a character reference naming no XML character is an unrecognized reply. */
function xmlText(s: string): string {
  try {
    return xmlUnescape(s);
  } catch (err) {
    if (err instanceof EslProtocolError) throw new BadXmlText(err.message);
    throw err;
  }
}

/** Thrown inside the tag reader, turned into the command's UnrecognizedReplyError by parseXmlList. */
class BadXmlText extends Error {}

function xmlAttrs(tag: string): Json {
  const out: Json = {};
  const re = /([A-Za-z0-9_:-]+)="([^"]*)"/g;
  for (let m = re.exec(tag); m; m = re.exec(tag)) out[m[1]!] = xmlText(m[2]!);
  return out;
}

/** Child elements `<k>v</k>` that hold text only, as a flat record. */
function xmlLeaves(body: string): Json {
  const out: Json = {};
  const re = /<([A-Za-z0-9_:-]+)>([^<]*)<\/\1>/g;
  for (let m = re.exec(body); m; m = re.exec(body)) out[m[1]!] = xmlText(m[2]!);
  return out;
}

function xmlNum(o: Json, key: string): number {
  const n = Number(o[key]);
  return Number.isFinite(n) ? n : 0;
}

/** Parses the body of `conference xml_list` into the same shape as parseJsonList. */
export function parseXmlList(reply: string, command = 'conference xml_list', onRefused?: OnRefused): ListedConference[] {
  try {
    return readXmlList(reply, command, onRefused);
  } catch (err) {
    if (err instanceof BadXmlText) throw new UnrecognizedReplyError(command, err.message);
    throw err;
  }
}

function readXmlList(reply: string, command: string, onRefused: OnRefused | undefined): ListedConference[] {
  const text = reply.trim();
  if (isEmptyReply(text)) return [];
  if (!text.startsWith('<')) failNotFoundOrUnrecognized(command, text);
  if (!/<conferences\b/.test(text)) throw new UnrecognizedReplyError(command, text);
  const out: ListedConference[] = [];
  const refused: Refusal[] = [];
  const confRe = /<conference\s([^>]*)>([\s\S]*?)<\/conference>/g;
  for (let c = confRe.exec(text); c; c = confRe.exec(text)) {
    const attrs = xmlAttrs(c[1]!);
    const name = checkedName(str(attrs, 'name'), 'name', refused);
    if (name === undefined) continue;
    const inner = c[2]!;
    const members: ListedMember[] = [];
    const memRe = /<member\s([^>]*)>([\s\S]*?)<\/member>/g;
    for (let m = memRe.exec(inner); m; m = memRe.exec(inner)) {
      const mAttrs = xmlAttrs(m[1]!);
      const flagsMatch = /<flags>([\s\S]*?)<\/flags>/.exec(m[2]!);
      const flags = flagsMatch ? xmlLeaves(flagsMatch[1]!) : {};
      const leaves = xmlLeaves(m[2]!.replace(/<flags>[\s\S]*?<\/flags>/, ''));
      const lastTalking = Number(leaves.last_talking);
      const member = listedMember(leaves, flags, str(mAttrs, 'type') || 'caller', Number.isFinite(lastTalking) ? lastTalking : undefined);
      if (checkedMember(member, leaves.id, name, refused)) members.push(member);
    }
    const varsMatch = /<variables>([\s\S]*?)<\/variables>/.exec(inner);
    const variables: Record<string, string> = {};
    if (varsMatch) for (const [k, v] of Object.entries(xmlLeaves(varsMatch[1]!))) variables[k] = String(v);
    out.push({
      name,
      uuid: str(attrs, 'uuid'),
      memberCount: xmlNum(attrs, 'member-count'),
      ghostCount: xmlNum(attrs, 'ghost-count'),
      rate: xmlNum(attrs, 'rate'),
      runTimeSeconds: xmlNum(attrs, 'run_time'),
      locked: bool(attrs, 'locked'),
      recording: bool(attrs, 'recording'),
      running: bool(attrs, 'running'),
      answered: bool(attrs, 'answered'),
      dynamic: bool(attrs, 'dynamic'),
      variables,
      members,
    });
  }
  return told(out, refused, onRefused);
}
