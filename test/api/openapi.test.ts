/**
 * The OpenAPI 3.1 document at GET /v2/openapi.json (src/api/openapi.ts), generated from the route
 * schemas: it is a valid OpenAPI 3.1 document; it lists every route the HTTP server has (collected
 * with an onRoute hook), each with its methods; every route declares its schemas (a route without
 * one is flagged, proven with a schemaless route); and real answers match their documented schema.
 * The live conference comes from the real registry through the API's adapter, so the participant
 * objects checked are the ones the service serves.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { Validator } from '@seriousme/openapi-schema-validator';
import { registerApi, type ApiDeps, type ApiHandle } from '../../src/api/index.js';
import { createRecords } from '../../src/records/records.js';
import { realtimeFromRegistry } from '../../src/records/realtime-adapter.js';
import { openSqliteStorage, type Storage } from '../../src/storage/index.js';
import { ConferenceRegistry } from '../../src/state/registry.js';
import { startHttpServer, type HealthSource, type HttpServer } from '../../src/app/http-server.js';
import { ServiceMetrics } from '../../src/app/metrics.js';
import { ACCOUNT_A as A, TOKEN_A, testTokens, participantEvent, FakeEvents, FakeExecutor } from '../helpers/api-fakes.js';
import { event, member } from '../state/registry.helpers.js';

type OpenApiDoc = { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>; components: Record<string, any> };

const HEALTH: HealthSource = { live: () => true, readiness: () => ({ ready: true, nodes: { fs1: { state: 'up', up: true, sync: 'synced', ready: true } }, broker: { connected: true, buffered: 0 } }) };
const servers: HttpServer[] = [];

let app: FastifyInstance;
let storage: Storage;
let routes: RouteOptions[];
let events: FakeEvents;
let api: ApiHandle;

/**
 * The HTTP server as the service builds it (startHttpServer: the API with its console, then the
 * operations routes), over the real registry's view of one running conference with two callers.
 */
async function buildServer(
  extra?: (app: FastifyInstance) => void,
): Promise<{ app: FastifyInstance; storage: Storage; routes: RouteOptions[]; events: FakeEvents; api: ApiHandle }> {
  const seen: RouteOptions[] = [];
  const registry = new ConferenceRegistry();
  registry.apply(event('conference-create'));
  registry.apply(event('add-member', { member: member({ memberId: 1, callId: 'call-1', isModerator: true }) }));
  registry.apply(event('add-member', { member: member({ memberId: 2, callId: 'call-2' }) }));
  const db = openSqliteStorage({ path: ':memory:' });
  const events = new FakeEvents();
  const deps: ApiDeps = {
    registry: realtimeFromRegistry(registry),
    executor: new FakeExecutor(),
    storage: db,
    events,
    tokens: testTokens(),
    defaultAccountId: A,
    nodeUp: () => true,
  };
  let handle: ApiHandle | undefined;
  const http = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    health: HEALTH,
    metrics: new ServiceMetrics(),
    register: async (server) => {
      // fastify adds a HEAD route for each GET: it is the GET's, documented once (as @fastify/swagger does).
      server.addHook('onRoute', (route) => {
        if (route.method !== 'HEAD') seen.push(route);
      });
      handle = await registerApi(server, deps, createRecords(deps), { identity: { version: '9.9.9', node: 'confmgr@test' } });
      extra?.(server);
    },
  });
  servers.push(http);
  return { app: http.app, storage: db, routes: seen, events, api: handle! };
}

