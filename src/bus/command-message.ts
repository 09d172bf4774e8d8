/**
 * Pure translation of AMQP command messages into ConferenceCommands, and of outcomes into replies.
 *
 * Two request forms (JSON bodies):
 *  1. Kazoo kapi_conference: `{"Event-Category":"conference","Event-Name":"command",
 *     "Application-Name":"mute_participant","Conference-ID":"c1","Participant-ID":3}`.
 *     Participant-ID may also be "all" | "last" | "non_moderator", or an array (bulk: one command
 *     per id, one reply listing each outcome).
 *  2. confmgr's own: `{"command": <ConferenceCommand>}` or `{"commands": [<ConferenceCommand>, ...]}`
 *     (src/conference/types.ts); `conference` may be omitted and is then taken from the routing key.
 * Mapping follows ecallmgr_conference_command.erl (kick → hup, relate mute/deaf → nospeak/nohear).
 *
 * Every message is bounded before any work is done on it: its size before JSON.parse, every list and
 * string after (both forms, the same caps), so one message can never cause more than MAX_BULK_COMMANDS
 * commands or a reply bigger than the reply cap (`encodeReply`).
 */
import { z } from 'zod';
import { parseJsonList } from '../conference/index.js';
import type { CommandResult, ConferenceCommand, DialEndpoint, DialRequest, DialResult, ListedMember, MemberTarget } from '../conference/index.js';
import { MAX_DIAL_ENDPOINTS } from '../conference/index.js';
import { ConfmgrError } from '../util/index.js';
import { CommandMessageTooLargeError, InvalidCommandMessageError, UnparsableCommandMessageError } from './errors.js';
import { parseRoutingKey } from './routing.js';

/**
 * Default cap on a command message body, checked before JSON.parse: far above the largest valid
 * message (1,000 commands), and times the prefetch, what the intake may hold at once.
 */
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;
/** Default cap on a serialised reply; a bulk reply past it keeps what fits plus a summary with counts. */
export const DEFAULT_MAX_REPLY_BYTES = 1024 * 1024;
/** Most commands one message may carry (Kazoo's Participant-ID list, confmgr's `commands`). */
export const MAX_BULK_COMMANDS = 1000;
/** Ids: conference, account, Msg-ID. The conference layer validates names further (128 chars). */
export const MAX_ID_LENGTH = 256;
/** Free text: file names, record paths, DTMF digits, `get` parameters. The conference layer checks them further. */
export const MAX_TEXT_LENGTH = 2048;

export const KAZOO_APPLICATIONS = [
  'mute_participant',
  'unmute_participant',
  'deaf_participant',
  'undeaf_participant',
  'kick',
  'lock',
  'unlock',
  'play',
  'stop_play',
  'record',
  'recordstop',
  'participant_energy',
  'participant_volume_in',
  'participant_volume_out',
  'relate_participants',
  'set',
  'tones',
  'say',
  'tts',
  'play_macro',
  'participants',
  'dial',
] as const;
type KazooApplication = (typeof KAZOO_APPLICATIONS)[number];

export interface ParsedCommandMessage {
  /** One command, or several for bulk forms. */
  commands: ConferenceCommand[];
  bulk: boolean;
  /** Kazoo Application-Name when the Kazoo form was used. */
  application?: string;
  /** Kazoo Msg-ID, echoed in the reply. */
  msgId?: string;
  /** `Account-ID` when the message carries one: the intake checks it against the conference's account. */
  accountId?: string;
  /**
   * Request/response messages answered with data instead of a command result: Kazoo's
   * `participants` (→ `participants_resp`) and `search_req` (→ `search_resp`), both from the
   * conference's `json_list`.
   */
  answer?: 'participants' | 'search';
  /** Kazoo's `dial` (answered with `dial_resp`); `commands` is empty then. */
  dial?: DialRequest;
}

/** The conferences a parsed message acts on (its commands', or the dial's). */
export function messageConferences(parsed: ParsedCommandMessage): string[] {
  return parsed.dial ? [parsed.dial.conference] : parsed.commands.map((c) => c.conference);
}

