/**
 * `CUSTOM conference::maintenance` EslEvent → typed ConferenceEvent. Pure.
 *
 * Every such event becomes a ConferenceEvent: actions we know get `known: true`, any other Action
 * passes through with `known: false`. Only an event carrying a value FreeSWITCH could not have sent
 * (a Member-ID that is not a positive integer, a Conference-Name no command could address: see
 * refusals.ts) is dropped, and reported to `onRefused`. Header facts, from the fixtures:
 * - conference fields: Conference-Name / -Unique-ID / -Domain / -Profile-Name / -Size / -Ghosts;
 * - member events carry Member-ID and the other member fields' headers (member-fields.ts: Member-Type
 *   `moderator` | `member`, Unique-ID of the member's channel, caller id, flags, energy levels);
 * - floor-change carries Old-ID / New-ID (`none` or an id); its member fields describe the new
 *   holder and are absent when New-ID is `none`;
 * - with verbose events, channel variables arrive as `variable_<name>` headers.
 */
import { eachHeaderWithPrefix, headerLookup, type EslEvent } from '../esl/index.js';
import type { ConferenceEvent, MemberState } from './types.js';
import { keptChannelVars } from './channel-vars.js';
import { MEMBER_FIELDS, MEMBER_HEADERS, objectBuilder, type MemberField } from './member-fields.js';
import { conferenceNameProblem, memberIdProblem, refusedValue, type OnRefused } from './refusals.js';

export const CONFERENCE_EVENT_NAME = 'CUSTOM';
export const CONFERENCE_SUBCLASS = 'conference::maintenance';

/**
 * Every Action mod_conference (FreeSWITCH 1.10) fires on conference::maintenance that we know of
 * (the 27 of the fixtures plus those in mod_conference's source), with what it describes: one member
 * (the event has member fields, except floor-change to none) or the conference.
 */
const ACTION_SCOPES: Readonly<Record<string, 'member' | 'conference'>> = {
  // conference lifecycle and state
  'conference-create': 'conference',
  'conference-destroy': 'conference',
  'lock': 'conference',
  'unlock': 'conference',
  'exit-sounds-on': 'conference',
  'exit-sounds-off': 'conference',
  'exit-sound-file-changed': 'conference',
  'enter-sounds-on': 'conference',
  'enter-sounds-off': 'conference',
  'enter-sound-file-changed': 'conference',
  // membership
  'add-member': 'member',
  'del-member': 'member',
  'kick-member': 'member',
  'hup-member': 'member',
  'transfer': 'member',
  'bgdial-result': 'conference',
  // member state
  'start-talking': 'member',
  'stop-talking': 'member',
  'mute-member': 'member',
  'unmute-member': 'member',
  'vmute-member': 'member',
  'unvmute-member': 'member',
  'deaf-member': 'member',
  'undeaf-member': 'member',
  'hold-member': 'member',
  'unhold-member': 'member',
  'mute-detect': 'member',
  'floor-change': 'conference',
  'video-floor-change': 'conference',
  'energy-level': 'conference',
  'energy-level-member': 'member',
  'volume-level': 'conference',
  'volume-in-member': 'member',
  'volume-out-member': 'member',
  'gain-level': 'conference',
  'set-position-member': 'member',
  'dtmf': 'conference',
  'dtmf-member': 'member',
  'execute_app': 'conference',
  // media
  'play-file': 'conference',
  'play-file-done': 'conference',
  'play-file-member': 'member',
  'play-file-member-done': 'member',
  'speak-text': 'conference',
  'speak-text-member': 'member',
  'start-recording': 'conference',
  'stop-recording': 'conference',
  'pause-recording': 'conference',
  'resume-recording': 'conference',
};

/** Every Action we know of, in ACTION_SCOPES' order. */
export const KNOWN_ACTIONS: ReadonlySet<string> = new Set(Object.keys(ACTION_SCOPES));

/**
 * Participant events confmgr publishes itself, beside FreeSWITCH's: `refuse-member`, a caller the
 * entry service turned away (locked, full, no valid PIN). `publish_participant_event` may list them.
 */