/** What a route lacks of its schema: a route without one makes the OpenAPI document lie by omission. */
function schemaProblems(route: RouteOptions): string[] {
  const where = `${String(route.method)} ${route.url}`;
  const schema = route.schema as Record<string, any> | undefined;
  if (!schema) return [`${where}: no schema`];
  const problems: string[] = [];
  if (!schema.response || Object.keys(schema.response).length === 0) problems.push(`${where}: no response schema`);
  const params = [...route.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
  for (const p of params) if (!schema.params?.properties?.[p]) problems.push(`${where}: path parameter ${p} not in schema.params`);
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  if (methods.some((m) => ['PUT', 'POST', 'PATCH'].includes(m)) && !schema.body) problems.push(`${where}: no body schema`);
  return problems;
}

/** OpenAPI's path of a fastify URL (`:id` → `{id}`). */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

async function fetchDoc(server: FastifyInstance): Promise<OpenApiDoc> {
  const res = await server.inject({ method: 'GET', url: '/v2/openapi.json' });
  expect(res.statusCode).toBe(200);
  return JSON.parse(res.body) as OpenApiDoc;
}

/** Validators of the documented answers and request bodies, read from the document itself (its components resolve the $refs). */
function documented(doc: OpenApiDoc): { answer(path: string, method: string, status: number): ValidateFunction; body(path: string, method: string): ValidateFunction } {
  const ajv = new Ajv2020({ strict: false, validateSchema: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ ...doc, $id: 'openapi.json' });
  const schema = (parts: string[]) => {
    const pointer = parts.map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');
    const v = ajv.getSchema(`openapi.json#/${pointer}`);
    if (!v) throw new Error(`not documented: ${parts.join(' ')}`);
    return v;
  };
  return {
    answer: (path, method, status) => schema(['paths', path, method, 'responses', String(status), 'content', 'application/json', 'schema']),
    body: (path, method) => schema(['paths', path, method, 'requestBody', 'content', 'application/json', 'schema']),
  };
}

beforeEach(async () => {
  ({ app, storage, routes, events, api } = await buildServer());
});

afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  await storage.close();
});

describe('GET /v2/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document, served without a token, with the X-Auth-Token security scheme', async () => {
    const doc = await fetchDoc(app);
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.components.securitySchemes.authToken).toEqual(expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-Auth-Token' }));
    expect((doc as any).security).toEqual([{ authToken: [] }]);
    // Public routes say so; the API's need the token (the global requirement).
    expect(doc.paths['/v2/openapi.json']!.get!.security).toEqual([]);
    expect(doc.paths['/healthz']!.get!.security).toEqual([]);
    expect(doc.paths['/v2/accounts/{accountId}/conferences']!.get!.security).toBeUndefined();
    // A wrong token does not matter to a public route.
    expect((await app.inject({ method: 'GET', url: '/v2/openapi.json', headers: { 'x-auth-token': 'wrong' } })).statusCode).toBe(200);
  });

  it('shares the envelope and the error as components, referenced by the routes', async () => {
    const doc = await fetchDoc(app);
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['SuccessEnvelope', 'ErrorEnvelope', 'ValidationErrors', 'ConferenceDocument', 'Participant']));
    const list = doc.paths['/v2/accounts/{accountId}/conferences']!.get!.responses as Record<string, any>;
    expect(list['200'].content['application/json'].schema.allOf[0]).toEqual({ $ref: '#/components/schemas/SuccessEnvelope' });
    expect(list['401'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ErrorEnvelope' });
  });

  it('lists every route of the server with its methods, and nothing else', async () => {
    const doc = await fetchDoc(app);
    const fromRoutes = new Set<string>();
    for (const r of routes) for (const m of Array.isArray(r.method) ? r.method : [r.method]) fromRoutes.add(`${m.toLowerCase()} ${openApiPath(r.url)}`);
    const fromDoc = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)));
    expect([...fromDoc].sort()).toEqual([...fromRoutes].sort());
    // The ones that matter most, by name (the set above could be empty on both sides).
    for (const op of ['get /v2/accounts/{accountId}/conferences', 'put /v2/accounts/{accountId}/conferences/{conferenceId}', 'get /v2/websocket', 'get /conferencecalls', 'get /readyz', 'get /console/']) {
      expect(fromDoc).toContain(op);
    }
  });

  it('every route declares its schemas (params, body, responses)', () => {
    expect(routes.length).toBeGreaterThan(15);
    expect(routes.flatMap(schemaProblems)).toEqual([]);
  });

  it('flags a route registered without a schema, and one missing its parameters or body', async () => {
    const flagged = await buildServer((server) => {
      server.get('/v2/undocumented', async () => ({}));
      server.post('/v2/things/:thingId', { schema: { response: { 200: { type: 'object' } } } }, async () => ({}));
    });
    try {
      expect(flagged.routes.flatMap(schemaProblems)).toEqual([
        'GET /v2/undocumented: no schema',
        'POST /v2/things/:thingId: path parameter thingId not in schema.params',
        'POST /v2/things/:thingId: no body schema',
      ]);
    } finally {
      await flagged.storage.close();
    }
  });
});

