/**
 * Argument validation for everything that becomes part of a `conference …` api line.
 * mod_conference splits its arguments on spaces (switch_separate_string) and reads numbers with
 * atoi(), so anything with whitespace, quotes or control characters would silently change the
 * command's meaning. We refuse those before a byte reaches the wire, with InvalidArgumentError.
 */
import { InvalidArgumentError } from './errors.js';
import type { MemberTarget } from './types.js';

/** Keywords mod_conference accepts where a member id goes. */
export const TARGET_KEYWORDS = ['all', 'last', 'non_moderator'] as const;

/**
 * Conference names: a letter or digit, then letters, digits and `_ . @ + = : -`; at most 128 chars.
 * Covers Kazoo's 32-hex ids, UUIDs and `name@profile` forms; refuses anything FreeSWITCH would split.
 */
export const CONFERENCE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.@+=:-]{0,127}$/;

/**
 * Names that `conference <name> …` treats specially when no conference of that name exists
 * (`conference list …` lists every conference and answers success). Refused so a typo can never
 * turn a targeted command into a global one.
 */
export const RESERVED_CONFERENCE_NAMES: ReadonlySet<string> = new Set(['list', 'xml_list', 'json_list', 'help', 'commands', 'count']);

/** Member ids are uint32 in FreeSWITCH but read with atoi(): keep them within a positive int32. */
export const MAX_MEMBER_ID = 2_147_483_647;

/** switch_normalize_volume clamps volume levels to -4..4. */
export const VOLUME_MIN = -4;
export const VOLUME_MAX = 4;

/** Energy thresholds are non-negative ints (atoi); FreeSWITCH has no upper bound, we cap at int32. */
export const ENERGY_MAX = 2_147_483_647;

/** File paths / URLs (play, record): long enough for real paths, short enough to stay sane. */
export const MAX_PATH_LENGTH = 1024;

/** DTMF digits FreeSWITCH queues: 0-9 * # A-D (either case). */
export const DIGITS_RE = /^[0-9*#A-Da-d]{1,128}$/;

/** Parameters `conference <name> get <param>` answers (conference_api_sub_get). */
export const GET_PARAMS = [
  'run_time',
  'count',
  'count_ghosts',
  'max_members',
  'rate',
  'profile_name',
  'sound_prefix',
  'caller_id_name',
  'caller_id_number',
  'is_locked',
  'endconference_grace_time',
  'uuid',
  'wait_mod',
] as const;
export type GetParam = (typeof GET_PARAMS)[number];
const GET_PARAM_SET: ReadonlySet<string> = new Set(GET_PARAMS);

function describe(value: unknown): unknown {
  return typeof value === 'string' ? value.slice(0, 64) : value;
}

function fail(field: string, message: string, value: unknown): never {
  throw new InvalidArgumentError(`${field}: ${message}`, { field, value: describe(value) });
}

export function assertConferenceName(name: unknown, field = 'conference'): asserts name is string {
  if (typeof name !== 'string') fail(field, 'must be a string', name);
  if (!CONFERENCE_NAME_RE.test(name)) {
    fail(field, 'must be 1-128 characters of letters, digits and _ . @ + = : - (starting with a letter or digit)', name);
  }
  if (RESERVED_CONFERENCE_NAMES.has(name.toLowerCase())) fail(field, `"${name}" is a reserved mod_conference keyword`, name);
}

export function assertMemberId(id: unknown, field = 'member'): asserts id is number {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > MAX_MEMBER_ID) {
    fail(field, `must be an integer between 1 and ${MAX_MEMBER_ID}`, id);
  }
}

export function assertMemberTarget(target: unknown, field = 'target'): asserts target is MemberTarget {
  if (typeof target === 'string') {
    if ((TARGET_KEYWORDS as readonly string[]).includes(target)) return;
    fail(field, `must be a member id or one of ${TARGET_KEYWORDS.join(', ')}`, target);
  }
  assertMemberId(target, field);
}

/**
 * A file path, URL or tone_stream:// spec. No whitespace (FreeSWITCH would split it into two
 * arguments), no quotes (switch_separate_string gives them meaning), no control characters.
 */
