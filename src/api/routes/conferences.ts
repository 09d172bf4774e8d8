/**
 * /v2/accounts/{ACCOUNT_ID}/conferences[/{CONFERENCE_ID}] — Kazoo's conferences API.
 * The document id is the FreeSWITCH conference name.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { StoredConferenceDocument } from '../../storage/index.js';
import type { LiveConference } from '../../records/index.js';
import { success, withMissing } from '../envelope.js';
import { ValidationError, NotFoundError } from '../errors.js';
import { conferenceOwner } from '../../records/index.js';
import { conferenceListEntry, readOnly } from '../../records/index.js';
import { checkConferenceId, mergePatch, prepareDocument, requestData, stripReadOnly, validateConferenceDocument, withDefaults } from '../../records/index.js';
import { newDocumentId } from '../../records/index.js';
import { requireOneOf } from '../one-of.js';
import { playableMedia, type MediaResolution } from '../media.js';
import type { ConferenceCommand } from '../../conference/index.js';
import { checkDocumentBounds } from '../intake-bounds.js';
import { InvalidArgumentError } from '../../conference/index.js';
import { InvalidStateError } from '../../records/index.js';
import { DIAL_DATA_SCHEMA, DIAL_RESPONSE_SCHEMA, restDialReply, restDialRequest } from './conference-dial.js';
import { executeOn, requestedAccount, requireRunning, resolveConference, type ApiContext } from '../context.js';
import { ACCOUNT_PARAMS, AUTH_ERRORS, BODY_ERRORS, COMMAND_ERRORS, CONFERENCE_PARAMS, actionBodies, body, envelope, errors, ref, type RouteSchema } from '../schemas.js';

type AccountParams = { accountId: string };
type ConferenceParams = { accountId: string; conferenceId: string };


/** A single document as GET returns it: body, id, focus when running, `_read_only`. */
export function documentView(id: string, doc: Record<string, unknown> | undefined, live: LiveConference | undefined): Record<string, unknown> {
  const view: Record<string, unknown> = { ...(doc ?? {}), id };
  if (live) view.focus = live.focus;
  view._read_only = readOnly(live);
  return view;
}