// ---------------------------------------------------------------------------------------------
// Shared value schemas

const memberId = z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,12}$/).transform(Number)]);
const target = z.union([memberId, z.enum(['all', 'last', 'non_moderator'])]);
const level = z.union([z.number().int(), z.string().regex(/^-?\d{1,12}$/).transform(Number)]);
const id = z.string().min(1).max(MAX_ID_LENGTH);
const text = z.string().min(1).max(MAX_TEXT_LENGTH);
const accountId = { 'Account-ID': id.optional() };

// ---------------------------------------------------------------------------------------------
// Kazoo form

/** Most tones one `tones` message may carry, and most files one `play_macro` may chain. */
const MAX_TONES = 32;
const MAX_MACRO_FILES = 32;

const toneNumber = (max: number) => z.union([z.number().int().min(0).max(max), z.string().regex(/^\d{1,6}$/).transform(Number)]);
/** kapi_dialplan TONES_REQ_TONE_HEADERS: Frequencies, Duration-ON, Duration-OFF; optional Volume, Repeat. */
const tone = z.looseObject({
  Frequencies: z.array(toneNumber(20_000)).min(1).max(8),
  'Duration-ON': toneNumber(600_000),
  'Duration-OFF': toneNumber(600_000),
  Volume: z.union([z.number().int().min(-100).max(100), z.string().regex(/^-?\d{1,3}$/).transform(Number)]).optional(),
  Repeat: toneNumber(10_000).optional(),
});
type Tone = z.infer<typeof tone>;

/**
 * ecallmgr_conference_command's `tones`: each tone as `v=<Volume>;l=<Repeat>;%(<on>,<off>,<freqs>)`,
 * joined with `;` into one tone_stream:// played to the conference.
 */
function toneStream(tones: Tone[]): string {
  const parts = tones.map((t) => {
    const vol = t.Volume === undefined ? '' : `v=${t.Volume};`;
    const repeat = t.Repeat === undefined ? '' : `l=${t.Repeat};`;
    return `${vol}${repeat}%(${t['Duration-ON']},${t['Duration-OFF']},${t.Frequencies.join(',')})`;
  });
  return `tone_stream://${parts.join(';')}`;
}

/**
 * `play_macro`: ecallmgr plays the files one after the other; FreeSWITCH's file_string:// does the same
 * in one play (files separated by `!`), so a file name may not contain `!`.
 */
function macroFile(files: string[], app: string): string {
  for (const f of files) {
    if (f.includes('!')) throw new InvalidCommandMessageError(`${app}: a Media-Macro file may not contain "!" (file_string:// separator)`, { field: 'Media-Macro' });
  }
  return `file_string://${files.join('!')}`;
}

const SET_PARAMETERS = { 'Max-Members': 'max_members', 'Caller-ID-Name': 'caller_id_name', 'Caller-ID-Number': 'caller_id_number' } as const;

const dialEndpoint = z.looseObject({
  Route: text,
  'Endpoint-ID': z.string().max(MAX_ID_LENGTH).optional(),
  'Outbound-Call-ID': z.string().max(MAX_ID_LENGTH).optional(),
});

/** kapi_conference `dial` → a DialRequest (the conference layer validates every value). */
function kazooDial(m: KazooMessage, conference: string): DialRequest {
  const list = need(m.Endpoints, 'Endpoints', 'dial');
  const shared = m['Outbound-Call-ID'];
  const endpoints = list.map((e): DialEndpoint => {
    const out: DialEndpoint = typeof e === 'string' ? { dialString: e } : { dialString: e.Route };
    if (typeof e !== 'string' && e['Endpoint-ID'] !== undefined) out.endpointId = e['Endpoint-ID'];
    const callId = (typeof e === 'string' ? undefined : e['Outbound-Call-ID']) ?? shared;
    if (callId !== undefined) out.callId = callId;
    return out;
  });
  const request: DialRequest = { conference, endpoints };
  if (m['Caller-ID-Name'] !== undefined) request.callerIdName = m['Caller-ID-Name'];
  if (m['Caller-ID-Number'] !== undefined) request.callerIdNumber = m['Caller-ID-Number'];
  if (m.Timeout !== undefined) request.timeoutS = m.Timeout;
  if (m['Participant-Flags'] !== undefined) request.flags = m['Participant-Flags'];
  if (m['Profile-Name'] !== undefined) request.profile = m['Profile-Name'];
  return request;
}