export function assertFilePath(path: unknown, field = 'file'): asserts path is string {
  if (typeof path !== 'string' || path.length === 0) fail(field, 'must be a non-empty string', path);
  if (path.length > MAX_PATH_LENGTH) fail(field, `must be at most ${MAX_PATH_LENGTH} characters`, path);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(path)) fail(field, 'must not contain control characters', path);
  if (/\s/.test(path)) fail(field, 'must not contain whitespace (FreeSWITCH splits arguments on spaces)', path);
  if (/["']/.test(path)) fail(field, 'must not contain quote characters', path);
}

export function assertDigits(digits: unknown, field = 'digits'): asserts digits is string {
  if (typeof digits !== 'string' || !DIGITS_RE.test(digits)) fail(field, 'must be 1-128 DTMF digits (0-9 * # A-D)', digits);
}

export function assertEnergy(value: unknown, field = 'value'): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > ENERGY_MAX) {
    fail(field, 'energy must be a non-negative integer', value);
  }
}

export function assertVolume(value: unknown, field = 'value'): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < VOLUME_MIN || value > VOLUME_MAX) {
    fail(field, `volume must be an integer between ${VOLUME_MIN} and ${VOLUME_MAX}`, value);
  }
}

export function assertGetParam(param: unknown, field = 'param'): asserts param is GetParam {
  if (typeof param !== 'string' || !GET_PARAM_SET.has(param)) fail(field, `must be one of ${GET_PARAMS.join(', ')}`, param);
}

export function assertBoolean(value: unknown, field: string): asserts value is boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') fail(field, 'must be a boolean', value);
}

/** Parameters `conference <name> set` may change through confmgr (a subset of conference_api_sub_set's). */
export const SET_PARAMS = ['max_members', 'caller_id_name', 'caller_id_number'] as const;
const SET_PARAM_SET: ReadonlySet<string> = new Set(SET_PARAMS);

/** Caller id values: what a SIP display name / user part can carry without a space (set splits on them). */
export const MAX_CALLER_ID_LENGTH = 128;

/** Longest text `say` / `saymember` sends to the TTS engine. */
export const MAX_SAY_TEXT_LENGTH = 1024;

export function assertSetParam(param: unknown, field = 'param'): asserts param is (typeof SET_PARAMS)[number] {
  if (typeof param !== 'string' || !SET_PARAM_SET.has(param)) fail(field, `must be one of ${SET_PARAMS.join(', ')}`, param);
}

/**
 * A `set` value. conference_api_sub_set insists on exactly four words (`<name> set <param> <value>`),
 * so a value with a space would be refused by FreeSWITCH with a usage text: refused here instead, with
 * the reason. max_members is read with atoi and must be >= 0.
 */
export function assertSetValue(param: string, value: unknown, field = 'value'): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) fail(field, 'must be a non-empty string', value);
  if (param === 'max_members') {
    if (!/^\d{1,9}$/.test(value)) fail(field, 'max_members must be a non-negative integer (0: no limit)', value);
    return;
  }
  if (value.length > MAX_CALLER_ID_LENGTH) fail(field, `must be at most ${MAX_CALLER_ID_LENGTH} characters`, value);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) fail(field, 'must not contain control characters', value);
  if (/\s/.test(value)) fail(field, 'must not contain whitespace (mod_conference `set` takes exactly one word)', value);
  if (/["']/.test(value)) fail(field, 'must not contain quote characters', value);
}

/**
 * Text for `say` / `saymember`. mod_conference takes the rest of the line as the text, so spaces are
 * fine; line breaks would end the ESL command, and `saymember` expands `${…}` channel variables in
 * it (a way to read a channel's variables back), so `$` is refused.
 */
export function assertSayText(text: unknown, field = 'text'): asserts text is string {
  if (typeof text !== 'string' || text.trim().length === 0) fail(field, 'must be non-empty text', text);
  if (text.length > MAX_SAY_TEXT_LENGTH) fail(field, `must be at most ${MAX_SAY_TEXT_LENGTH} characters`, text);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(text)) fail(field, 'must not contain control characters or line breaks', text);
  if (text.includes('$')) fail(field, 'must not contain "$" (saymember expands ${…} channel variables)', text);
  if (text !== text.trim()) fail(field, 'must not start or end with whitespace', text);
}

/**
 * `say` / `saymember` find their text with strstr(line, "say"/"saymember") over the whole command line,
 * conference name included: a name containing the subcommand word would make FreeSWITCH speak part of
 * the name. Such names are refused for these two commands.
 */
export function assertSayConference(conference: string, subcommand: 'say' | 'saymember'): void {
  if (conference.includes(subcommand)) {
    fail('conference', `a conference whose name contains "${subcommand}" cannot use ${subcommand} (mod_conference finds the text by searching the line for "${subcommand}")`, conference);
  }
}
