/**
 * Kazoo's conference `dial` action over REST (cb_conferences.erl `dial/3`):
 *   PUT /v2/accounts/{A}/conferences/{C}
 *   {"data": {"action": "dial", "data": {"endpoints": [...], "caller_id_name", "caller_id_number",
 *             "timeout", "participant_flags": [...], "profile_name", "outbound_call_id"}}}
 * answered 202 as crossbar's `response_202(<<"attempted dial">>, Resp, Context)` does, Resp being the
 * normalized dial_resp: `{"endpoint_responses": [{"endpoint_id", "call_id", "status", "message"}, …]}`
 * (ecallmgr's success_resp / error_resp), to which confmgr adds `result` (joined / busy / no_answer /
 * failed) and `hangup_cause`.
 * An endpoint is a FreeSWITCH dial string (src/conference/dial-string.ts grammar), or an object
 * `{"route": <dial string>, "endpoint_id"?, "outbound_call_id"?}` (Kazoo's Route / Endpoint-ID /
 * Outbound-Call-ID). Kazoo's device, user and number ids are not resolved: confmgr has no directory.
 */
import type { DialEndpoint, DialOutcome, DialRequest, DialResult } from '../../conference/index.js';
import { DEFAULT_DIAL_TIMEOUT_S, MAX_DIAL_ENDPOINTS, MAX_DIAL_TIMEOUT_S, PARTICIPANT_FLAGS } from '../../conference/index.js';
import { ValidationError } from '../errors.js';

type Json = Record<string, unknown>;

/** The dial's `data` object, as a JSON schema (the route's body schema applies it when the action is dial). */
export const DIAL_DATA_SCHEMA = {
  type: 'object',
  required: ['endpoints'],
  properties: {
    endpoints: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_DIAL_ENDPOINTS,
      items: {
        oneOf: [
          { type: 'string', minLength: 1, maxLength: 1024 },
          {
            type: 'object',
            required: ['route'],
            properties: {
              route: { type: 'string', minLength: 1, maxLength: 1024 },
              endpoint_id: { type: 'string', minLength: 1, maxLength: 256 },
              outbound_call_id: { type: 'string', minLength: 8, maxLength: 64 },
            },
          },
        ],
      },
    },
    caller_id_name: { type: 'string', minLength: 1, maxLength: 64 },
    caller_id_number: { type: 'string', minLength: 1, maxLength: 32 },
    timeout: { type: 'integer', minimum: 1, maximum: MAX_DIAL_TIMEOUT_S, default: DEFAULT_DIAL_TIMEOUT_S },
    participant_flags: { type: 'array', maxItems: PARTICIPANT_FLAGS.length, items: { type: 'string', enum: [...PARTICIPANT_FLAGS] } },
    profile_name: { type: 'string', minLength: 1, maxLength: 64 },
    outbound_call_id: { type: 'string', minLength: 8, maxLength: 64 },
  },
} as const;

/** One endpoint's outcome as the REST reply lists it. */
export const DIAL_RESPONSE_SCHEMA = {
  type: 'object',
  properties: {
    action: { type: 'string' },
    conference_id: { type: 'string' },
    node: { type: 'string' },
    profile: { type: 'string' },
    endpoint_responses: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          endpoint_id: { type: 'string' },
          call_id: { type: 'string' },
          status: { type: 'string', enum: ['success', 'error'] },
          message: { type: 'string' },
          result: { type: 'string', enum: ['joined', 'busy', 'no_answer', 'failed'] },
          hangup_cause: { type: 'string' },
        },
      },
    },
  },
} as const;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalString(data: Json, key: string): string | undefined {
  const v = data[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw ValidationError.field(key, 'type', 'Value is not of type string', 'string');
  return v;
}

/** The REST body's `data.data` → a DialRequest (the conference layer validates every value). */
export function restDialRequest(raw: unknown, conference: string): DialRequest {
  if (raw === undefined) throw ValidationError.field('data', 'required', "action 'dial' requires a data object");
  if (!isObject(raw)) throw ValidationError.field('data', 'type', 'Value is not of type object', 'object');
  const list = raw.endpoints;
  if (!Array.isArray(list) || list.length === 0) {
    throw ValidationError.field('data.endpoints', 'minItems', 'endpoints must have at least one specified', 1);
  }
  const shared = optionalString(raw, 'outbound_call_id');
  const endpoints = list.map((e, i): DialEndpoint => {
    if (typeof e === 'string') return shared === undefined ? { dialString: e } : { dialString: e, callId: shared };
    if (!isObject(e) || typeof e.route !== 'string') {
      throw ValidationError.field(`data.endpoints.${i}`, 'type', 'an endpoint is a dial string or {"route": <dial string>}');
    }
    const out: DialEndpoint = { dialString: e.route };
    const id = optionalString(e, 'endpoint_id');
    const callId = optionalString(e, 'outbound_call_id') ?? shared;
    if (id !== undefined) out.endpointId = id;
    if (callId !== undefined) out.callId = callId;
    return out;
  });
  const request: DialRequest = { conference, endpoints };
  const name = optionalString(raw, 'caller_id_name');
  const number = optionalString(raw, 'caller_id_number');
  const profile = optionalString(raw, 'profile_name');
  if (name !== undefined) request.callerIdName = name;
  if (number !== undefined) request.callerIdNumber = number;
  if (profile !== undefined) request.profile = profile;
  if (raw.timeout !== undefined) {
    if (typeof raw.timeout !== 'number' || !Number.isInteger(raw.timeout)) throw ValidationError.field('timeout', 'type', 'Value is not of type integer', 'integer');
    request.timeoutS = raw.timeout;
  }
  if (raw.participant_flags !== undefined) {
    if (!Array.isArray(raw.participant_flags) || !raw.participant_flags.every((f) => typeof f === 'string')) {
      throw ValidationError.field('participant_flags', 'type', 'Value is not an array of strings', 'array');
    }
    request.flags = raw.participant_flags as string[];
  }
  return request;
}

/** ecallmgr's success_resp / error_resp, normalized, plus `result` and `hangup_cause`. */
export function restEndpointResponse(o: DialOutcome): Json {
  const out: Json = {
    endpoint_id: o.endpointId,
    call_id: o.callId,
    status: o.result === 'joined' ? 'success' : 'error',
    message: o.message,
    result: o.result,
  };
  if (o.hangupCause !== undefined) out.hangup_cause = o.hangupCause;
  return out;
}

export function restDialReply(result: DialResult): Json {
  return {
    action: 'dial',
    conference_id: result.conference,
    node: result.node,
    profile: result.profile,
    endpoint_responses: result.outcomes.map(restEndpointResponse),
  };
}
