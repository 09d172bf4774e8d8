/**
 * The JSON Schemas every REST route declares (fastify's `schema` route option), from which
 * @fastify/swagger builds the OpenAPI document (./openapi.ts). The shared pieces are here, each
 * registered once with an `$id` (a component of the document); a route's own schemas sit next to its
 * handler (routes/*.ts). How to give a new route its schema: src/api/README.md "Route schemas".
 *
 * They describe; the handlers validate. The handlers' checks answer Kazoo's validation error shape
 * (`{"<field>": {"<rule>": {message, target}}}`) that clients and tests rely on, which fastify's own
 * validator would not: the API scope compiles these schemas to nothing (`DOCUMENTATION_ONLY`), and
 * test/api/openapi.test.ts checks real answers against them. Patterns, enums and bounds are taken
 * from the constants the handlers check with, so the two cannot drift apart silently.
 */
import type { FastifySchema, FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify';
import { MEMBER_FIELDS } from '../conference/index.js';
import { CONFERENCECALL_STATUSES, CONFERENCE_ID_RE, PROFILE_RE, TONE_RE } from '../records/index.js';
import { DOCUMENT_BOUNDS } from './intake-bounds.js';
import { KAZOO_MESSAGE_BY_STATUS } from './errors.js';

type Schema = Record<string, unknown>;

/**
 * Compilers of a scope whose schemas only document: every request reaches its handler (which
 * validates), every answer is serialized as plain JSON (unknown document keys such as `ui_metadata`
 * are kept, as Kazoo keeps them; a response schema would make fastify drop them).
 */
export const DOCUMENTATION_ONLY: { validatorCompiler: FastifySchemaCompiler<unknown>; serializerCompiler: FastifySerializerCompiler<unknown> } = {
  validatorCompiler: () => () => true,
  serializerCompiler: () => (data) => JSON.stringify(data),
};

/** The shared schemas' ids: their names among the OpenAPI document's components. */
type SharedSchemaId =
  | 'SuccessEnvelope'
  | 'ErrorEnvelope'
  | 'ErrorDetail'
  | 'ValidationErrors'
  | 'ConferenceDocument'
  | 'ReadOnly'
  | 'ConferenceView'
  | 'ConferenceListEntry'
  | 'Participant'
  | 'ActionResult'
  | 'Conferencecall';

/** A reference to a shared schema by its `$id`. */
export function ref(id: SharedSchemaId): Schema {
  return { $ref: `${id}#` };
}

const conferenceId = {
  type: 'string',
  pattern: CONFERENCE_ID_RE.source,
  description: 'The FreeSWITCH conference name (also its document id); not a mod_conference keyword (list, count, …)',
};

const stringList = {
  type: 'array',
  maxItems: DOCUMENT_BOUNDS.maxListItems,
  items: { type: 'string', maxLength: DOCUMENT_BOUNDS.maxItemChars },
};

const tone = {
  description: 'true: Kazoo\'s default tone; false: none; a string: a tone stream or media URI',
  anyOf: [{ type: 'boolean' }, { type: 'string', pattern: TONE_RE.source }],
};

const role = {
  type: 'object',
  properties: { join_muted: { type: 'boolean' }, join_deaf: { type: 'boolean' }, numbers: stringList, pins: stringList },
};

const FIELD_TYPES = { flag: 'boolean', int: 'integer', text: 'string' } as const;

/** Kazoo's participant as `_read_only.participants[]` and the participants routes show it. */
function participantSchema(): Schema {
  const properties: Record<string, Schema> = {
    conference_name: { type: 'string' },
    conference_uuid: { type: 'string' },
    switch_hostname: { type: 'string' },
    join_time: { type: 'integer', description: 'Gregorian seconds (Kazoo\'s epoch)' },
    duration: { type: 'integer', description: 'Seconds in the conference' },
  };
  for (const f of MEMBER_FIELDS) if (f.kazoo !== undefined) properties[f.kazoo] = { type: FIELD_TYPES[f.type] };
  return { type: 'object', required: Object.keys(properties), properties, additionalProperties: false };
}

const SHARED: Record<SharedSchemaId, Schema> = {
  SuccessEnvelope: {
    description: "Kazoo's envelope of every answer of /v2 (the auth token is not echoed)",
    type: 'object',
    required: ['data', 'request_id', 'status', 'timestamp'],
    properties: {
      data: {},
      revision: { type: 'string', description: '`<n>-<md5>` of a single document; send it back in If-Match' },
      request_id: { type: 'string', description: 'The X-Request-ID header when well-formed, else generated' },
      status: { const: 'success' },
      timestamp: { type: 'string', format: 'date-time' },
      version: { type: 'string', description: "confmgr's version" },
      node: { type: 'string', description: 'The confmgr instance that answered' },
      page_size: { type: 'integer', minimum: 0, description: 'The number of entries of a list' },
      partial: { const: true, description: 'The cluster view: some instances did not answer in time, so `data` may lack what they serve' },
      missing_instances: { type: 'array', items: { type: 'string' }, description: 'Those instances' },
    },
    additionalProperties: false,
  },
  ErrorEnvelope: {
    description: 'Every error (Kazoo\'s error envelope)',
    type: 'object',
    required: ['data', 'error', 'message', 'status', 'request_id', 'timestamp'],
    properties: {
      data: { anyOf: [ref('ErrorDetail'), ref('ValidationErrors')] },
      error: { type: 'string', pattern: '^[1-5][0-9]{2}$', description: 'The HTTP status' },
      message: { type: 'string' },
      status: { const: 'error' },
      request_id: { type: 'string' },
      timestamp: { type: 'string', format: 'date-time' },
    },
    additionalProperties: false,
  },
  ErrorDetail: {
    description: 'What went wrong: a stable code (e.g. NOT_FOUND, NODE_DOWN) and details for client errors',
    type: 'object',
    required: ['code', 'message'],
    properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } },
    additionalProperties: false,
  },
  ValidationErrors: {
    description: "Kazoo's validation errors: field path → rule → {message, target}",
    type: 'object',
    minProperties: 1,
    additionalProperties: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['message'],
        properties: { message: { type: 'string' }, target: {}, value: {}, cause: {} },
      },
    },
  },
  ConferenceDocument: {
    description:
      "Kazoo's conference document. Unknown keys are kept; `id` (on create), `focus`, `_*` and `pvt_*` are ignored. " +
      `At most ${DOCUMENT_BOUNDS.maxBytes} bytes as JSON and ${DOCUMENT_BOUNDS.maxDepth} levels deep once stored.`,
    type: 'object',
    properties: {
      id: conferenceId,
      name: { type: 'string', minLength: 1, maxLength: 128 },
      owner_id: { type: 'string', minLength: 32, maxLength: 32 },
      conference_numbers: stringList,
      member: role,
      moderator: role,
      play_name: { type: 'boolean' },
      play_entry_tone: tone,
      play_exit_tone: tone,
      max_members: { type: 'integer', minimum: 1 },
      profile: { type: 'string', pattern: PROFILE_RE.source },
    },
  },
  ReadOnly: {
    description: 'The realtime part of a conference (zeros when it is not running)',
    type: 'object',
    required: ['members', 'admins', 'duration', 'is_locked', 'participants'],
    properties: {
      members: { type: 'integer', minimum: 0, description: 'Participants that are not moderators' },
      admins: { type: 'integer', minimum: 0, description: 'Moderators' },
      duration: { type: 'integer', minimum: 0 },
      is_locked: { type: 'boolean' },
      participants: { type: 'array', items: ref('Participant') },
    },
    additionalProperties: false,
  },
  ConferenceView: {
    description: 'A conference as GET shows it: its document (if any), id, focus when running, `_read_only`',
    allOf: [
      ref('ConferenceDocument'),
      {
        type: 'object',
        required: ['id', '_read_only'],
        properties: {
          id: conferenceId,
          focus: { type: 'string', description: 'The node hosting it (config http.focus: node name or FreeSWITCH switchname)' },
          _read_only: ref('ReadOnly'),
        },
      },
    ],
  },
  ConferenceListEntry: {
    type: 'object',
    required: ['id', 'members', 'admins', 'duration', 'is_locked'],
    properties: {
      id: conferenceId,
      name: { type: 'string' },
      owner_id: { type: 'string' },
      member: role,
      moderator: role,
      members: { type: 'integer', minimum: 0 },
      admins: { type: 'integer', minimum: 0 },
      duration: { type: 'integer', minimum: 0 },
      is_locked: { type: 'boolean' },
      focus: { type: 'string', description: 'With the cluster view (config cluster_view): the node hosting a running conference' },
    },
    additionalProperties: false,
  },
  Participant: participantSchema(),
  ActionResult: {
    description: 'What an action did (answered 202, as crossbar does)',
    type: 'object',
    required: ['action', 'conference_id'],
    properties: {
      action: { type: 'string' },
      conference_id: conferenceId,
      node: { type: 'string', description: 'The FreeSWITCH node the command went to' },
      target: { type: 'string', enum: ['all', 'non_moderator'] },
      participant_id: { type: 'integer', minimum: 1 },
      other_participant: { type: 'integer', minimum: 1 },
      relationship: { type: 'string', enum: ['mute', 'deaf', 'clear'] },
      media_id: { type: 'string', description: 'The file played (a media id resolved through media.location)' },
      record: { type: 'string', enum: ['start', 'stop'] },
      path: { type: 'string' },
    },
    additionalProperties: false,
  },
  Conferencecall: {
    description: "VoIPbin's conferencecall record (exact keys)",
    type: 'object',
    required: ['id', 'customer_id', 'conference_id', 'reference_type', 'reference_id', 'status', 'tm_create', 'tm_update', 'tm_delete'],
    properties: {
      id: { type: 'string' },
      customer_id: { type: 'string' },
      conference_id: { type: 'string' },
      reference_type: { const: 'call' },
      reference_id: { type: 'string' },
      status: { type: 'string', enum: [...CONFERENCECALL_STATUSES] },
      tm_create: { type: 'string' },
      tm_update: { type: 'string' },
      tm_delete: { type: 'string' },
    },
    additionalProperties: false,
  },
};

