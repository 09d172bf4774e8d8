/**
 * Conferences that nothing attributes to an account (no document, no ecallmgr_Account-ID / account_id
 * channel variable — a plain FreeSWITCH): with `http.default_account_id` they are that account's
 * (REST, conferencecalls, WebSocket ownership); without it a request by name says why it gets 404.
 * Unit level: fake registry / executor / events, SQLite in memory, fastify.inject.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerApi, type ApiDeps, type ApiHandle } from '../../src/api/index.js';
import { createRecords } from '../../src/records/records.js';
import { conferenceOwner } from '../../src/records/account.js';
import { openSqliteStorage, type Storage } from '../../src/storage/index.js';
import { parseConfig } from '../../src/config/index.js';
import { ACCOUNT_A as A, ACCOUNT_B as B, TOKEN_A, TOKEN_B, testTokens, FakeEvents, FakeExecutor, FakeRegistry, participantEvent } from '../helpers/api-fakes.js';

interface Rig {
  app: FastifyInstance;
  storage: Storage;
  registry: FakeRegistry;
  executor: FakeExecutor;
  events: FakeEvents;
  api: ApiHandle;
}
let rig: Rig | undefined;

afterEach(async () => {
  await rig?.app.close();
  await rig?.storage.close();
  rig = undefined;
});

async function start(defaultAccountId?: string): Promise<Rig> {
  const app = Fastify();
  const storage = openSqliteStorage({ path: ':memory:' });
  const registry = new FakeRegistry();
  const executor = new FakeExecutor();
  const events = new FakeEvents();
  const deps: ApiDeps = {
    registry,
    executor,
    storage,
    events,
    tokens: testTokens(),
    ...(defaultAccountId !== undefined ? { defaultAccountId } : {}),
    nodeUp: () => true,
  };
  const api = await registerApi(app, deps, createRecords(deps));
  await app.ready();
  rig = { app, storage, registry, executor, events, api };
  return rig;
}

async function call(r: Rig, method: 'GET' | 'PUT', url: string, token: string, body?: unknown) {
  const res = await r.app.inject({ method, url, headers: { 'x-auth-token': token }, ...(body !== undefined ? { payload: body as object } : {}) });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, any> };
}

/** room1 as a plain FreeSWITCH has it: two callers, no account variable at all. */
function plainRoom(r: Rig): void {
  r.registry.join('room1', { participant_id: 1, call_id: 'c1', channel_vars: { caller_id_number: '1001' } });
  r.registry.join('room1', { participant_id: 2, call_id: 'c2', channel_vars: { caller_id_number: '1002' } });
}

describe('conferenceOwner: the one ownership rule', () => {
  const live = (vars: Record<string, string> = {}) => ({
    name: 'x',
    uuid: 'u',
    node: 'fs1',
    focus: 'vm',
    is_locked: false,
    duration: 1,
    participants: [{ participant_id: 1, channel_vars: vars } as never],
  });
  it('document, then channel variables, then the default — the default only for a running conference or an event', () => {
    expect(conferenceOwner({ documentAccount: 'doc', live: live({ account_id: 'var' }), defaultAccount: 'dflt' })).toBe('doc');
    expect(conferenceOwner({ live: live({ 'ecallmgr_Account-ID': 'var' }), defaultAccount: 'dflt' })).toBe('var');
    expect(conferenceOwner({ payload: { custom_channel_vars: { account_id: 'ccv' } }, live: live(), defaultAccount: 'dflt' })).toBe('ccv');
    expect(conferenceOwner({ live: live(), defaultAccount: 'dflt' })).toBe('dflt');
    expect(conferenceOwner({ payload: { custom_channel_vars: {} }, defaultAccount: 'dflt' })).toBe('dflt');
    expect(conferenceOwner({ live: live() })).toBeUndefined();
    // Not running and no document: nobody's, default or not.
    expect(conferenceOwner({ defaultAccount: 'dflt' })).toBeUndefined();
  });
});

describe('without http.default_account_id', () => {
  it('a running unattributed conference is 404 CONFERENCE_UNATTRIBUTED, saying what to do', async () => {
    const r = await start();
    plainRoom(r);
    const got = await call(r, 'GET', `/v2/accounts/${A}/conferences/room1/participants`, TOKEN_A);
    expect(got.status).toBe(404);
    expect(got.body.data.code).toBe('CONFERENCE_UNATTRIBUTED');
    expect(got.body.data.message).toMatch(/running but belongs to no account/);
    expect(got.body.data.message).toMatch(/http\.default_account_id/);
    // A conference that does not exist at all is still a plain 404.
    const none = await call(r, 'GET', `/v2/accounts/${A}/conferences/nosuch/participants`, TOKEN_A);
    expect(none.status).toBe(404);
    expect(none.body.data.code).toBe('NOT_FOUND');
    expect((await call(r, 'GET', `/v2/accounts/${A}/conferences`, TOKEN_A)).body.data).toEqual([]);
  });
});

