/**
 * /v2/accounts/{ACCOUNT_ID}/conferences/{CONFERENCE_ID}/participants[/{PARTICIPANT_ID}].
 * Bulk actions map to mod_conference targets: mute/unmute/deaf/undeaf → `non_moderator` (every
 * participant without the moderator flag — Kazoo skipped those whose flag was absent), kick → `all`.
 * An optional `data.target` (`all` | `non_moderator`, a confmgr extension the CLI uses) overrides that.
 */
import type { FastifyInstance } from 'fastify';
import type { MemberTarget } from '../../conference/index.js';
import { MemberNotFoundError } from '../../conference/index.js';
import { success } from '../envelope.js';
import { ValidationError } from '../errors.js';
import { requestData } from '../../records/index.js';
import { requireOneOf } from '../one-of.js';
import { playableMedia } from '../media.js';
import { participantView, participantsView } from '../../records/index.js';
import { executeOn, requestedAccount, requireRunning, resolveConference, type ApiContext } from '../context.js';
import { AUTH_ERRORS, BODY_ERRORS, COMMAND_ERRORS, CONFERENCE_PARAMS, PARTICIPANT_PARAMS, actionBodies, envelope, errors, ref, type RouteSchema } from '../schemas.js';

type ConferenceParams = { accountId: string; conferenceId: string };
type ParticipantParams = ConferenceParams & { participantId: string };

export const PARTICIPANT_ACTIONS = ['mute', 'unmute', 'deaf', 'undeaf', 'kick'] as const;
export type ParticipantAction = (typeof PARTICIPANT_ACTIONS)[number];

/** cb_conferences' participants actions: the member actions, `play` (to the conference) and `relate`. */
const BULK_ACTIONS = [...PARTICIPANT_ACTIONS, 'play', 'relate'] as const;
/** cb_conferences' participant actions: the member actions and `play` (to that participant). */
const SINGLE_ACTIONS = [...PARTICIPANT_ACTIONS, 'play'] as const;

/** Kazoo's relationship names (`metaflows.relate`) → mod_conference's. */
const RELATIONSHIPS = { mute: 'nospeak', deaf: 'nohear', clear: 'clear' } as const;

function memberIdField(value: unknown, field: string): number {
  const n = typeof value === 'string' && /^[1-9][0-9]{0,9}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 2_147_483_647) {
    throw ValidationError.field(field, 'type', 'Must be a positive integer (the FreeSWITCH member id)');
  }
  return n;
}

export const BULK_TARGETS = ['all', 'non_moderator'] as const;
export type BulkTarget = (typeof BULK_TARGETS)[number];

/** Kazoo's default target of a bulk action. */
export function bulkTarget(action: ParticipantAction): MemberTarget {
  return action === 'kick' ? 'all' : 'non_moderator';
}

/** `data.target` of a bulk action: absent → Kazoo's default; otherwise one of BULK_TARGETS (400 naming the field). */
function parseBulkTarget(body: unknown, action: ParticipantAction): BulkTarget {
  const target = requestData(body).target;
  if (target === undefined || target === null) return bulkTarget(action) as BulkTarget;
  return requireOneOf('target', target, BULK_TARGETS);
}

function parseParticipantId(raw: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(raw) || Number(raw) > 2_147_483_647) {
    throw ValidationError.field('participant_id', 'type', 'Must be a positive integer (the FreeSWITCH member id)');
  }
  return Number(raw);
}

const MEDIA_ID = { media_id: { type: 'string', minLength: 1, description: 'An absolute path, a URL, or a media id resolved through media.location' } };
const MEMBER_ID = {
  description: 'A FreeSWITCH member id (a string of its digits is taken too)',
  anyOf: [
    { type: 'integer', minimum: 1, maximum: 2_147_483_647 },
    { type: 'string', pattern: '^[1-9][0-9]{0,9}$' },
  ],
};

/** The member actions' own fields, by action (a new action adds its entry). */
function memberActions(extra: Record<string, Record<string, unknown>>): Record<ParticipantAction, { properties?: Record<string, Record<string, unknown>> }> {
  return Object.fromEntries(PARTICIPANT_ACTIONS.map((a) => [a, { properties: extra }])) as Record<ParticipantAction, { properties?: Record<string, Record<string, unknown>> }>;
}

const BULK_FIELDS: Record<(typeof BULK_ACTIONS)[number], { properties?: Record<string, Record<string, unknown>>; required?: string[] }> = {
  ...memberActions({
    target: { type: 'string', enum: [...BULK_TARGETS], description: 'Default: non_moderator (kick: all). A confmgr extension' },
  }),
  play: { properties: MEDIA_ID, required: ['media_id'] },
  relate: {
    properties: { participant_id: MEMBER_ID, other_participant: MEMBER_ID, relationship: { type: 'string', enum: Object.keys(RELATIONSHIPS), default: 'clear' } },
    required: ['participant_id', 'other_participant'],
  },
};

const SINGLE_FIELDS: Record<(typeof SINGLE_ACTIONS)[number], { properties?: Record<string, Record<string, unknown>>; required?: string[] }> = {
  ...memberActions({}),
  play: { properties: MEDIA_ID, required: ['media_id'] },
};

const TAGS = ['participants'];