describe('documented request bodies agree with the handlers (which validate)', () => {
  // Bodies the handler accepts are documented as valid; bodies the schema refuses, the handler refuses (400).
  const cases: Array<{ path: string; method: 'put'; url: string; good: object[]; bad: object[] }> = [
    {
      path: '/v2/accounts/{accountId}/conferences',
      method: 'put',
      url: `/v2/accounts/${A}/conferences`,
      good: [
        { data: {} },
        { data: { name: 'Sales', owner_id: 'a'.repeat(32), ui_metadata: { origin: 'x' } } },
        { data: { play_entry_tone: 'tone_stream://%(200,0,500)', play_exit_tone: false, play_name: true } },
        { data: { member: { join_muted: false, pins: ['1234'] }, moderator: { numbers: ['1000'] }, conference_numbers: ['5000'] } },
        { data: { profile: 'default', max_members: 5 } },
      ],
      bad: [
        {},
        { data: [] },
        { data: { name: '' } },
        { data: { name: 'x'.repeat(129) } },
        { data: { name: 5 } },
        { data: { owner_id: 'short' } },
        { data: { play_entry_tone: '' } },
        { data: { play_entry_tone: 'two words' } },
        { data: { max_members: 0 } },
        { data: { max_members: 1.5 } },
        { data: { profile: 'a b' } },
        { data: { member: { join_muted: 'yes' } } },
        { data: { member: 'x' } },
        { data: { conference_numbers: [1] } },
        { data: { conference_numbers: ['1'.repeat(129)] } },
        { data: { id: '.hidden' } },
      ],
    },
    {
      path: '/v2/accounts/{accountId}/conferences/{conferenceId}',
      method: 'put',
      url: `/v2/accounts/${A}/conferences/room`,
      good: [{ data: { action: 'lock' } }, { data: { action: 'unlock' } }, { data: { action: 'play', media_id: '/tmp/welcome.wav' } }],
      bad: [{}, { data: { action: 'dial' } }, { data: { action: 5 } }, { data: { action: 'play' } }, { data: { action: 'record' } }, { data: { action: 'record', record: 'pause', path: '/tmp/x.wav' } }],
    },
    {
      path: '/v2/accounts/{accountId}/conferences/{conferenceId}/participants',
      method: 'put',
      url: `/v2/accounts/${A}/conferences/room/participants`,
      good: [
        { data: { action: 'mute' } },
        { data: { action: 'kick', target: 'non_moderator' } },
        { data: { action: 'relate', participant_id: 1, other_participant: '2', relationship: 'deaf' } },
      ],
      bad: [
        { data: { action: 'mute', target: 'moderators' } },
        { data: { action: 'relate', participant_id: 0, other_participant: 2 } },
        { data: { action: 'relate', participant_id: 1 } },
        { data: { action: 'relate', participant_id: 1, other_participant: 2, relationship: 'ignore' } },
        { data: { action: 'play', media_id: 7 } },
      ],
    },
  ];

  it.each(cases.map((c) => [`${c.method.toUpperCase()} ${c.path}`, c] as const))('%s', async (_name, c) => {
    const validate = documented(await fetchDoc(app)).body(c.path, c.method);
    for (const body of c.good) {
      expect({ body, valid: validate(body) }).toEqual({ body, valid: true });
      const res = await app.inject({ method: 'PUT', url: c.url, headers: { 'x-auth-token': TOKEN_A }, payload: body });
      expect({ body, status: res.statusCode }).toEqual({ body, status: expect.toSatisfy((s: number) => s === 201 || s === 202) });
    }
    for (const body of c.bad) {
      expect({ body, valid: validate(body) }).toEqual({ body, valid: false });
      const res = await app.inject({ method: 'PUT', url: c.url, headers: { 'x-auth-token': TOKEN_A }, payload: body });
      expect({ body, status: res.statusCode }).toEqual({ body, status: 400 });
    }
  });
});