export const CONFMGR_ACTIONS: ReadonlySet<string> = new Set(['refuse-member']);

/** Actions that describe one member (the event has member fields, except floor-change to none). */
export const MEMBER_ACTIONS: ReadonlySet<string> = new Set(Object.keys(ACTION_SCOPES).filter((a) => ACTION_SCOPES[a] === 'member'));

type DetailType = 'int' | 'float' | 'bool' | 'string' | 'id';

/**
 * Action-specific headers and how to type them. `id` is a member id or `none` (→ null).
 * Headers not listed here and not part of the common/member/channel sets are kept as strings.
 */
export const DETAIL_TYPES: Readonly<Record<string, DetailType>> = {
  'Old-ID': 'id',
  'New-ID': 'id',
  File: 'string',
  Async: 'bool',
  seconds: 'int',
  milliseconds: 'int',
  samples: 'int',
  Path: 'string',
  'Other-Recordings': 'bool',
  'Samples-Out': 'int',
  Samplerate: 'int',
  'Milliseconds-Elapsed': 'int',
  'Record-File-Size': 'int',
  Digits: 'string',
  'Volume-Level': 'int',
  'Gain-Level': 'int',
  'Hangup-Cause': 'string',
  'Old-Conference-Name': 'string',
  'New-Conference-Name': 'string',
  Text: 'string',
  Result: 'string',
  'Job-UUID': 'string',
  Position: 'string',
  'talking-gate-hits': 'int',
  'talking-total-packets': 'int',
  'talking-duration-ms': 'int',
  'talking-average-energy': 'float',
  'talking-delta-average': 'float',
  'talking-hit-on-percent': 'float',
  'talking-non-hit-ratio': 'float',
  'talking-hit-off-percent': 'float',
  'talking-hit-off-differential': 'float',
};

/** Headers every FreeSWITCH event has, or that ConferenceEvent / MemberState already carry. */
const COMMON_HEADERS: ReadonlySet<string> = new Set([
  'Action',
  'Core-UUID',
  'Event-Name',
  'Event-Subclass',
  'Event-Date-Local',
  'Event-Date-GMT',
  'Event-Date-Timestamp',
  'Event-Calling-File',
  'Event-Calling-Function',
  'Event-Calling-Line-Number',
  'Event-Sequence',
  'FreeSWITCH-Hostname',
  'FreeSWITCH-Switchname',
  'FreeSWITCH-IPv4',
  'FreeSWITCH-IPv6',
  'Conference-Name',
  'Conference-Domain',
  'Conference-Size',
  'Conference-Ghosts',
  'Conference-Profile-Name',
  'Conference-Unique-ID',
  'Unique-ID',
  'Call-Direction',
  'Presence-Call-Direction',
  'Answer-State',
  'Content-Length',
  // Member fields (a member-level Energy-Level is one; a conference-level one is a detail, below).
  ...MEMBER_HEADERS,
]);
/** Channel/caller-profile header families (conference_member_add_event_data adds them). */
const COMMON_PREFIX_RE = /^(?:Channel-|Caller-|variable_|Other-Leg-|Presence-)/;

function isCommon(name: string): boolean {
  return COMMON_HEADERS.has(name) || COMMON_PREFIX_RE.test(name);
}

export function parseBool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  // FreeSWITCH writes `true` / `false`: answered without the lowercased copy.
  if (value === 'true') return true;
  if (value === 'false') return false;
  const v = value.toLowerCase();
  if (v === 'true' || v === 'yes' || v === '1') return true;
  if (v === 'false' || v === 'no' || v === '0') return false;
  return fallback;
}

export function parseIntHeader(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (isPlainInteger(value)) return Number(value);
  if (!/^-?\d+$/.test(value.trim())) return fallback;
  return Number(value.trim());
}

/**
 * `/^-?\d+$/` by a loop over the characters (the headers read as integers come with every event; a
 * value with surrounding whitespace fails it and takes the trimming path).
 */