/** The shared schemas, each with its `$id` (registered on the API scope with addSchema). */
export const SHARED_SCHEMAS: Schema[] = Object.entries(SHARED).map(([id, schema]) => ({ $id: id, ...schema }));

/** A success answer: Kazoo's envelope around `data`. */
export function envelope(description: string, data: Schema): Schema {
  return { description, allOf: [ref('SuccessEnvelope'), { type: 'object', properties: { data } }] };
}

/** Error answers, by HTTP status, each Kazoo's error envelope. */
export function errors(...statuses: number[]): Record<number, Schema> {
  const out: Record<number, Schema> = {};
  for (const s of statuses) out[s] = { description: ERROR_DESCRIPTIONS[s] ?? KAZOO_MESSAGE_BY_STATUS[s] ?? 'error', ...ref('ErrorEnvelope') };
  return out;
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid data: `data` names each field and rule (Kazoo\'s validation errors)',
  401: 'Missing or unknown X-Auth-Token',
  403: 'The token does not give access to this account or resource',
  404: 'Unknown resource (NOT_FOUND, CONFERENCE_NOT_FOUND, CONFERENCE_UNATTRIBUTED, MEMBER_NOT_FOUND)',
  409: 'Conflicting state (stale If-Match, INVALID_STATE, COMMAND_REJECTED, CONFERENCE_AMBIGUOUS)',
  413: 'Body larger than http.limits.body_bytes (FST_ERR_CTP_BODY_TOO_LARGE)',
  415: 'Unsupported Content-Type',
  502: 'FreeSWITCH answered something unrecognized',
  503: 'The conference\'s node is down, or its command queue is full (Retry-After)',
  504: 'FreeSWITCH did not answer in time',
};

/** The errors of any authenticated route. */
export const AUTH_ERRORS = [401, 403] as const;
/** The errors of a route with a body, on top of its own. */
export const BODY_ERRORS = [400, 413, 415] as const;
/** The errors of a route that sends a command to FreeSWITCH. */
export const COMMAND_ERRORS = [409, 502, 503, 504] as const;

/** A request body: Kazoo's `{"data": {...}}`. */
export function body(data: Schema): Schema {
  return { type: 'object', required: ['data'], properties: { data } };
}

const accountParam = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'The account (the token\'s)' };
const memberId = { type: 'string', pattern: '^[1-9][0-9]{0,9}$', description: 'The FreeSWITCH member id' };

export const ACCOUNT_PARAMS = { type: 'object', required: ['accountId'], properties: { accountId: accountParam } };
export const CONFERENCE_PARAMS = { type: 'object', required: ['accountId', 'conferenceId'], properties: { accountId: accountParam, conferenceId: conferenceId } };
export const PARTICIPANT_PARAMS = {
  type: 'object',
  required: ['accountId', 'conferenceId', 'participantId'],
  properties: { accountId: accountParam, conferenceId: conferenceId, participantId: memberId },
};

/** An action body's `data`: one object per action, told apart by `action`. */
export function actionBodies(variants: Record<string, { properties?: Record<string, Schema>; required?: string[] }>): Schema {
  return body({
    oneOf: Object.entries(variants).map(([action, v]) => ({
      type: 'object',
      required: ['action', ...(v.required ?? [])],
      properties: { action: { const: action }, ...v.properties },
    })),
  });
}

/** A route schema (fastify's type, widened for OpenAPI's keywords: summary, tags, security). */
export type RouteSchema = FastifySchema & { summary?: string; description?: string; tags?: string[]; security?: Array<Record<string, string[]>> };