describe('with http.default_account_id', () => {
  it('unattributed conferences are listed, read and commanded by the default account only', async () => {
    const r = await start(A);
    plainRoom(r);
    const list = await call(r, 'GET', `/v2/accounts/${A}/conferences`, TOKEN_A);
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([expect.objectContaining({ id: 'room1', members: 2 })]);
    const parts = await call(r, 'GET', `/v2/accounts/${A}/conferences/room1/participants`, TOKEN_A);
    expect(parts.status).toBe(200);
    expect(parts.body.data.map((p: { participant_id: number }) => p.participant_id)).toEqual([1, 2]);
    const mute = await call(r, 'PUT', `/v2/accounts/${A}/conferences/room1/participants/2`, TOKEN_A, { data: { action: 'mute' } });
    expect(mute.status).toBe(202);
    expect(r.executor.lines.at(-1)).toBe('conference room1 mute 2');
    // Another account sees neither the conference nor gets to act on it.
    expect((await call(r, 'GET', `/v2/accounts/${B}/conferences`, TOKEN_B)).body.data).toEqual([]);
    expect((await call(r, 'GET', `/v2/accounts/${B}/conferences/room1/participants`, TOKEN_B)).status).toBe(403);
  });

  it('never overrides a document or an account channel variable', async () => {
    const r = await start(A);
    r.registry.join('kazoo', { participant_id: 1, call_id: 'k1', channel_vars: { 'ecallmgr_Account-ID': B } });
    r.registry.join('documented', { participant_id: 1, call_id: 'd1', channel_vars: {} });
    // Running and unattributed, it is A's: B cannot claim it through the API...
    const claim = await call(r, 'PUT', `/v2/accounts/${B}/conferences`, TOKEN_B, { data: { id: 'documented', name: 'B room' } });
    expect(claim.status).toBe(400);
    expect(claim.body.data).toHaveProperty('id');
    // ...but a document, once there (created before the conference started), wins over the default.
    await r.api.documents.create('documented', B, { name: 'B room' });
    const listA = (await call(r, 'GET', `/v2/accounts/${A}/conferences`, TOKEN_A)).body.data as Array<{ id: string }>;
    expect(listA.map((c) => c.id)).toEqual([]);
    const listB = (await call(r, 'GET', `/v2/accounts/${B}/conferences`, TOKEN_B)).body.data as Array<{ id: string }>;
    expect(listB.map((c) => c.id).sort()).toEqual(['documented', 'kazoo']);
    expect((await call(r, 'GET', `/v2/accounts/${A}/conferences/kazoo/participants`, TOKEN_A)).status).toBe(403);
  });

  it('conferencecall records of unattributed conferences belong to the default account', async () => {
    const r = await start(A);
    plainRoom(r);
    r.events.emit(participantEvent('add-member', 'room1', 'c1', 1));
    await r.api.idle();
    const mine = await r.app.inject({ method: 'GET', url: '/conferencecalls?conference_id=room1', headers: { 'x-auth-token': TOKEN_A } });
    const result = (JSON.parse(mine.body) as { result: Array<Record<string, unknown>> }).result;
    expect(result).toEqual([expect.objectContaining({ customer_id: A, reference_id: 'c1', status: 'joined' })]);
    const theirs = await r.app.inject({ method: 'GET', url: '/conferencecalls?conference_id=room1', headers: { 'x-auth-token': TOKEN_B } });
    expect((JSON.parse(theirs.body) as { result: unknown[] }).result).toEqual([]);
  });
});

describe('config: http.default_account_id', () => {
  const base = 'freeswitch: {nodes: [{name: fs1, host: 127.0.0.1, password: x}]}\n';
  it('is optional, validated like an account id, and resolved as http.defaultAccountId', () => {
    expect(parseConfig(base, 't').http.defaultAccountId).toBeUndefined();
    expect(parseConfig(`${base}http: {default_account_id: demo}\n`, 't').http.defaultAccountId).toBe('demo');
    expect(parseConfig(base, 't', { env: { CONFMGR_HTTP__DEFAULT_ACCOUNT_ID: 'acme' } }).http.defaultAccountId).toBe('acme');
    expect(() => parseConfig(`${base}http: {default_account_id: "bad id!"}\n`, 't')).toThrow(/http\.default_account_id: expected an account id/);
  });
});