const kazooSchema = z.looseObject({
  'Event-Category': z.literal('conference').optional(),
  'Event-Name': z.literal('command').optional(),
  'Application-Name': z.enum(KAZOO_APPLICATIONS),
  'Conference-ID': id.optional(),
  'Participant-ID': z.union([target, z.array(target).min(1).max(MAX_BULK_COMMANDS)]).optional(),
  'Other-Participant': memberId.optional(),
  Relationship: z.enum(['deaf', 'mute', 'clear']).optional(),
  'Media-Name': text.optional(),
  Affects: z.enum(['current', 'all']).optional(),
  'Energy-Level': level.optional(),
  'Volume-In-Level': level.optional(),
  'Volume-Out-Level': level.optional(),
  'Msg-ID': z.string().max(MAX_ID_LENGTH).optional(),
  // kapi_conference SET_HEADERS: Parameter is one of Max-Members, Caller-ID-Name, Caller-ID-Number.
  Parameter: z.enum(['Max-Members', 'Caller-ID-Name', 'Caller-ID-Number']).optional(),
  Value: z.union([text, z.number().int().nonnegative().transform(String)]).optional(),
  // kapi_dialplan TONES_REQ_HEADERS (Tones) / TTS_REQ_HEADERS (Text) / CONF_PLAY_MACRO_REQ_HEADERS (Media-Macro).
  Tones: z.array(tone).min(1).max(MAX_TONES).optional(),
  Text: text.optional(),
  'Media-Macro': z.array(text).min(1).max(MAX_MACRO_FILES).optional(),
  // kapi_conference DIAL_HEADERS: Endpoints (a dial string, or an object whose Route is one), and the
  // optional Caller-ID-Name, Caller-ID-Number, Timeout, Participant-Flags, Profile-Name, Outbound-Call-ID,
  // Target-Call-ID, Custom-Channel-Vars, Custom-Application-Vars (the last three accepted, not used).
  Endpoints: z.array(z.union([text, dialEndpoint])).min(1).max(MAX_DIAL_ENDPOINTS).optional(),
  'Caller-ID-Name': z.string().max(MAX_TEXT_LENGTH).optional(),
  'Caller-ID-Number': z.string().max(MAX_TEXT_LENGTH).optional(),
  Timeout: z.union([z.number().int(), z.string().regex(/^\d{1,6}$/).transform(Number)]).optional(),
  'Participant-Flags': z.array(z.string().max(64)).max(32).optional(),
  'Profile-Name': z.string().max(MAX_TEXT_LENGTH).optional(),
  'Outbound-Call-ID': z.string().max(MAX_ID_LENGTH).optional(),
  'Target-Call-ID': z.string().max(MAX_ID_LENGTH).optional(),
  ...accountId,
});
type KazooMessage = z.infer<typeof kazooSchema>;

function need<T>(value: T | undefined, field: string, app: string): T {
  if (value === undefined) throw new InvalidCommandMessageError(`${app} requires ${field}`, { field, application: app });
  return value;
}

function asMember(t: MemberTarget, app: string): number {
  if (typeof t !== 'number') throw new InvalidCommandMessageError(`${app} needs a numeric Participant-ID, got "${t}"`);
  return t;
}

