/**
 * A running conference's account is sticky: a caller whose channel variables name another account
 * does not move an undocumented conference to that account (issue: A lost access, B gained control of
 * A's members). Through the REST API with two tokens: A keeps seeing and commanding it, B gets the 403
 * the API gives for another account's conference, and B's call is recorded under A's account.
 * Unit level: fake registry / executor / events (joins emitted as the service emits them), SQLite in
 * memory, fastify.inject.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { Writable } from 'node:stream';
import { createRecords } from '../../src/records/records.js';
import { registerApi, type ApiHandle } from '../../src/api/index.js';
import { openSqliteStorage, type Storage } from '../../src/storage/index.js';
import { createLogger } from '../../src/util/log.js';
import { ConferenceAttributions, conferenceOwner } from '../../src/records/account.js';
import { ACCOUNT_A as A, ACCOUNT_B as B, TOKEN_A, TOKEN_B, testTokens, FakeEvents, FakeExecutor, FakeRegistry, participantEvent } from '../helpers/api-fakes.js';

interface Rig {
  app: FastifyInstance;
  storage: Storage;
  registry: FakeRegistry;
  executor: FakeExecutor;
  events: FakeEvents;
  api: ApiHandle;
  logs: Array<Record<string, unknown>>;
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
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const deps = {
    registry,
    executor,
    storage,
    events,
    tokens: testTokens(),
    ...(defaultAccountId !== undefined ? { defaultAccountId } : {}),
    nodeUp: () => true,
    logger: createLogger({ level: 'warn', destination: sink }),
  };
  const api = await registerApi(app, deps, createRecords(deps));
  await app.ready();
  rig = { app, storage, registry, executor, events, api, logs };
  return rig;
}

async function call(r: Rig, method: 'GET' | 'PUT' | 'DELETE', url: string, token: string, body?: unknown) {
  const res = await r.app.inject({ method, url, headers: { 'x-auth-token': token }, ...(body !== undefined ? { payload: body as object } : {}) });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, any> };
}

/** A caller joins as the service reports it: registry first, then its add-member event. */
async function join(r: Rig, conf: string, memberId: number, callId: string, account?: string): Promise<void> {
  const ccv = account === undefined ? {} : { account_id: account };
  r.registry.join(conf, { participant_id: memberId, call_id: callId, custom_channel_vars: ccv });
  r.events.emit(participantEvent('add-member', conf, callId, memberId, { custom_channel_vars: ccv, instance_id: r.registry.conference(conf)!.uuid }));
  await r.api.idle();
}

async function leave(r: Rig, conf: string, memberId: number, callId: string, account?: string): Promise<void> {
  r.registry.leave(conf, callId);
  const ccv = account === undefined ? {} : { account_id: account };
  r.events.emit(participantEvent('del-member', conf, callId, memberId, { custom_channel_vars: ccv, instance_id: r.registry.conference(conf)!.uuid }));
  await r.api.idle();
}

/** What each token may do with the conference `conf`. */
async function expectOwnedByA(r: Rig, conf: string, memberIds: number[]): Promise<void> {
  const a = await call(r, 'GET', `/v2/accounts/${A}/conferences/${conf}/participants`, TOKEN_A);
  expect(a.status).toBe(200);
  expect((a.body.data as Array<{ participant_id: number }>).map((p) => p.participant_id).sort()).toEqual(memberIds);
  expect((await call(r, 'GET', `/v2/accounts/${A}/conferences`, TOKEN_A)).body.data.map((c: { id: string }) => c.id)).toContain(conf);

  for (const [method, path, body] of [
    ['GET', '', undefined],
    ['GET', '/participants', undefined],
    ['PUT', '/participants', { data: { action: 'kick' } }],
    ['PUT', `/participants/${memberIds[0]}`, { data: { action: 'mute' } }],
    ['PUT', '', { data: { action: 'lock' } }],
  ] as const) {
    const b = await call(r, method, `/v2/accounts/${B}/conferences/${conf}${path}`, TOKEN_B, body);
    expect(b.status, `${method} ${path} as B`).toBe(403);
  }
  expect((await call(r, 'GET', `/v2/accounts/${B}/conferences`, TOKEN_B)).body.data.map((c: { id: string }) => c.id)).not.toContain(conf);
  // Nothing B asked for reached FreeSWITCH; A still commands every member, B's caller included.
  expect(r.executor.commands).toHaveLength(0);
  const kick = await call(r, 'PUT', `/v2/accounts/${A}/conferences/${conf}/participants/${memberIds[memberIds.length - 1]}`, TOKEN_A, { data: { action: 'kick' } });
  expect(kick.status).toBe(202);
}