const SCHEMAS = {
  list: {
    summary: "A conference's participants",
    tags: TAGS,
    params: CONFERENCE_PARAMS,
    response: { 200: envelope('The participants (none when the conference is not running)', { type: 'array', items: ref('Participant') }), ...errors(400, ...AUTH_ERRORS, 404) },
  },
  bulk: {
    summary: "Perform an action on a conference's participants",
    tags: TAGS,
    params: CONFERENCE_PARAMS,
    body: actionBodies(BULK_FIELDS),
    response: { 202: envelope('Accepted: the command was carried out', ref('ActionResult')), ...errors(...BODY_ERRORS, ...AUTH_ERRORS, 404, ...COMMAND_ERRORS) },
  },
  get: {
    summary: 'One participant',
    tags: TAGS,
    params: PARTICIPANT_PARAMS,
    response: { 200: envelope('The participant', ref('Participant')), ...errors(400, ...AUTH_ERRORS, 404) },
  },
  action: {
    summary: 'Perform an action on one participant',
    tags: TAGS,
    params: PARTICIPANT_PARAMS,
    body: actionBodies(SINGLE_FIELDS),
    response: { 202: envelope('Accepted: the command was carried out', ref('ActionResult')), ...errors(...BODY_ERRORS, ...AUTH_ERRORS, 404, ...COMMAND_ERRORS) },
  },
} satisfies Record<string, RouteSchema>;

export function participantRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const base = '/v2/accounts/:accountId/conferences/:conferenceId/participants';

  app.get<{ Params: ConferenceParams }>(base, { schema: SCHEMAS.list }, async (request) => {
    const account = requestedAccount(request);
    const conf = await resolveConference(ctx, account, request.params.conferenceId);
    return success(request, participantsView(conf.live));
  });

  // Actions are answered 202, as crossbar's response_202 does.
  app.put<{ Params: ConferenceParams }>(base, { schema: SCHEMAS.bulk }, async (request, reply) => {
    reply.code(202);
    const account = requestedAccount(request);
    const data = requestData(request.body);
    const any = requireOneOf('action', data.action, BULK_ACTIONS);
    if (any === 'play') {
      const file = playableMedia(data, { location: ctx.mediaLocation, accountId: account });
      const conf = await resolveConference(ctx, account, request.params.conferenceId);
      requireRunning(ctx, conf);
      await executeOn(ctx, conf, account, { kind: 'play', conference: conf.id, file });
      return success(request, { action: any, conference_id: conf.id, media_id: file });
    }
    if (any === 'relate') {
      // cb_conferences' relate: participant_id, other_participant, relationship (mute | deaf | clear, default clear).
      const member = memberIdField(data.participant_id, 'participant_id');
      const other = memberIdField(data.other_participant, 'other_participant');
      const relationship = data.relationship === undefined ? 'clear' : requireOneOf('relationship', data.relationship, ['mute', 'deaf', 'clear'] as const);
      const conf = await resolveConference(ctx, account, request.params.conferenceId);
      const live = requireRunning(ctx, conf);
      for (const id of [member, other]) if (!live.participants.some((x) => x.participant_id === id)) throw new MemberNotFoundError(conf.id, id);
      await executeOn(ctx, conf, account, { kind: 'relate', conference: conf.id, member, other, relation: RELATIONSHIPS[relationship] });
      return success(request, { action: any, conference_id: conf.id, participant_id: member, other_participant: other, relationship });
    }
    const action = any;
    const target = parseBulkTarget(request.body, action);
    const conf = await resolveConference(ctx, account, request.params.conferenceId);
    requireRunning(ctx, conf);
    await executeOn(ctx, conf, account, { kind: action, conference: conf.id, target });
    return success(request, { action, conference_id: conf.id, target });
  });

  app.get<{ Params: ParticipantParams }>(`${base}/:participantId`, { schema: SCHEMAS.get }, async (request) => {
    const account = requestedAccount(request);
    const id = parseParticipantId(request.params.participantId);
    const conf = await resolveConference(ctx, account, request.params.conferenceId);
    const p = conf.live?.participants.find((x) => x.participant_id === id);
    if (!p) throw new MemberNotFoundError(conf.id, id);
    return success(request, participantView(p));
  });

  app.put<{ Params: ParticipantParams }>(`${base}/:participantId`, { schema: SCHEMAS.action }, async (request, reply) => {
    reply.code(202);
    const account = requestedAccount(request);
    const data = requestData(request.body);
    const action = requireOneOf('action', data.action, SINGLE_ACTIONS);
    const file = action === 'play' ? playableMedia(data, { location: ctx.mediaLocation, accountId: account }) : undefined;
    const id = parseParticipantId(request.params.participantId);
    const conf = await resolveConference(ctx, account, request.params.conferenceId);
    const live = requireRunning(ctx, conf);
    if (!live.participants.some((x) => x.participant_id === id)) throw new MemberNotFoundError(conf.id, id);
    if (action === 'play' && file !== undefined) {
      await executeOn(ctx, conf, account, { kind: 'play', conference: conf.id, file, member: id });
      return success(request, { action, conference_id: conf.id, participant_id: id, media_id: file });
    }
    await executeOn(ctx, conf, account, { kind: action as ParticipantAction, conference: conf.id, target: id });
    return success(request, { action, conference_id: conf.id, participant_id: id });
  });
}