function kazooToCommands(m: KazooMessage, conference: string): ConferenceCommand[] {
  const app = m['Application-Name'];
  const pid = m['Participant-ID'];
  const targets: MemberTarget[] | undefined = pid === undefined ? undefined : Array.isArray(pid) ? pid : [pid];
  const each = (fn: (t: MemberTarget) => ConferenceCommand, fallback?: MemberTarget): ConferenceCommand[] => {
    const list = targets ?? (fallback !== undefined ? [fallback] : undefined);
    return need(list, 'Participant-ID', app).map(fn);
  };
  if (targets !== undefined && (app === 'set' || app === 'tones' || app === 'participants' || app === 'dial')) {
    // These act on the whole conference; a Participant-ID would be silently ignored, so it is refused.
    throw new InvalidCommandMessageError(`${app} takes no Participant-ID (it acts on the whole conference)`, { field: 'Participant-ID', application: app });
  }
  switch (app) {
    case 'lock':
    case 'unlock':
      return [{ kind: app, conference }];
    case 'mute_participant':
      return each((t) => ({ kind: 'mute', conference, target: t }));
    case 'unmute_participant':
      return each((t) => ({ kind: 'unmute', conference, target: t }));
    case 'deaf_participant':
      return each((t) => ({ kind: 'deaf', conference, target: t }));
    case 'undeaf_participant':
      return each((t) => ({ kind: 'undeaf', conference, target: t }));
    case 'kick':
      // ecallmgr: `hup <Participant-ID | last>`.
      return each((t) => ({ kind: 'hup', conference, target: t }), 'last');
    case 'participant_energy': {
      const value = need(m['Energy-Level'], 'Energy-Level', app);
      return each((t) => ({ kind: 'energy', conference, target: t, value }));
    }
    case 'participant_volume_in': {
      const value = need(m['Volume-In-Level'], 'Volume-In-Level', app);
      return each((t) => ({ kind: 'volume_in', conference, target: t, value }));
    }
    case 'participant_volume_out': {
      const value = need(m['Volume-Out-Level'], 'Volume-Out-Level', app);
      return each((t) => ({ kind: 'volume_out', conference, target: t, value }));
    }
    case 'relate_participants': {
      const other = need(m['Other-Participant'], 'Other-Participant', app);
      const rel = m.Relationship ?? 'clear';
      const relation = rel === 'mute' ? 'nospeak' : rel === 'deaf' ? 'nohear' : 'clear';
      return each((t) => ({ kind: 'relate', conference, member: asMember(t, app), other, relation }));
    }
    case 'play': {
      const file = need(m['Media-Name'], 'Media-Name', app);
      if (targets === undefined) return [{ kind: 'play', conference, file }];
      return targets.map((t) => ({ kind: 'play', conference, file, member: asMember(t, app) }));
    }
    case 'stop_play': {
      const which = m.Affects ?? 'all';
      if (targets === undefined) return [{ kind: 'stop', conference, which }];
      return targets.map((t) => ({ kind: 'stop', conference, which, member: asMember(t, app) }));
    }
    case 'record':
      return [{ kind: 'record', conference, path: need(m['Media-Name'], 'Media-Name', app) }];
    case 'recordstop':
      return [{ kind: 'norecord', conference, path: need(m['Media-Name'], 'Media-Name', app) }];
    case 'set': {
      // ecallmgr sends `set <Parameter> <Value>` verbatim, which mod_conference does not know
      // (`Max-Members`); confmgr sends mod_conference's own parameter names.
      const param = SET_PARAMETERS[need(m.Parameter, 'Parameter', app)];
      return [{ kind: 'set', conference, param, value: need(m.Value, 'Value', app) }];
    }
    case 'tones':
      return [{ kind: 'play', conference, file: toneStream(need(m.Tones, 'Tones', app)) }];
    case 'say':
    case 'tts': {
      const textValue = need(m.Text, 'Text', app);
      if (targets === undefined) return [{ kind: 'say', conference, text: textValue }];
      return targets.map((t) => ({ kind: 'say', conference, text: textValue, member: asMember(t, app) }));
    }
    case 'play_macro': {
      const file = macroFile(need(m['Media-Macro'], 'Media-Macro', app), app);
      if (targets === undefined) return [{ kind: 'play', conference, file }];
      return targets.map((t) => ({ kind: 'play', conference, file, member: asMember(t, app) }));
    }
    case 'participants':
      return [{ kind: 'json_list', conference }];
    case 'dial':
      return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Kazoo search_req (kapi_conference SEARCH_REQ_HEADERS: Conference-ID or Account-ID)

const searchSchema = z.looseObject({
  'Event-Category': z.literal('conference').optional(),
  'Event-Name': z.literal('search_req'),
  'Conference-ID': id.optional(),
  'Msg-ID': z.string().max(MAX_ID_LENGTH).optional(),
  ...accountId,
});

// ---------------------------------------------------------------------------------------------
// confmgr form: a ConferenceCommand with `conference` optional

const conf = { conference: id.optional() };
const memberActions = ['mute', 'unmute', 'tmute', 'deaf', 'undeaf', 'kick', 'hup', 'hold', 'unhold'] as const;
const commandSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.enum(['lock', 'unlock']), ...conf }),
  z.strictObject({ kind: z.enum(memberActions), ...conf, target, quiet: z.boolean().optional() }),
  z.strictObject({ kind: z.enum(['energy', 'volume_in', 'volume_out']), ...conf, target, value: z.number().int().optional() }),
  z.strictObject({ kind: z.literal('relate'), ...conf, member: memberId, other: memberId, relation: z.enum(['nospeak', 'nohear', 'clear']) }),
  z.strictObject({ kind: z.literal('dtmf'), ...conf, target, digits: text }),
  z.strictObject({ kind: z.literal('floor'), ...conf, member: memberId }),
  z.strictObject({ kind: z.literal('play'), ...conf, file: text, member: memberId.optional(), async: z.boolean().optional() }),
  z.strictObject({ kind: z.literal('stop'), ...conf, which: z.enum(['current', 'all']), member: memberId.optional() }),
  z.strictObject({ kind: z.literal('record'), ...conf, path: text }),
  z.strictObject({ kind: z.literal('norecord'), ...conf, path: text }),
  z.strictObject({ kind: z.literal('get'), ...conf, param: text }),
  z.strictObject({ kind: z.enum(['count', 'list', 'json_list']), ...conf }),
  z.strictObject({ kind: z.literal('set'), ...conf, param: z.enum(['max_members', 'caller_id_name', 'caller_id_number']), value: text }),
  z.strictObject({ kind: z.literal('say'), ...conf, text, member: memberId.optional() }),
]);
const ownSchema = z.union([
  z.strictObject({ command: commandSchema, ...accountId }),
  z.strictObject({ commands: z.array(commandSchema).min(1).max(MAX_BULK_COMMANDS), ...accountId }),
]);

