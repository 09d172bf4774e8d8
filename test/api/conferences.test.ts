/**
 * Unit-level (fake registry / executor / events; real SQLite in memory; HTTP through fastify.inject):
 * the conferences and participants API of seed 004, auth, envelopes, error mapping.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerApi, type ApiDeps, type ApiHandle } from '../../src/api/index.js';
import { createRecords, type Records } from '../../src/records/records.js';
import { openSqliteStorage, type Storage } from '../../src/storage/index.js';
import { Writable } from 'node:stream';
import { NodeDownError, MemberNotFoundError, CommandRejectedError, ConferenceAmbiguousError } from '../../src/conference/errors.js';
import { EslOverloadError } from '../../src/esl/errors.js';
import { HTTP_STATUS_BY_CODE } from '../../src/api/errors.js';
import { createLogger } from '../../src/util/log.js';
import { ACCOUNT_A as A, ACCOUNT_B as B, TOKEN_A, TOKEN_B, testTokens, FakeEvents, FakeExecutor, FakeRegistry } from '../helpers/api-fakes.js';

let app: FastifyInstance;
let storage: Storage;
let registry: FakeRegistry;
let executor: FakeExecutor;
let events: FakeEvents;
let down: Set<string>;
let api: ApiHandle;
let records: Records;

beforeEach(async () => {
  app = Fastify();
  storage = openSqliteStorage({ path: ':memory:' });
  registry = new FakeRegistry();
  executor = new FakeExecutor();
  events = new FakeEvents();
  down = new Set();
  const deps: ApiDeps = {
    registry,
    executor,
    storage,
    events,
    tokens: testTokens(),
    nodeUp: (n) => !down.has(n),
  };
  records = createRecords(deps);
  api = await registerApi(app, deps, records);
  await app.ready();
});

afterEach(async () => {
  await app.close();
  await storage.close();
});

type Method = 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
async function call(method: Method, url: string, body?: unknown, token: string | null = TOKEN_A, headers: Record<string, string> = {}) {
  const res = await app.inject({
    method,
    url,
    headers: { ...(token ? { 'x-auth-token': token } : {}), ...headers },
    ...(body !== undefined ? { payload: body as object } : {}),
  });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, any>) : undefined, headers: res.headers };
}

const confs = `/v2/accounts/${A}/conferences`;

describe('access', () => {
  it('401 without or with a wrong token, 403 for another account', async () => {
    const none = await call('GET', confs, undefined, null);
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ status: 'error', error: '401' });
    expect((await call('GET', confs, undefined, 'not-a-token')).status).toBe(401);
    const other = await call('GET', confs, undefined, TOKEN_B);
    expect(other.status).toBe(403);
    expect(other.body).toMatchObject({ status: 'error', error: '403' });
    // The token never appears in a response.
    expect(JSON.stringify(other.body)).not.toContain(TOKEN_B);
  });

  it('403 on a conference document of another account, even through its own account path', async () => {
    await call('PUT', confs, { data: { id: 'conf_a', name: 'A' } });
    const b = await call('GET', `/v2/accounts/${B}/conferences/conf_a`, undefined, TOKEN_B);
    expect(b.status).toBe(403);
    const patch = await call('PATCH', `/v2/accounts/${B}/conferences/conf_a`, { data: { name: 'x' } }, TOKEN_B);
    expect(patch.status).toBe(403);
  });

  it('returns the request id from X-Request-ID, else generates one', async () => {
    const given = await call('GET', confs, undefined, TOKEN_A, { 'x-request-id': 'req-123' });
    expect(given.body?.request_id).toBe('req-123');
    expect(given.headers['x-request-id']).toBe('req-123');
    const made = await call('GET', confs);
    expect(made.body?.request_id).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('conference documents', () => {
  it('creates with the seed defaults, fetches with _read_only and revision', async () => {
    const created = await call('PUT', confs, { data: { name: 'Sales', ui_metadata: { ui: 'kazoo-ui' } } });
    expect(created.status).toBe(201);
    const id = created.body?.data.id as string;
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(created.body?.revision).toMatch(/^1-[0-9a-f]{32}$/);

    const got = await call('GET', `${confs}/${id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ status: 'success', revision: created.body?.revision });
    expect(got.body?.data).toEqual({
      id,
      name: 'Sales',
      ui_metadata: { ui: 'kazoo-ui' },
      conference_numbers: [],
      play_name: false,
      member: { join_muted: true, join_deaf: false, numbers: [], pins: [] },
      moderator: { join_muted: false, join_deaf: false, numbers: [], pins: [] },
      _read_only: { members: 0, admins: 0, duration: 0, is_locked: false, participants: [] },
    });
  });

  it('the list shows realtime members, admins, duration and is_locked', async () => {
    await call('PUT', confs, { data: { id: 'room1', name: 'Room', owner_id: 'o'.repeat(32), member: { join_muted: false } } });
    await call('PUT', confs, { data: { id: 'room2' } });
    registry.start('room1', { is_locked: true, duration: 77 });
    registry.join('room1', { participant_id: 1, call_id: 'c1', is_moderator: true });
    registry.join('room1', { participant_id: 2, call_id: 'c2' });
    registry.join('room1', { participant_id: 3, call_id: 'c3' });
    // A running conference without a document, attributed to A by its channel variables.
    registry.join('adhoc', { participant_id: 9, call_id: 'c9', channel_vars: { 'ecallmgr_Account-ID': A } });
    // ...and one of account B, which A must not see.
    registry.join('bconf', { participant_id: 10, call_id: 'c10', custom_channel_vars: { account_id: B } });

    const list = await call('GET', confs);
    expect(list.status).toBe(200);
    expect(list.body?.data).toEqual([
      {
        id: 'room1',
        name: 'Room',
        owner_id: 'o'.repeat(32),
        member: { join_muted: false, join_deaf: false, numbers: [], pins: [] },
        moderator: { join_muted: false, join_deaf: false, numbers: [], pins: [] },
        members: 2,
        admins: 1,
        duration: 77,
        is_locked: true,
      },
      {
        id: 'room2',
        member: { join_muted: true, join_deaf: false, numbers: [], pins: [] },
        moderator: { join_muted: false, join_deaf: false, numbers: [], pins: [] },
        members: 0,
        admins: 0,
        duration: 0,
        is_locked: false,
      },
      { id: 'adhoc', members: 1, admins: 0, duration: 42, is_locked: false },
    ]);

    const one = await call('GET', `${confs}/room1`);
    expect(one.body?.data.focus).toBe('vm');
    expect(one.body?.data._read_only.participants.map((p: { participant_id: number }) => p.participant_id)).toEqual([1, 2, 3]);
    expect(one.body?.data._read_only.participants[0]).toEqual({
      call_id: 'c1',
      conference_name: 'room1',
      conference_uuid: 'uuid-room1',
      switch_hostname: 'vm',
      floor: false,
      hear: true,
      speak: true,
      talking: false,
      mute_detect: false,
      participant_id: 1,
      energy_level: 100,
      current_energy: 0,
      video: false,
      is_moderator: true,
      join_time: 63_900_000_000,
      duration: 3,
    });
    expect((await call('GET', `${confs}/bconf`)).status).toBe(403);
    expect((await call('GET', `${confs}/adhoc`)).body?.data._read_only.members).toBe(1);
  });

  it('validates every field of the schema table and names the field', async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ name: '' }, 'name', 'minLength'],
      [{ name: 'x'.repeat(129) }, 'name', 'maxLength'],
      [{ name: 5 }, 'name', 'type'],
      [{ owner_id: 'short' }, 'owner_id', 'minLength'],
      [{ owner_id: 'x'.repeat(33) }, 'owner_id', 'maxLength'],
      [{ member: { join_muted: 'yes' } }, 'member.join_muted', 'type'],
      [{ moderator: { join_deaf: 1 } }, 'moderator.join_deaf', 'type'],
      [{ member: { pins: '1234' } }, 'member.pins', 'type'],
      [{ moderator: { numbers: [1] } }, 'moderator.numbers.0', 'type'],
      [{ member: [] }, 'member', 'type'],
      [{ play_entry_tone: '' }, 'play_entry_tone', 'minLength'],
      [{ play_exit_tone: 3 }, 'play_exit_tone', 'type'],
      [{ play_entry_tone: 'tone_stream://x\r\napi hupall' }, 'play_entry_tone', 'pattern'],
      [{ play_name: 'no' }, 'play_name', 'type'],
      [{ conference_numbers: ['1', 2] }, 'conference_numbers.1', 'type'],
      [{ profile: 'default; hupall' }, 'profile', 'pattern'],
      [{ id: 'bad id' }, 'conference_id', 'pattern'],
    ];
    for (const [data, field, rule] of cases) {
      const res = await call('PUT', confs, { data });
      expect(res.status, JSON.stringify(data)).toBe(400);
      expect(res.body?.status).toBe('error');
      expect(res.body?.data[field === 'conference_id' ? 'id' : field]?.[rule] ?? res.body?.data[field]?.[rule], `${field} ${rule}`).toBeDefined();
    }
    const missing = await call('PUT', confs, { nodata: true });
    expect(missing.status).toBe(400);
    expect(missing.body?.data.data.required).toBeDefined();
    const ok = await call('PUT', confs, { data: { play_entry_tone: true, play_exit_tone: 'tone_stream://%(200,0,500)', focus: 'ignored', _read_only: { x: 1 } } });
    expect(ok.status).toBe(201);
    expect(ok.body?.data.focus).toBeUndefined();
    expect(ok.body?.data._read_only.members).toBe(0);
  });

  it('POST replaces, PATCH merges, both bump the revision; If-Match guards; DELETE removes', async () => {
    await call('PUT', confs, { data: { id: 'r', name: 'One', member: { join_muted: false, pins: ['1'] } } });
    const patched = await call('PATCH', `${confs}/r`, { data: { member: { join_deaf: true }, play_name: true } });
    expect(patched.status).toBe(200);
    expect(patched.body?.data.member).toEqual({ join_muted: false, join_deaf: true, numbers: [], pins: ['1'] });
    expect(patched.body?.data.play_name).toBe(true);
    expect(patched.body?.revision).toMatch(/^2-/);

    const bad = await call('PATCH', `${confs}/r`, { data: { name: '' } });
    expect(bad.status).toBe(400);
    expect(bad.body?.data.name.minLength).toBeDefined();

    const stale = await call('POST', `${confs}/r`, { data: { name: 'Two' } }, TOKEN_A, { 'if-match': '1-nope' });
    expect(stale.status).toBe(409);

    const posted = await call('POST', `${confs}/r`, { data: { name: 'Two' } }, TOKEN_A, { 'if-match': patched.body?.revision as string });
    expect(posted.status).toBe(200);
    expect(posted.body?.data.name).toBe('Two');
    expect(posted.body?.data.member).toEqual({ join_muted: true, join_deaf: false, numbers: [], pins: [] });
    expect(posted.body?.revision).toMatch(/^3-/);

    expect((await call('PUT', confs, { data: { id: 'r' } })).status).toBe(409);
    const del = await call('DELETE', `${confs}/r`);
    expect(del.status).toBe(200);
    expect(del.body?.data.id).toBe('r');
    expect((await call('GET', `${confs}/r`)).status).toBe(404);
    expect((await call('DELETE', `${confs}/r`)).status).toBe(404);
  });
});

describe('conference and participant actions', () => {
  beforeEach(async () => {
    await call('PUT', confs, { data: { id: 'room' } });
    registry.join('room', { participant_id: 1, call_id: 'c1', is_moderator: true });
    registry.join('room', { participant_id: 2, call_id: 'c2' });
  });

  it('lock / unlock go to the executor; bad action is 400 naming action', async () => {
    const res = await call('PUT', `${confs}/room`, { data: { action: 'lock' } });
    expect(res.status).toBe(202);
    expect(res.body?.data).toMatchObject({ action: 'lock', conference_id: 'room' });
    await call('PUT', `${confs}/room`, { data: { action: 'unlock' } });
    expect(executor.commands).toEqual([
      { kind: 'lock', conference: 'room' },
      { kind: 'unlock', conference: 'room' },
    ]);
    const bad = await call('PUT', `${confs}/room`, { data: { action: 'explode' } });
    expect(bad.status).toBe(400);
    expect(bad.body?.data.action.enum).toBeDefined();
    expect(executor.commands.length).toBe(2);
  });

  it('bulk participant actions target non_moderator; kick targets all', async () => {
    for (const action of ['mute', 'unmute', 'deaf', 'undeaf', 'kick']) {
      expect((await call('PUT', `${confs}/room/participants`, { data: { action } })).status).toBe(202);
    }
    expect(executor.commands.map((c) => [c.kind, 'target' in c ? c.target : undefined])).toEqual([
      ['mute', 'non_moderator'],
      ['unmute', 'non_moderator'],
      ['deaf', 'non_moderator'],
      ['undeaf', 'non_moderator'],
      ['kick', 'all'],
    ]);
    expect((await call('PUT', `${confs}/room/participants`, { data: { action: 'hold' } })).status).toBe(400);
  });

  it('bulk actions take an optional data.target (all | non_moderator), validated with a 400 naming target', async () => {
    const all = await call('PUT', `${confs}/room/participants`, { data: { action: 'mute', target: 'all' } });
    expect(all.status).toBe(202);
    expect(all.body?.data).toMatchObject({ action: 'mute', target: 'all' });
    expect((await call('PUT', `${confs}/room/participants`, { data: { action: 'kick', target: 'non_moderator' } })).status).toBe(202);
    expect((await call('PUT', `${confs}/room/participants`, { data: { action: 'undeaf', target: null } })).status).toBe(202);
    expect(executor.commands.map((c) => [c.kind, 'target' in c ? c.target : undefined])).toEqual([
      ['mute', 'all'],
      ['kick', 'non_moderator'],
      ['undeaf', 'non_moderator'],
    ]);
    for (const target of ['last', 'everyone', 2, ['all']]) {
      const bad = await call('PUT', `${confs}/room/participants`, { data: { action: 'mute', target } });
      expect(bad.status, JSON.stringify(target)).toBe(400);
      expect(bad.body?.data.target.enum.target).toEqual(['all', 'non_moderator']);
    }
    expect(executor.commands).toHaveLength(3);
  });

  it('one participant: its member id; 404 unknown participant; 400 malformed id', async () => {
    const res = await call('PUT', `${confs}/room/participants/2`, { data: { action: 'mute' } });
    expect(res.status).toBe(202);
    expect(executor.commands).toEqual([{ kind: 'mute', conference: 'room', target: 2 }]);
    expect((await call('PUT', `${confs}/room/participants/99`, { data: { action: 'kick' } })).status).toBe(404);
    const bad = await call('PUT', `${confs}/room/participants/1%20all`, { data: { action: 'kick' } });
    expect(bad.status).toBe(400);
    expect(bad.body?.data.participant_id).toBeDefined();
    const list = await call('GET', `${confs}/room/participants`);
    expect(list.body?.data.map((p: { call_id: string }) => p.call_id)).toEqual(['c1', 'c2']);
    expect((await call('GET', `${confs}/room/participants/2`)).body?.data.call_id).toBe('c2');
  });

  it('404 for an unknown conference or one that is not running; 503 when its node is down', async () => {
    expect((await call('PUT', `${confs}/nosuch/participants`, { data: { action: 'mute' } })).status).toBe(404);
    await call('PUT', confs, { data: { id: 'idle' } });
    const idle = await call('PUT', `${confs}/idle`, { data: { action: 'lock' } });
    expect(idle.status).toBe(404);
    down.add('fs1');
    const res = await call('PUT', `${confs}/room/participants/2`, { data: { action: 'mute' } });
    expect(res.status).toBe(503);
    expect(res.body?.error).toBe('503');
    expect(executor.commands).toEqual([]);
  });

  it('maps executor errors through the one table', async () => {
    const cases: Array<[Error, number]> = [
      [new NodeDownError('fs1'), 503],
      [new MemberNotFoundError('room', 2), 404],
      [new CommandRejectedError('no'), 409],
      [new ConferenceAmbiguousError('room', ['fs2', 'fs1']), 409],
      [new EslOverloadError('node fs1: 100 commands already waiting (max 100)', { node: 'fs1', queued: 100 }), 503],
      [new Error('boom'), 500],
    ];
    for (const [err, status] of cases) {
      executor.fail = () => err;
      const res = await call('PUT', `${confs}/room/participants/2`, { data: { action: 'mute' } });
      expect(res.status).toBe(status);
      expect(res.body?.error).toBe(String(status));
    }
    expect(HTTP_STATUS_BY_CODE.NODE_DOWN).toBe(503);
  });

  it('an ambiguous conference is a 409 naming the nodes; an overloaded node a 503 with Retry-After', async () => {
    executor.fail = () => new ConferenceAmbiguousError('room', ['fs2', 'fs1']);
    const amb = await call('PUT', `${confs}/room/participants`, { data: { action: 'mute' } });
    expect(amb.status).toBe(409);
    expect(amb.body?.data).toMatchObject({ code: 'CONFERENCE_AMBIGUOUS', details: { nodes: ['fs2', 'fs1'] } });
    expect(amb.headers['retry-after']).toBeUndefined();
    executor.fail = () => new EslOverloadError('node fs1: 100 commands already waiting (max 100)');
    const over = await call('PUT', `${confs}/room`, { data: { action: 'lock' } });
    expect(over.status).toBe(503);
    expect(over.body?.data.code).toBe('ESL_OVERLOAD');
    expect(over.headers['retry-after']).toBe('1');
    executor.fail = () => new NodeDownError('fs1');
    expect((await call('PUT', `${confs}/room`, { data: { action: 'lock' } })).headers['retry-after']).toBeUndefined();
  });
});

describe('wiring', () => {
  it('subscribes to events and unsubscribes on close (the records are their owner\'s to close)', async () => {
    // Conference attributions, the conferencecall tracker, the document enforcer, the WebSocket hub.
    expect(events.count).toBe(4);
    await app.close();
    expect(events.count).toBe(3);
    await records.close();
    expect(events.count).toBe(0);
    expect(api.documents).toBe(records.documents);
  });

  it('accepts JSON sent as curl -d sends it (form-urlencoded), as Kazoo does', async () => {
    const res = await app.inject({
      method: 'PUT',
      url: confs,
      headers: { 'x-auth-token': TOKEN_A, 'content-type': 'application/x-www-form-urlencoded' },
      payload: '{"data": {"id": "curl_conf", "name": "Curl"}}',
    });
    expect(res.statusCode).toBe(201);
    expect(JSON.parse(res.body).data.name).toBe('Curl');
    const bad = await app.inject({ method: 'PUT', url: confs, headers: { 'x-auth-token': TOKEN_A, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=b' });
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body).data.data).toBeDefined();
  });

  it('unknown routes and malformed JSON get the error envelope', async () => {
    const r = await call('GET', '/v2/nothing');
    expect(r.status).toBe(404);
    expect(r.body?.status).toBe('error');
    const res = await app.inject({ method: 'PUT', url: confs, headers: { 'x-auth-token': TOKEN_A, 'content-type': 'application/json' }, payload: '{bad' });
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).status).toBe('error');
  });
});

describe('logging', () => {
  it('4xx at info without a stack, 5xx at error; request URLs are logged as they are', async () => {
    const lines: Array<Record<string, any>> = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l));
        cb();
      },
    });
    const logged = Fastify();
    const store = openSqliteStorage({ path: ':memory:' });
    const reg = new FakeRegistry();
    const exec = new FakeExecutor();
    try {
      const deps: ApiDeps = {
        registry: reg,
        executor: exec,
        storage: store,
        events: new FakeEvents(),
        tokens: [{ token: TOKEN_A, account_id: A }],
        nodeUp: () => true,
        logger: createLogger({ level: 'info', destination }),
      };
      await registerApi(logged, deps, createRecords(deps));
      await logged.ready();
      await logged.inject({ method: 'PUT', url: confs, headers: { 'x-auth-token': TOKEN_A }, payload: { data: { id: 'room' } } });
      reg.join('room', { participant_id: 2, call_id: 'c2' });
      exec.fail = () => new MemberNotFoundError('room', 2);
      const notFound = await logged.inject({ method: 'PUT', url: `${confs}/room/participants/2`, headers: { 'x-auth-token': TOKEN_A }, payload: { data: { action: 'mute' } } });
      expect(notFound.statusCode).toBe(404);
      exec.fail = () => new Error('boom');
      const boom = await logged.inject({ method: 'PUT', url: `${confs}/room/participants/2`, headers: { 'x-auth-token': TOKEN_A }, payload: { data: { action: 'mute' } } });
      expect(boom.statusCode).toBe(500);
      await new Promise((r) => setImmediate(r));
      const refused = lines.filter((l) => l.status === 404);
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ level: 30, code: 'MEMBER_NOT_FOUND', url: `${confs}/room/participants/2`, method: 'PUT' });
      expect(refused[0]!.err).toBeUndefined();
      const failed = lines.filter((l) => l.status === 500);
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ level: 50, url: `${confs}/room/participants/2` });
      expect(failed[0]!.err.message).toBe('boom');
      expect(lines.filter((l) => l.level >= 50)).toHaveLength(1);
    } finally {
      await logged.close();
      await store.close();
    }
  });
});