describe('answers match their documented schema', () => {
  const auth = { 'x-auth-token': TOKEN_A };
  const confs = `/v2/accounts/${A}/conferences`;

  async function answer(method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, headers: Record<string, string> = auth) {
    const res = await app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: JSON.parse(res.body) as unknown };
  }

  function expectValid(validate: ValidateFunction, body: unknown): void {
    const ok = validate(body);
    expect(ok ? [] : validate.errors).toEqual([]);
  }

  it('conferences: list, create, get, replace, patch, delete', async () => {
    const check = documented(await fetchDoc(app)).answer;
    const created = await answer('PUT', confs, { data: { id: 'sales', name: 'Sales', member: { pins: ['1234'] }, ui_metadata: { origin: 'test' } } });
    expect(created.status).toBe(201);
    expectValid(check('/v2/accounts/{accountId}/conferences', 'put', 201), created.body);

    const list = await answer('GET', confs);
    expect(list.status).toBe(200);
    expect((list.body as any).data.map((c: any) => c.id).sort()).toEqual(['room', 'sales']);
    expectValid(check('/v2/accounts/{accountId}/conferences', 'get', 200), list.body);

    const one = '/v2/accounts/{accountId}/conferences/{conferenceId}';
    const running = await answer('GET', `${confs}/room`);
    expect((running.body as any).data._read_only.participants).toHaveLength(2);
    expectValid(check(one, 'get', 200), running.body);
    expectValid(check(one, 'get', 200), (await answer('GET', `${confs}/sales`)).body);
    expectValid(check(one, 'post', 200), (await answer('POST', `${confs}/sales`, { data: { name: 'Sales 2' } })).body);
    expectValid(check(one, 'patch', 200), (await answer('PATCH', `${confs}/sales`, { data: { play_name: true } })).body);
    expectValid(check(one, 'delete', 200), (await answer('DELETE', `${confs}/sales`)).body);
  });

  it("an action's 202 and the participants views", async () => {
    const check = documented(await fetchDoc(app)).answer;
    const lock = await answer('PUT', `${confs}/room`, { data: { action: 'lock' } });
    expect(lock.status).toBe(202);
    expectValid(check('/v2/accounts/{accountId}/conferences/{conferenceId}', 'put', 202), lock.body);

    const participants = '/v2/accounts/{accountId}/conferences/{conferenceId}/participants';
    const mute = await answer('PUT', `${confs}/room/participants`, { data: { action: 'mute' } });
    expect(mute.status).toBe(202);
    expectValid(check(participants, 'put', 202), mute.body);
    const relate = await answer('PUT', `${confs}/room/participants`, { data: { action: 'relate', participant_id: 1, other_participant: 2, relationship: 'mute' } });
    expect(relate.status).toBe(202);
    expectValid(check(participants, 'put', 202), relate.body);
    expectValid(check(participants, 'get', 200), (await answer('GET', `${confs}/room/participants`)).body);
    expectValid(check(`${participants}/{participantId}`, 'get', 200), (await answer('GET', `${confs}/room/participants/2`)).body);
    const kick = await answer('PUT', `${confs}/room/participants/2`, { data: { action: 'kick' } });
    expect(kick.status).toBe(202);
    expectValid(check(`${participants}/{participantId}`, 'put', 202), kick.body);
  });

  it('errors: 400 (Kazoo validation errors), 401, 403, 404, each in the error envelope', async () => {
    const check = documented(await fetchDoc(app)).answer;
    const one = '/v2/accounts/{accountId}/conferences/{conferenceId}';
    const invalid = await answer('PUT', `${confs}/room`, { data: { action: 'dial' } });
    expect(invalid).toMatchObject({ status: 400, body: { data: { action: { enum: { message: expect.any(String) } } } } });
    expectValid(check(one, 'put', 400), invalid.body);
    const noToken = await answer('GET', `${confs}/room`, undefined, {});
    expect(noToken.status).toBe(401);
    expectValid(check(one, 'get', 401), noToken.body);
    const other = await answer('GET', '/v2/accounts/acc_b/conferences/room');
    expect(other.status).toBe(403);
    expectValid(check(one, 'get', 403), other.body);
    const missing = await answer('GET', `${confs}/nothere`);
    expect(missing.status).toBe(404);
    expectValid(check(one, 'get', 404), missing.body);
    // The schema is strict enough to catch a wrong answer: a success body is not an error envelope.
    expect(check(one, 'get', 404)((await answer('GET', `${confs}/room`)).body)).toBe(false);
  });

  it('conferencecalls and the operations routes', async () => {
    const check = documented(await fetchDoc(app)).answer;
    // A joining call makes a conferencecall record.
    events.emit(participantEvent('add-member', 'room', 'call-2', 2, { custom_channel_vars: { account_id: A } }));
    await api.idle();
    const calls = await answer('GET', '/conferencecalls?page_size=5');
    expect(calls.status).toBe(200);
    expect((calls.body as any).result.length).toBeGreaterThan(0);
    expectValid(check('/conferencecalls', 'get', 200), calls.body);
    const id = (calls.body as any).result[0].id as string;
    expectValid(check('/conferencecalls/{id}', 'get', 200), (await answer('GET', `/conferencecalls/${id}`)).body);
    expectValid(check('/readyz', 'get', 200), (await answer('GET', '/readyz', undefined, {})).body);
    expectValid(check('/healthz', 'get', 200), (await answer('GET', '/healthz', undefined, {})).body);
  });
});