// ---------------------------------------------------------------------------------------------

/** At most this much of zod's issue text goes into a reply (an unknown-keys issue lists every key). */
const MAX_ISSUE_TEXT = 500;

function issueText(error: z.ZodError): string {
  const text = error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
    .join('; ');
  return text.length > MAX_ISSUE_TEXT ? `${text.slice(0, MAX_ISSUE_TEXT)}…` : text;
}

function conferenceFromKey(routingKey: string): string | undefined {
  const parsed = parseRoutingKey(routingKey);
  return parsed?.kind === 'command' && parsed.conferenceId !== '' ? parsed.conferenceId : undefined;
}

/** Refuses a list longer than the cap before the schema walks it element by element. */
function checkListLength(value: unknown, field: string): void {
  if (Array.isArray(value) && value.length > MAX_BULK_COMMANDS) {
    throw new InvalidCommandMessageError(`${field} lists ${value.length} entries; at most ${MAX_BULK_COMMANDS} per message`, {
      field,
      count: value.length,
      limit: MAX_BULK_COMMANDS,
    });
  }
}

export interface ParseOptions {
  /** Bodies larger than this are refused before JSON.parse. Default DEFAULT_MAX_BODY_BYTES. */
  maxBodyBytes?: number;
}

/**
 * Parses one message body; throws InvalidCommandMessageError with a precise message otherwise, or
 * CommandMessageTooLargeError (before parsing) when the body is over the cap.
 */