/** `If-Match: <revision>` makes a write conditional (409 on a stale revision). */
function ifMatch(request: FastifyRequest): string | undefined {
  const v = request.headers['if-match'];
  return typeof v === 'string' && v.length > 0 ? v.replace(/^W\//, '').replace(/^"|"$/g, '') : undefined;
}

function requireDocument(conf: { id: string; doc?: StoredConferenceDocument }): StoredConferenceDocument {
  if (!conf.doc) throw new NotFoundError('conference document', conf.id);
  return conf.doc;
}

const CONFERENCE_ACTIONS = ['lock', 'unlock', 'play', 'record', 'dial'] as const;
type ConferenceAction = Exclude<(typeof CONFERENCE_ACTIONS)[number], 'dial'>;

/**
 * The action route's schema: any action's body passes as before (its handler checks it, in Kazoo's
 * error shape); a `dial` body's `data.data` must match the dial schema. The 202 reply of a dial
 * lists the endpoints' outcomes.
 */

/** `record` start/stop: `data.record` (default start) and `data.path` (stop also takes `all`). */
const RECORD_STATES = ['start', 'stop'] as const;

/** The command an action body asks for (the conference layer validates paths, recordings.dirs included). */
function actionCommand(action: ConferenceAction, data: Record<string, unknown>, conference: string, media: MediaResolution): ConferenceCommand {
  switch (action) {
    case 'lock':
    case 'unlock':
      return { kind: action, conference };
    case 'play':
      return { kind: 'play', conference, file: playableMedia(data, media) };
    case 'record': {
      const state = data.record === undefined ? 'start' : requireOneOf('record', data.record, RECORD_STATES);
      const path = data.path;
      if (typeof path !== 'string' || path === '') throw ValidationError.field('path', 'required', "action 'record' requires a path");
      return state === 'start' ? { kind: 'record', conference, path } : { kind: 'norecord', conference, path };
    }
  }
}

const IF_MATCH = { type: 'object', properties: { 'if-match': { type: 'string', description: 'A revision: the write is made only if the document still has it (else 409)' } } };

/** Each action's own fields (the schema of PUT on one conference; a new action adds its entry). */
const ACTION_FIELDS: Record<ConferenceAction, { properties?: Record<string, Record<string, unknown>>; required?: string[] }> = {
  lock: {},
  unlock: {},
  play: { properties: { media_id: { type: 'string', minLength: 1, description: 'An absolute path, a URL, or a media id resolved through media.location' } }, required: ['media_id'] },
  record: {
    properties: {
      record: { type: 'string', enum: [...RECORD_STATES], default: 'start' },
      path: { type: 'string', minLength: 1, description: 'A file under recordings.dirs (stop also takes `all`)' },
    },
    required: ['path'],
  },
};

const TAGS = ['conferences'];

const SCHEMAS = {
  list: {
    summary: "List the account's conferences: its documents and its running conferences without one",
    tags: TAGS,
    params: ACCOUNT_PARAMS,
    response: { 200: envelope('The conferences', { type: 'array', items: ref('ConferenceListEntry') }), ...errors(...AUTH_ERRORS) },
  },
  create: {
    summary: 'Create a conference document (optional `data.id`: the conference name; else a generated id)',
    tags: TAGS,
    params: ACCOUNT_PARAMS,
    body: body(ref('ConferenceDocument')),
    response: { 201: envelope('Created', ref('ConferenceView')), ...errors(...BODY_ERRORS, ...AUTH_ERRORS, 409) },
  },
  get: {
    summary: 'A conference: its document and its realtime state',
    tags: TAGS,
    params: CONFERENCE_PARAMS,
    response: { 200: envelope('The conference', ref('ConferenceView')), ...errors(400, ...AUTH_ERRORS, 404) },
  },
  replace: {
    summary: 'Replace a conference document (validated, defaults applied)',
    tags: TAGS,
    params: CONFERENCE_PARAMS,
    headers: IF_MATCH,
    body: body(ref('ConferenceDocument')),
    response: { 200: envelope('Replaced', ref('ConferenceView')), ...errors(...BODY_ERRORS, ...AUTH_ERRORS, 404, 409) },
  },
  patch: {
    summary: 'Change a conference document by JSON merge patch (objects merge, null deletes), then validate',
    tags: TAGS,
    params: CONFERENCE_PARAMS,
    headers: IF_MATCH,
    body: body({ type: 'object', description: 'A JSON merge patch of the document' }),
    response: { 200: envelope('Changed', ref('ConferenceView')), ...errors(...BODY_ERRORS, ...AUTH_ERRORS, 404, 409) },
  },
  remove: {
    summary: 'Delete a conference document (the running conference is not touched)',
    tags: TAGS,
    params: CONFERENCE_PARAMS,
    response: {
      200: envelope('Deleted: the document as it was', {
        type: 'object',
        required: ['id', '_read_only'],
        properties: { id: { type: 'string' }, _read_only: { type: 'object', required: ['deleted'], properties: { deleted: { const: true } } } },
      }),
      ...errors(400, ...AUTH_ERRORS, 404),
    },
  },
  action: {
    summary: 'Perform an action on a running conference',
    tags: TAGS,
    params: CONFERENCE_PARAMS,
    body: actionBodies({ ...ACTION_FIELDS, dial: { properties: { data: DIAL_DATA_SCHEMA }, required: ['data'] } }),
    response: {
      202: envelope('Accepted: the command was carried out (a dial: each endpoint\'s outcome)', { anyOf: [ref('ActionResult'), DIAL_RESPONSE_SCHEMA] }),
      ...errors(...BODY_ERRORS, ...AUTH_ERRORS, 404, ...COMMAND_ERRORS),
    },
  },
} satisfies Record<string, RouteSchema>;

export function conferenceRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const base = '/v2/accounts/:accountId/conferences';

  app.get<{ Params: AccountParams }>(base, { schema: SCHEMAS.list }, async (request) => {
    const account = requestedAccount(request);
    const cluster = ctx.deps.cluster;
    // The other instances are asked while this one reads its own.
    const gathering = cluster?.conferences(account);
    const withFocus = cluster !== undefined;
    const docs = await ctx.documents.listByAccount(account);
    const seen = new Set(docs.map((d) => d.id));
    const out = docs.map((d) => conferenceListEntry(d.id, d.doc, ctx.deps.registry.conference(d.id), withFocus));
    // Running conferences without a document, attributed to this account by channel variables
    // (or by http.default_account_id when nothing else attributes them).
    // (A name live on several nodes is listed once, as conference(name) resolves it.)
    const running = new Set<string>();
    for (const listed of ctx.deps.registry.conferences()) {
      running.add(listed.name);
      if (seen.has(listed.name)) continue;
      seen.add(listed.name);
      const live = ctx.deps.registry.conference(listed.name) ?? listed;
      if (conferenceOwner({ live, defaultAccount: ctx.deps.defaultAccountId, attributions: ctx.attributions }) !== account) continue;
      if (await ctx.documents.get(live.name)) continue; // documented by another account
      out.push(conferenceListEntry(live.name, undefined, live, withFocus));
    }
    if (!gathering) return success(request, out);
    const gathered = await gathering;
    const byId = new Map(out.map((e) => [e.id, e]));
    for (const { data } of gathered.answers) {
      for (const remote of Array.isArray(data) ? data : []) {
        if (running.has(remote.id)) continue; // known here: this instance's own view is the one listed
        running.add(remote.id);
        const documented = byId.get(remote.id);
        if (documented) {
          // This account's document, running on another instance: its realtime counters and focus.
          Object.assign(documented, { members: remote.members, admins: remote.admins, duration: remote.duration, is_locked: remote.is_locked, focus: remote.focus });
          continue;
        }
        if (seen.has(remote.id) || (await ctx.documents.get(remote.id))) continue; // documented by another account here
        seen.add(remote.id);
        out.push(remote);
      }
    }
    return withMissing(success(request, out), gathered.missing, gathered.partial);
  });

  app.put<{ Params: AccountParams }>(base, { schema: SCHEMAS.create }, async (request, reply) => {
    const account = requestedAccount(request);
    const data = requestData(request.body);
    const id = data.id === undefined ? newDocumentId() : typeof data.id === 'string' ? checkConferenceId(data.id, 'id') : badId();
    const body = prepareDocument(data);
    checkDocumentBounds(body);
    const live = ctx.deps.registry.conference(id);
    const liveOwner = conferenceOwner({ live, defaultAccount: ctx.deps.defaultAccountId, attributions: ctx.attributions });
    if (liveOwner !== undefined && liveOwner !== account) {
      throw ValidationError.field('id', 'unique', 'A running conference of another account uses this name');
    }
    const stored = await ctx.documents.create(id, account, body);
    reply.code(201);
    return success(request, documentView(id, stored.doc, live), stored.revision);
  });

  app.get<{ Params: ConferenceParams }>(`${base}/:conferenceId`, { schema: SCHEMAS.get }, async (request) => {
    const account = requestedAccount(request);
    const conf = await resolveConference(ctx, account, request.params.conferenceId);
    return success(request, documentView(conf.id, conf.doc?.doc, conf.live), conf.doc?.revision);
  });

  app.post<{ Params: ConferenceParams }>(`${base}/:conferenceId`, { schema: SCHEMAS.replace }, async (request) => {
    const account = requestedAccount(request);
    const conf = await resolveConference(ctx, account, request.params.conferenceId);
    const current = requireDocument(conf);
    const body = prepareDocument(requestData(request.body));
    checkDocumentBounds(body);
    const stored = await ctx.documents.replace(current, body, ifMatch(request));
    return success(request, documentView(conf.id, stored.doc, conf.live), stored.revision);
  });

  app.patch<{ Params: ConferenceParams }>(`${base}/:conferenceId`, { schema: SCHEMAS.patch }, async (request) => {
    const account = requestedAccount(request);
    const conf = await resolveConference(ctx, account, request.params.conferenceId);
    const current = requireDocument(conf);
    const merged = stripReadOnly(mergePatch(current.doc, stripReadOnly(requestData(request.body))));
    validateConferenceDocument(merged);
    const body = withDefaults(merged);
    checkDocumentBounds(body);
    const stored = await ctx.documents.replace(current, body, ifMatch(request));
    return success(request, documentView(conf.id, stored.doc, conf.live), stored.revision);
  });

  app.delete<{ Params: ConferenceParams }>(`${base}/:conferenceId`, { schema: SCHEMAS.remove }, async (request) => {
    const account = requestedAccount(request);
    const conf = await resolveConference(ctx, account, request.params.conferenceId);
    const current = requireDocument(conf);
    await ctx.documents.remove(current.id);
    return success(request, { ...current.doc, id: current.id, _read_only: { deleted: true } });
  });

  // PUT on one conference = an action (Kazoo: "Perform an action on conference"), answered 202 as
  // crossbar's response_202 does.
  app.put<{ Params: ConferenceParams }>(`${base}/:conferenceId`, { schema: SCHEMAS.action }, async (request, reply) => {
    const account = requestedAccount(request);
    const data = requestData(request.body);
    const requested = requireOneOf('action', data.action, CONFERENCE_ACTIONS);
    const conf = await resolveConference(ctx, account, request.params.conferenceId);
    if (requested === 'dial') {
      const dialer = ctx.deps.dialer;
      if (!dialer) throw ValidationError.field('action', 'enum', 'dial is not available on this instance');
      // Dialled from here, the legs would join a second conference of that name on this instance's nodes.
      if (conf.live?.instance !== undefined) {
        throw new InvalidStateError(`conference ${conf.id} runs on another instance (${conf.live.instance}): dial through that instance`, { conference: conf.id, instance: conf.live.instance });
      }
      const dialRequest = restDialRequest(data.data, conf.id);
      // Kazoo's profile_name, else the document's profile.
      if (dialRequest.profile === undefined && typeof conf.doc?.doc.profile === 'string') dialRequest.profile = conf.doc.doc.profile;
      // A conference that runs nowhere is started by the dial (its first answering leg creates it).
      if (conf.live && !ctx.deps.nodeUp(conf.live.node)) requireRunning(ctx, conf);
      let result;
      try {
        result = await dialer.dial(dialRequest);
      } catch (err) {
        if (err instanceof InvalidArgumentError) {
          const field = typeof err.details?.field === 'string' ? err.details.field : 'data';
          throw ValidationError.field(`data.${field}`, 'invalid', err.message);
        }
        throw err;
      }
      reply.code(202);
      return success(request, restDialReply(result));
    }
    const action: ConferenceAction = requested;
    const command = actionCommand(action, data, conf.id, { location: ctx.mediaLocation, accountId: account });
    const live = requireRunning(ctx, conf);
    const result = await executeOn(ctx, conf, account, command);
    const out: Record<string, unknown> = { action, conference_id: conf.id, node: result.node || live.node };
    if (command.kind === 'play') out.media_id = command.file;
    if (command.kind === 'record' || command.kind === 'norecord') Object.assign(out, { record: command.kind === 'record' ? 'start' : 'stop', path: command.path });
    reply.code(202);
    return success(request, out);
  });
}

function badId(): never {
  throw ValidationError.field('id', 'type', 'Value is not of type string', 'string');
}