function isPlainInteger(value: string): boolean {
  const n = value.length;
  let i = n > 0 && value.charCodeAt(0) === 0x2d ? 1 : 0;
  if (i === n) return false;
  for (; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function typed(type: DetailType, value: string): string | number | boolean | null {
  switch (type) {
    case 'int':
      return /^-?\d+$/.test(value) ? Number(value) : value;
    case 'float': {
      const n = Number(value);
      return value.trim() !== '' && Number.isFinite(n) ? n : value;
    }
    case 'bool':
      return value === 'true' ? true : value === 'false' ? false : value;
    case 'id':
      return value === 'none' || value === '' ? null : /^\d+$/.test(value) ? Number(value) : value;
    case 'string':
      return value;
  }
}

/** True for `CUSTOM conference::maintenance` events. */
export function isConferenceEvent(event: EslEvent): boolean {
  return event.name === CONFERENCE_EVENT_NAME && event.subclass === CONFERENCE_SUBCLASS;
}

/** Reads one header by name (an index lookup for an event decoded selectively, else the object's key). */
type Get = (name: string) => string | undefined;

/**
 * Reads one member field from an event's headers: the first of its headers present, else a fresh
 * member's value. Made once per field (the header name and the parse fixed), as events are many.
 */
function headerReader(f: MemberField): (get: Get) => boolean | number | string {
  const names = f.headers;
  const first = names[0]!;
  const fresh = f.fresh;
  const text: (get: Get) => string | undefined =
    names.length === 1
      ? (get) => get(first)
      : (get) => {
          for (const name of names) {
            const value = get(name);
            if (value !== undefined) return value;
          }
          return undefined;
        };
  const wording = f.wording;
  if (wording) {
    return (get) => {
      const t = text(get);
      return t === undefined ? fresh : wording.parse(t);
    };
  }
  switch (f.type) {
    case 'flag':
      return (get) => parseBool(text(get), fresh as boolean);
    case 'int':
      return (get) => parseIntHeader(text(get), fresh as number);
    case 'text':
      return (get) => text(get) ?? fresh;
  }
}

/**
 * Every member field from the headers, then the channel variables, then the channel name and presence
 * id when the event has them (keys of the literal, not added after it: no property store grown per event).
 */
const buildMember = objectBuilder<Get, Record<string, string>>([
  ...MEMBER_FIELDS.map((f) => ({ key: f.key, value: headerReader(f) })),
  { key: 'channelVars', value: (_get, channelVars) => channelVars },
  { key: 'channelName', optional: true, value: (get) => get('Channel-Name') ?? get('Caller-Channel-Name') },
  { key: 'presenceId', optional: true, value: (get, channelVars) => get('Channel-Presence-ID') ?? channelVars['presence_id'] },
]);

/**
 * The member an event describes, or undefined when it has no Member-ID (or one that is not a
 * positive integer: parseConferenceEvent refuses such an event). Flags missing from the
 * event take FreeSWITCH's defaults for a fresh member (hear/speak/see on, everything else off).
 */
export function memberFromHeaders(
  h: Readonly<Record<string, string>>,
  channelVars: Record<string, string> = keptChannelVars(h),
): MemberState | undefined {
  return memberFrom((name) => h[name], channelVars);
}

function memberFrom(get: Get, channelVars: Record<string, string>): MemberState | undefined {
  if (memberIdProblem(parseIntHeader(get('Member-ID'), NaN)) !== undefined) return undefined;
  return checkedMemberFrom(get, channelVars);
}

/** memberFrom for headers whose Member-ID is known to be valid. */
function checkedMemberFrom(get: Get, channelVars: Record<string, string>): MemberState {
  return buildMember(get, channelVars) as unknown as MemberState;
}

/**
 * Action-specific values: every header that is not common (a conference-level Energy-Level is one;
 * a member's is in MemberState), typed by DETAIL_TYPES.
 */
function detailsOf(h: Readonly<Record<string, string>>, hasMember: boolean): Record<string, string | number | boolean | null> {
  const details: Record<string, string | number | boolean | null> = {};
  eachHeaderWithPrefix(h, '', (name, value) => {
    if (name.startsWith('variable_')) return;
    const type = DETAIL_TYPES[name];
    if (type !== undefined) details[name] = typed(type, value);
    else if (name === 'Energy-Level') {
      if (!hasMember) details[name] = typed('int', value);
    } else if (!isCommon(name)) details[name] = value;
  });
  return details;
}

/** Sets `details` on an event as an ordinary property (what the lazy accessor turns into). */
function setDetails(event: object, value: ConferenceEvent['details']): void {
  Object.defineProperty(event, 'details', { value, writable: true, enumerable: true, configurable: true });
}

/**
 * A received event's `details`, built when first read (a member event's payload has none), then an
 * ordinary property. One accessor pair shared by every event: an object literal with its own get/set
 * closures, given the optional fields after it, fell into V8's dictionary mode (every field read a hash
 * lookup downstream, the property dictionary garbage per event); with these every event keeps one of a
 * few fast shapes, and copies (spread, JSON) see `details` as before.
 */
const LAZY_DETAILS: PropertyDescriptor = {
  get(this: ConferenceEvent) {
    const value = detailsOf(this.headers, this.member !== undefined);
    setDetails(this, value);
    return value;
  },
  set(this: ConferenceEvent, value: ConferenceEvent['details']) {
    setDetails(this, value);
  },
  enumerable: true,
  configurable: true,
};

/**
 * Parses a `CUSTOM conference::maintenance` event from node `node`. Returns undefined for any
 * other event (not ours to interpret) and for a conference event refused (told to `onRefused`);
 * every other conference event yields a ConferenceEvent.
 */
export function parseConferenceEvent(event: EslEvent, node: string, onRefused?: OnRefused): ConferenceEvent | undefined {
  if (!isConferenceEvent(event)) return undefined;
  // Only the headers read here are decoded (an event decoded selectively turns the rest into strings
  // only if someone reads `headers` whole or `details`).
  const get = headerLookup(event);
  const action = get('Action') ?? '';
  const conferenceName = get('Conference-Name');
  const nameProblem = conferenceNameProblem(conferenceName);
  if (nameProblem !== undefined) {
    onRefused?.({ dropped: 'event', field: 'Conference-Name', value: refusedValue(conferenceName), reason: nameProblem, action });
    return undefined;
  }
  const memberId = get('Member-ID');
  const idProblem = memberId === undefined ? undefined : memberIdProblem(parseIntHeader(memberId, NaN));
  if (idProblem !== undefined) {
    onRefused?.({ dropped: 'event', field: 'Member-ID', value: refusedValue(memberId), reason: idProblem, action });
    return undefined;
  }
  const h = event.headers;
  const hasMember = memberId !== undefined;
  const member = hasMember ? checkedMemberFrom(get, channelVarsOf(h)) : undefined;
  const out = {
    action,
    known: KNOWN_ACTIONS.has(action),
    node,
    switchname: get('FreeSWITCH-Switchname') ?? get('FreeSWITCH-Hostname') ?? '',
    coreUuid: get('Core-UUID') ?? '',
    conferenceName: conferenceName ?? '',
    conferenceUuid: get('Conference-Unique-ID') ?? '',
    timestampUs: parseIntHeader(get('Event-Date-Timestamp'), 0),
    sequence: parseIntHeader(get('Event-Sequence'), 0),
    synthesized: false,
    // Shared with the EslEvent, not copied (copying every header would cost more than the whole parse).
    headers: h as Record<string, string>,
  } as ConferenceEvent;
  Object.defineProperty(out, 'details', LAZY_DETAILS);
  const domain = get('Conference-Domain');
  if (domain !== undefined) out.conferenceDomain = domain;
  const profile = get('Conference-Profile-Name');
  if (profile !== undefined) out.profile = profile;
  const size = parseIntHeader(get('Conference-Size'), NaN);
  if (Number.isInteger(size)) out.conferenceSize = size;
  if (member !== undefined) out.member = member;
  return out;
}

/** Every `variable_<name>` header as { name: value } (a member's channel variables). */
function channelVarsOf(h: Readonly<Record<string, string>>): Record<string, string> {
  const vars: Record<string, string> = {};
  eachHeaderWithPrefix(h, 'variable_', (name, value) => {
    vars[name.slice(9)] = value;
  });
  return vars;
}