export function parseCommandMessage(body: Buffer | string, routingKey: string, options: ParseOptions = {}): ParsedCommandMessage {
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (bytes > limit) throw new CommandMessageTooLargeError(bytes, limit);
  let json: unknown;
  try {
    json = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err) {
    throw new UnparsableCommandMessageError(`body is not JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new UnparsableCommandMessageError('body must be a JSON object');
  }
  const keyConference = conferenceFromKey(routingKey);

  if ((json as Record<string, unknown>)['Event-Name'] === 'search_req') {
    const r = searchSchema.safeParse(json);
    if (!r.success) throw new InvalidCommandMessageError(`invalid Kazoo search_req: ${issueText(r.error)}`);
    // A search by Account-ID alone (every conference of an account) spans instances: not answered here.
    const conference = r.data['Conference-ID'];
    if (conference === undefined) {
      throw new InvalidCommandMessageError('search_req: confmgr answers searches by Conference-ID only (an Account-ID search spans every instance)', {
        field: 'Conference-ID',
      });
    }
    const out: ParsedCommandMessage = { commands: [{ kind: 'json_list', conference }], bulk: false, application: 'search_req', answer: 'search' };
    if (r.data['Msg-ID'] !== undefined) out.msgId = r.data['Msg-ID'];
    if (r.data['Account-ID'] !== undefined) out.accountId = r.data['Account-ID'];
    return out;
  }

  if ('Application-Name' in json) {
    checkListLength((json as Record<string, unknown>)['Participant-ID'], 'Participant-ID');
    const r = kazooSchema.safeParse(json);
    if (!r.success) throw new InvalidCommandMessageError(`invalid Kazoo command: ${issueText(r.error)}`);
    const conference = r.data['Conference-ID'] ?? keyConference;
    if (conference === undefined) throw new InvalidCommandMessageError('Conference-ID is required');
    const commands = kazooToCommands(r.data, conference);
    const out: ParsedCommandMessage = {
      commands,
      bulk: Array.isArray(r.data['Participant-ID']),
      application: r.data['Application-Name'],
    };
    if (r.data['Application-Name'] === 'dial') out.dial = kazooDial(r.data, conference);
    if (r.data['Application-Name'] === 'participants') out.answer = 'participants';
    if (r.data['Msg-ID'] !== undefined) out.msgId = r.data['Msg-ID'];
    if (r.data['Account-ID'] !== undefined) out.accountId = r.data['Account-ID'];
    return out;
  }

  checkListLength((json as Record<string, unknown>)['commands'], 'commands');
  const r = ownSchema.safeParse(json);
  if (!r.success) {
    throw new InvalidCommandMessageError(
      `invalid command: expected {"command":{...}}, {"commands":[...]} or a Kazoo "Application-Name" message: ${issueText(r.error)}`,
    );
  }
  const list = 'command' in r.data ? [r.data.command] : r.data.commands;
  const commands = list.map((c) => {
    const conference = c.conference ?? keyConference;
    if (conference === undefined) throw new InvalidCommandMessageError('command.conference is required');
    return { ...c, conference } as ConferenceCommand;
  });
  const out: ParsedCommandMessage = { commands, bulk: 'commands' in r.data };
  if (r.data['Account-ID'] !== undefined) out.accountId = r.data['Account-ID'];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Replies

export interface ReplyError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export type ItemOutcome = { status: 'success'; result: CommandResult } | { status: 'error'; error: ReplyError };

export interface CommandReply {
  status: 'success' | 'error';
  /** Single command: its result. */
  result?: CommandResult;
  /** Bulk: one outcome per command, in request order. */
  results?: ItemOutcome[];
  error?: ReplyError;
  /** Bulk reply over the reply cap: `results` holds the first outcomes that fit, `summary` counts them all. */
  truncated?: true;
  summary?: ReplySummary;
  // Kazoo-style envelope
  'Event-Category': 'conference';
  'Event-Name': 'command_resp' | 'conference_error' | 'participants_resp' | 'search_resp' | 'command';
  'Application-Name'?: string;
  'Msg-ID'?: string;
  'Error-Message'?: string;
  // participants_resp / search_resp (kapi_conference PARTICIPANTS_RESP_HEADERS, SEARCH_RESP_HEADERS)
  'Conference-ID'?: string;
  Participants?: KazooParticipant[];
  UUID?: string;
  Running?: boolean;
  Answered?: boolean;
  Dynamic?: boolean;
  'Run-Time'?: number;
  Locked?: boolean;
  'Participant-Count'?: number;
  'Switch-Hostname'?: string;
  // dial_resp (kapi_conference DIAL_RESP_HEADERS)
  'Endpoint-Responses'?: KazooEndpointResponse[];
}

/**
 * One dialled endpoint in dial_resp: ecallmgr's success_resp (`Status` success, `Message` "dialing
 * endpoints", `Call-ID`) or error_resp (`Status` error, `Message` the hangup cause), with
 * `Endpoint-ID`; confmgr adds `Call-ID` to errors too, `Result` and `Hangup-Cause`.
 */
export interface KazooEndpointResponse {
  'Endpoint-ID': string;
  'Call-ID': string;
  Status: 'success' | 'error';
  Message: string;
  Result: string;
  'Hangup-Cause'?: string;
}

/** kapi_conference dial_resp: Event-Name `command`, Application-Name `dial_resp`, Endpoint-Responses. */
export function dialReply(parsed: Pick<ParsedCommandMessage, 'msgId'>, result: DialResult): CommandReply {
  const r: CommandReply = {
    status: 'success',
    'Event-Category': 'conference',
    'Event-Name': 'command',
    'Application-Name': 'dial_resp',
    'Conference-ID': result.conference,
    'Endpoint-Responses': result.outcomes.map((o) => {
      const e: KazooEndpointResponse = {
        'Endpoint-ID': o.endpointId,
        'Call-ID': o.callId,
        Status: o.result === 'joined' ? 'success' : 'error',
        Message: o.message,
        Result: o.result,
      };
      if (o.hangupCause !== undefined) e['Hangup-Cause'] = o.hangupCause;
      return e;
    }),
  };
  if (parsed.msgId !== undefined) r['Msg-ID'] = parsed.msgId;
  return r;
}

/** One participant as ecallmgr's participant_record_to_json lists it. */
export interface KazooParticipant {
  'Call-ID': string;
  'Conference-Name': string;
  'Participant-ID': number;
  Floor: boolean;
  Hear: boolean;
  Speak: boolean;
  Talking: boolean;
  'Mute-Detect': boolean;
  'Energy-Level': number;
  Video: boolean;
  'Is-Moderator': boolean;
  'Caller-ID-Name': string;
  'Caller-ID-Number': string;
  /** Seconds since the participant joined. */
  Duration: number;
}

function kazooParticipant(conference: string, m: ListedMember): KazooParticipant {
  return {
    'Call-ID': m.callId,
    'Conference-Name': conference,
    'Participant-ID': m.memberId,
    Floor: m.floor,
    Hear: m.hear,
    Speak: m.speak,
    Talking: m.talking,
    'Mute-Detect': m.muteDetect,
    'Energy-Level': m.energyLevel,
    Video: m.video,
    'Is-Moderator': m.isModerator,
    'Caller-ID-Name': m.callerIdName,
    'Caller-ID-Number': m.callerIdNumber,
    Duration: m.joinedSecondsAgo,
  };
}

/** participants_resp / search_resp from the conference's json_list result. */
function answerReply(base: CommandReply, answer: 'participants' | 'search', result: CommandResult): CommandReply {
  const conference = parseJsonList(result.reply, result.command)[0];
  if (conference === undefined) throw new Error(`json_list answered no conference (${result.command})`);
  const participants = conference.members.filter((m) => m.type === 'caller').map((m) => kazooParticipant(conference.name, m));
  if (answer === 'participants') {
    return { ...base, 'Event-Name': 'participants_resp', 'Conference-ID': conference.name, Participants: participants };
  }
  return {
    ...base,
    'Event-Name': 'search_resp',
    'Conference-ID': conference.name,
    UUID: conference.uuid,
    Running: conference.running,
    Answered: conference.answered,
    Dynamic: conference.dynamic,
    'Run-Time': conference.runTimeSeconds,
    Locked: conference.locked,
    'Participant-Count': participants.length,
    Participants: participants,
    'Switch-Hostname': result.node,
  };
}

export interface ReplySummary {
  total: number;
  succeeded: number;
  failed: number;
  /** Outcomes present in `results`: the first `included` of the request, in order. */
  included: number;
}

/** The one table mapping thrown values to reply errors: ConfmgrError codes pass through. */
export function toReplyError(err: unknown): ReplyError {
  if (err instanceof ConfmgrError) {
    return err.details === undefined
      ? { code: err.code, message: err.message }
      : { code: err.code, message: err.message, details: err.details };
  }
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

export function buildReply(
  outcomes: ItemOutcome[],
  parsed: Pick<ParsedCommandMessage, 'bulk' | 'application' | 'msgId' | 'answer'> | undefined,
  failure?: unknown,
): CommandReply {
  const envelope = (ok: boolean): CommandReply => {
    const r: CommandReply = {
      status: ok ? 'success' : 'error',
      'Event-Category': 'conference',
      'Event-Name': ok ? 'command_resp' : 'conference_error',
    };
    if (parsed?.application !== undefined) r['Application-Name'] = parsed.application;
    if (parsed?.msgId !== undefined) r['Msg-ID'] = parsed.msgId;
    return r;
  };
  if (failure !== undefined) {
    const r = envelope(false);
    r.error = toReplyError(failure);
    r['Error-Message'] = r.error.message;
    return r;
  }
  if (parsed?.bulk) {
    const failed = outcomes.filter((o) => o.status === 'error').length;
    const r = envelope(failed === 0);
    r.results = outcomes;
    if (failed > 0) {
      r.error = { code: 'PARTIAL_FAILURE', message: `${failed} of ${outcomes.length} commands failed` };
      r['Error-Message'] = r.error.message;
    }
    return r;
  }
  const only = outcomes[0];
  if (!only) return buildReply([], parsed, new Error('no command'));
  if (only.status === 'success') {
    if (parsed?.answer !== undefined) {
      try {
        return answerReply(envelope(true), parsed.answer, only.result);
      } catch (err) {
        return buildReply([], { ...parsed, answer: undefined }, err);
      }
    }
    const r = envelope(true);
    r.result = only.result;
    return r;
  }
  const r = envelope(false);
  r.error = only.error;
  r['Error-Message'] = only.error.message;
  return r;
}

/**
 * Serialises a reply within `maxBytes`, never building an oversized one: a bulk reply's outcomes are
 * serialised one at a time and stop at the cap (the reply then carries the outcomes that fit,
 * `truncated: true` and a summary with counts); a single reply over the cap becomes a
 * REPLY_TOO_LARGE error saying whether the command itself succeeded.
 */
export function encodeReply(reply: CommandReply, maxBytes = DEFAULT_MAX_REPLY_BYTES): Buffer {
  const { results, ...envelope } = reply;
  if (results === undefined) {
    const text = JSON.stringify(reply);
    const bytes = Buffer.byteLength(text);
    if (bytes <= maxBytes) return Buffer.from(text);
    const error: ReplyError = {
      code: 'REPLY_TOO_LARGE',
      message: `the reply is ${bytes} bytes; at most ${maxBytes} bytes are sent`,
      details: { bytes, limit: maxBytes, commandStatus: reply.status },
    };
    const r: CommandReply = { ...envelope, status: 'error', 'Event-Name': 'conference_error', error, 'Error-Message': error.message };
    delete r.result;
    return Buffer.from(JSON.stringify(r));
  }
  const failed = results.reduce((n, o) => n + (o.status === 'error' ? 1 : 0), 0);
  const summary: ReplySummary = { total: results.length, succeeded: results.length - failed, failed, included: results.length };
  // Room for the envelope with the summary (its numbers can only shrink) and `,"results":[]`.
  let budget = maxBytes - Buffer.byteLength(JSON.stringify({ ...envelope, truncated: true, summary })) - 16;
  const parts: string[] = [];
  for (const outcome of results) {
    const part = JSON.stringify(outcome);
    const cost = Buffer.byteLength(part) + 1;
    if (cost > budget) break;
    budget -= cost;
    parts.push(part);
  }
  const head: CommandReply = parts.length === results.length ? envelope : { ...envelope, truncated: true, summary: { ...summary, included: parts.length } };
  return Buffer.from(`${JSON.stringify(head).slice(0, -1)},"results":[${parts.join(',')}]}`);
}