describe('a running conference keeps its first account', () => {
  it('the default account keeps a room whose later caller names account B', async () => {
    const r = await start(A);
    await join(r, 'room', 1, 'a-call');
    await join(r, 'room', 2, 'b-call', B);
    await expectOwnedByA(r, 'room', [1, 2]);
    // B's call is A's conferencecall, not B's.
    const calls = await call(r, 'GET', '/conferencecalls', TOKEN_B);
    expect(calls.body.result).toEqual([]);
    const mine = await call(r, 'GET', '/conferencecalls', TOKEN_A);
    expect(mine.body.result.map((c: { reference_id: string }) => c.reference_id).sort()).toEqual(['a-call', 'b-call']);
  });

  it("A's room stays A's after A's first caller left and B's caller has the lowest member id", async () => {
    const r = await start();
    await join(r, 'room', 1, 'a1', A);
    await join(r, 'room', 2, 'b1', B);
    await join(r, 'room', 3, 'a2', A);
    await leave(r, 'room', 1, 'a1', A);
    await expectOwnedByA(r, 'room', [2, 3]);
  });

  it('logs the foreign participant once per conference', async () => {
    const r = await start();
    await join(r, 'room', 1, 'a1', A);
    await join(r, 'room', 2, 'b1', B);
    await join(r, 'room', 3, 'b2', B);
    const warnings = r.logs.filter((l) => String(l.msg).includes('another account'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ conference: 'room', account: A, participant_account: B });
  });

  it('a conference nothing attributed yet goes to its first account-carrying caller; a new instance of the name starts afresh', async () => {
    const r = await start();
    await join(r, 'room', 1, 'plain');
    expect((await call(r, 'GET', `/v2/accounts/${B}/conferences/room`, TOKEN_B)).status).toBe(404);
    await join(r, 'room', 2, 'b1', B);
    await join(r, 'room', 3, 'a1', A);
    expect((await call(r, 'GET', `/v2/accounts/${B}/conferences/room`, TOKEN_B)).status).toBe(200);
    expect((await call(r, 'GET', `/v2/accounts/${A}/conferences/room`, TOKEN_A)).status).toBe(403);

    // The conference ends; the same name starts again on FreeSWITCH (new uuid) with A's caller first.
    for (const [id, c] of [[1, 'plain'], [2, 'b1'], [3, 'a1']] as const) await leave(r, 'room', id, c);
    r.events.emit({ event: 'conference-destroy', conferenceId: 'room', timestampUs: 0, payload: { conference_id: 'room', instance_id: 'uuid-room' } });
    r.registry.live.delete('room');
    r.registry.start('room', { uuid: 'uuid-room-2' });
    await join(r, 'room', 1, 'a9', A);
    await join(r, 'room', 2, 'b9', B);
    expect((await call(r, 'GET', `/v2/accounts/${A}/conferences/room`, TOKEN_A)).status).toBe(200);
    expect((await call(r, 'GET', `/v2/accounts/${B}/conferences/room`, TOKEN_B)).status).toBe(403);
  });

  it('a conference document still decides, whatever its first caller names', async () => {
    const r = await start();
    expect((await call(r, 'PUT', `/v2/accounts/${A}/conferences`, TOKEN_A, { data: { id: 'doc_room' } })).status).toBe(201);
    await join(r, 'doc_room', 1, 'b1', B);
    expect((await call(r, 'GET', `/v2/accounts/${A}/conferences/doc_room`, TOKEN_A)).status).toBe(200);
    expect((await call(r, 'GET', `/v2/accounts/${B}/conferences/doc_room`, TOKEN_B)).status).toBe(403);
    // And a running conference of B's cannot be documented by A.
    await join(r, 'b_room', 1, 'b2', B);
    expect((await call(r, 'PUT', `/v2/accounts/${A}/conferences`, TOKEN_A, { data: { id: 'b_room' } })).status).toBe(400);
  });
});

describe('ConferenceAttributions', () => {
  const live = (uuid: string, vars: Array<string | undefined>) => ({
    name: 'room',
    uuid,
    node: 'fs1',
    focus: 'fs',
    is_locked: false,
    duration: 0,
    participants: vars.map((account, i) => ({ participant_id: i + 1, call_id: `c${i}`, custom_channel_vars: account ? { account_id: account } : {} }) as never),
  });

  it('the first sight of a running conference with participants decides; an empty one is not attributed yet', () => {
    const at = new ConferenceAttributions({ defaultAccount: 'dflt' });
    expect(conferenceOwner({ live: live('u1', []), defaultAccount: 'dflt', attributions: at })).toBe('dflt');
    expect(at.size).toBe(0);
    expect(conferenceOwner({ live: live('u1', ['acme']), defaultAccount: 'dflt', attributions: at })).toBe('acme');
    expect(conferenceOwner({ live: live('u1', ['other', 'acme']), defaultAccount: 'dflt', attributions: at })).toBe('acme');
    expect(conferenceOwner({ documentAccount: 'doc', live: live('u1', ['acme']), attributions: at })).toBe('doc');
  });

  it("an ended conference's attribution serves its late events, then is dropped", () => {
    let now = 0;
    const at = new ConferenceAttributions({ now: () => now, retainMs: 1000 });
    const add = participantEvent('add-member', 'room', 'c1', 1, { custom_channel_vars: { account_id: 'acme' }, instance_id: 'u1' });
    at.handle(add);
    at.handle({ event: 'conference-destroy', conferenceId: 'room', timestampUs: 0, payload: { conference_id: 'room', instance_id: 'u1' } });
    const late = participantEvent('del-member', 'room', 'c2', 2, { custom_channel_vars: { account_id: 'other' }, instance_id: 'u1' });
    expect(conferenceOwner({ payload: late.payload, attributions: at })).toBe('acme');
    now = 1000;
    at.handle(participantEvent('add-member', 'other_room', 'c3', 1, { instance_id: 'u2' }));
    expect(at.size).toBe(0);
    expect(conferenceOwner({ payload: late.payload, attributions: at })).toBe('other');
  });
});
