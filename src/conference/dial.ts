/**
 * A conference `dial` (Kazoo's conference dial action): each endpoint is originated straight into the
 * conference, one `bgapi originate` per endpoint so a slow answer never holds a command connection:
 *
 *   originate {origination_uuid=<call id>,originate_timeout=<s>,origination_caller_id_name='<name>',
 *              origination_caller_id_number=<number>,<endpoint's own {vars}>}[<leg vars>]<target>
 *             &conference(<name>@<profile>+flags{mute|deaf|…})
 *
 * `origination_uuid` is preset so each endpoint's call id is known before it answers. mod_commands'
 * originate answers (the BACKGROUND_JOB body) `+OK <uuid>` once the leg answered and the conference
 * application was started on it, or `-ERR <hangup cause>` (switch_ivr_originate's cause: USER_BUSY,
 * NO_ANSWER after originate_timeout, CALL_REJECTED, NO_ROUTE_DESTINATION, …).
 */
import { InvalidArgumentError } from './errors.js';
import { parseDialString, type DialString } from './dial-string.js';

/** Kazoo's conference dial `participant_flags`, as mod_conference's member flags (conference_utils_set_mflags). */
export const PARTICIPANT_FLAGS = ['mute', 'deaf', 'moderator', 'mute-detect', 'dist-dtmf', 'nomoh', 'endconf', 'mandatory_member_endconf', 'ghost', 'join-only'] as const;
export type ParticipantFlag = (typeof PARTICIPANT_FLAGS)[number];
/** Most endpoints one dial may ring. */
export const MAX_DIAL_ENDPOINTS = 50;
/** Seconds each endpoint rings when the request names no timeout. */
export const DEFAULT_DIAL_TIMEOUT_S = 20;
export const MAX_DIAL_TIMEOUT_S = 300;
/** The name joined to `&conference(…)`: `@` and `+` separate its parts, `)` would end the application data. */
const JOINABLE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const PROFILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
const CALLER_ID_NAME = /^[\p{L}\p{N} ._@+#*()-]{1,64}$/u;
const CALLER_ID_NUMBER = /^[A-Za-z0-9+*#._-]{1,32}$/;
const CALL_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{7,63}$/;
const ENDPOINT_ID = /^[\x21-\x7e]{1,256}$/;

export interface DialEndpoint {
  /** A dial string (dial-string.ts grammar). */
  dialString: string;
  /** Names the endpoint in the reply (Kazoo's Endpoint-ID); default the dial string. */
  endpointId?: string;
  /** The leg's call id (Kazoo's Outbound-Call-ID); default a new UUID. */
  callId?: string;
}

export interface DialRequest {
  conference: string;
  endpoints: DialEndpoint[];
  callerIdName?: string;
  callerIdNumber?: string;
  /** Seconds each endpoint may ring (originate_timeout). */
  timeoutS?: number;
  /** Join flags of the dialled members. */
  flags?: string[];
  /** mod_conference profile; a profile FreeSWITCH does not know falls back to `default`. */
  profile?: string;
}

/** joined: answered and handed to the conference (the doors also wait for its add-member); the rest carry FreeSWITCH's hangup cause. */
export type DialResultKind = 'joined' | 'busy' | 'no_answer' | 'failed';

export interface DialOutcome {
  endpointId: string;
  callId: string;
  result: DialResultKind;
  /** FreeSWITCH's hangup cause when the leg did not join. */
  hangupCause?: string;
  /** Kazoo's message: `dialing endpoints` on success, the cause (or the failure) otherwise. */
  message: string;
}

export interface DialResult {
  conference: string;
  node: string;
  /** The profile the legs joined with (after any fallback). */
  profile: string;
  outcomes: DialOutcome[];
}

/** Runs a conference dial; ConferenceControl implements it. */
export interface ConferenceDialer {
  dial(request: DialRequest): Promise<DialResult>;
}

export interface PreparedLeg {
  endpointId: string;
  callId: string;
  dial: DialString;
}

export interface PreparedDial {
  conference: string;
  legs: PreparedLeg[];
  timeoutS: number;
  flags: ParticipantFlag[];
  profile: string;
  callerIdName: string | undefined;
  callerIdNumber: string | undefined;
}

function fail(field: string, message: string): never {
  throw new InvalidArgumentError(`${field}: ${message}`, { field });
}

/** Validates a dial request whole (every endpoint first), before any leg is originated. */
export function prepareDial(request: DialRequest, newCallId: () => string): PreparedDial {
  if (typeof request.conference !== 'string' || !JOINABLE_NAME.test(request.conference)) {
    fail('conference', 'a dialled conference name may hold only letters, digits and _ . - (the conference application reads @ and + in it)');
  }
  if (!Array.isArray(request.endpoints) || request.endpoints.length === 0) fail('endpoints', 'at least one endpoint');
  if (request.endpoints.length > MAX_DIAL_ENDPOINTS) fail('endpoints', `at most ${MAX_DIAL_ENDPOINTS}`);
  const seen = new Set<string>();
  const legs = request.endpoints.map((e, i): PreparedLeg => {
    const field = `endpoints.${i}`;
    const dial = parseDialString(e.dialString, field);
    if (e.endpointId !== undefined && !ENDPOINT_ID.test(e.endpointId)) fail(`${field}.endpoint_id`, 'printable, without spaces, 1-256 characters');
    if (e.callId !== undefined && !CALL_ID.test(e.callId)) fail(`${field}.outbound_call_id`, 'letters, digits and _ . -, 8-64 characters');
    const callId = e.callId ?? newCallId();
    if (seen.has(callId)) fail(`${field}.outbound_call_id`, 'two endpoints with one call id');
    seen.add(callId);
    return { endpointId: e.endpointId ?? e.dialString, callId, dial };
  });
  const timeoutS = request.timeoutS ?? DEFAULT_DIAL_TIMEOUT_S;
  if (!Number.isInteger(timeoutS) || timeoutS < 1 || timeoutS > MAX_DIAL_TIMEOUT_S) fail('timeout', `whole seconds, 1-${MAX_DIAL_TIMEOUT_S}`);
  const flags = [...new Set(request.flags ?? [])].map((f) => {
    if (!(PARTICIPANT_FLAGS as readonly string[]).includes(f)) fail('participant_flags', `unknown flag ${JSON.stringify(String(f).slice(0, 32))} (one of ${PARTICIPANT_FLAGS.join(', ')})`);
    return f as ParticipantFlag;
  });
  const profile = request.profile ?? 'default';
  if (typeof profile !== 'string' || !PROFILE_NAME.test(profile)) fail('profile_name', 'letters, digits and _ . -');
  if (request.callerIdName !== undefined && (typeof request.callerIdName !== 'string' || !CALLER_ID_NAME.test(request.callerIdName))) {
    fail('caller_id_name', 'letters, digits, spaces and . _ @ + # * ( ) -, at most 64 (no control characters or quotes)');
  }
  if (request.callerIdNumber !== undefined && (typeof request.callerIdNumber !== 'string' || !CALLER_ID_NUMBER.test(request.callerIdNumber))) {
    fail('caller_id_number', 'letters, digits and + * # . _ -, at most 32');
  }
  return { conference: request.conference, legs, timeoutS, flags, profile, callerIdName: request.callerIdName, callerIdNumber: request.callerIdNumber };
}

function varBlock(vars: ReadonlyArray<readonly [string, string]>): string {
  return vars.map(([k, v]) => `${k}=${v}`).join(',');
}

/** The `originate …` api command for one leg (without `bgapi `), joining the conference with `profile`. */
export function originateCommand(dial: PreparedDial, leg: PreparedLeg, profile: string): string {
  const vars: Array<[string, string]> = [
    ['origination_uuid', leg.callId],
    ['originate_timeout', String(dial.timeoutS)],
  ];
  // Single quotes keep a name's spaces inside the one argument (switch_separate_string).
  if (dial.callerIdName !== undefined) vars.push(['origination_caller_id_name', `'${dial.callerIdName}'`]);
  if (dial.callerIdNumber !== undefined) vars.push(['origination_caller_id_number', dial.callerIdNumber]);
  vars.push(...leg.dial.global);
  const legVars = leg.dial.leg.length > 0 ? `[${varBlock(leg.dial.leg)}]` : '';
  const flags = dial.flags.length > 0 ? `+flags{${dial.flags.join('|')}}` : '';
  return `originate {${varBlock(vars)}}${legVars}${leg.dial.target} &conference(${dial.conference}@${profile}${flags})`;
}

const NO_ANSWER_CAUSES: ReadonlySet<string> = new Set(['NO_ANSWER', 'NO_USER_RESPONSE', 'ALLOTTED_TIMEOUT', 'PROGRESS_TIMEOUT', 'RECOVERY_ON_TIMER_EXPIRE']);

/** What one leg's BACKGROUND_JOB body says: `+OK <uuid>` or `-ERR <CAUSE>`. */
export function dialOutcome(leg: PreparedLeg, body: string): DialOutcome {
  const text = body.trim();
  if (text.startsWith('+OK')) return { endpointId: leg.endpointId, callId: leg.callId, result: 'joined', message: 'dialing endpoints' };
  const m = /^-(?:ERR|USAGE)\s*(.*)$/s.exec(text);
  const said = (m?.[1] ?? text).split('\n')[0]!.trim();
  const cause = /^[A-Z_]+$/.test(said) ? said : undefined;
  const result: DialResultKind = cause === 'USER_BUSY' ? 'busy' : cause !== undefined && NO_ANSWER_CAUSES.has(cause) ? 'no_answer' : 'failed';
  const out: DialOutcome = { endpointId: leg.endpointId, callId: leg.callId, result, message: cause ?? (said.slice(0, 200) || 'unknown failure') };
  if (cause !== undefined) out.hangupCause = cause;
  return out;
}

/** A leg whose job never answered (node down, timeout): failed, with the error's text. */
export function failedOutcome(leg: PreparedLeg, err: unknown): DialOutcome {
  const message = err instanceof Error ? err.message : String(err);
  return { endpointId: leg.endpointId, callId: leg.callId, result: 'failed', message: message.slice(0, 200) };
}
