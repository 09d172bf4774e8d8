/**
 * The crossbar conference actions beyond lock/unlock (cb_conferences.erl: handle_conference_action
 * `play`; handle_participants_action `play` and `relate` with participant_id / other_participant /
 * relationship; the participant action `play`), plus confmgr's `record` start/stop, through
 * fastify.inject with a recording executor that builds the real api lines.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerApi, type ApiDeps } from '../../src/api/index.js';
import { createRecords } from '../../src/records/records.js';
import { openSqliteStorage, type Storage } from '../../src/storage/index.js';
import { ACCOUNT_A as A, TOKEN_A, testTokens, FakeEvents, FakeExecutor, FakeRegistry } from '../helpers/api-fakes.js';
import { parseConfig } from '../../src/config/load.js';

let app: FastifyInstance;
let storage: Storage;
let registry: FakeRegistry;
let executor: FakeExecutor;
const confs = `/v2/accounts/${A}/conferences`;

beforeEach(async () => {
  app = Fastify();
  storage = openSqliteStorage({ path: ':memory:' });
  registry = new FakeRegistry();
  executor = new FakeExecutor();
  const deps: ApiDeps = { registry, executor, storage, events: new FakeEvents(), tokens: testTokens(), nodeUp: () => true };
  await registerApi(app, deps, createRecords(deps), { identity: { version: '9.9.9', node: 'confmgr@test' } });
  await app.ready();
  await call('PUT', confs, { data: { id: 'room' } });
  registry.join('room', { participant_id: 1, call_id: 'c1', is_moderator: true });
  registry.join('room', { participant_id: 2, call_id: 'c2' });
});

afterEach(async () => {
  await app.close();
  await storage.close();
});

async function call(method: 'GET' | 'PUT', url: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await app.inject({
    method,
    url,
    headers: { 'x-auth-token': TOKEN_A, ...headers },
    ...(body !== undefined ? { payload: typeof body === 'string' ? body : (body as object) } : {}),
  });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, any>) : undefined };
}

describe('PUT /conferences/{id} action play (cb_conferences play: data.media_id)', () => {
  it('plays a path or URL to the whole conference', async () => {
    const res = await call('PUT', `${confs}/room`, { data: { action: 'play', media_id: '/var/lib/sounds/welcome.wav' } });
    expect(res.status).toBe(202);
    expect(res.body?.data).toMatchObject({ action: 'play', conference_id: 'room', media_id: '/var/lib/sounds/welcome.wav' });
    await call('PUT', `${confs}/room`, { data: { action: 'play', media_id: 'https://media.example.com/a.mp3' } });
    expect(executor.lines).toEqual(['conference room play /var/lib/sounds/welcome.wav', 'conference room play https://media.example.com/a.mp3']);
  });

  it('a missing media_id is 400 "required"; a bare Kazoo media id is 400 saying it cannot be resolved; nothing runs', async () => {
    const missing = await call('PUT', `${confs}/room`, { data: { action: 'play' } });
    expect(missing.status).toBe(400);
    expect(missing.body?.data.media_id.required).toBeDefined();
    const bare = await call('PUT', `${confs}/room`, { data: { action: 'play', media_id: '0123456789abcdef0123456789abcdef' } });
    expect(bare.status).toBe(400);
    expect(bare.body?.data.media_id.unresolvable.message).toMatch(/No media.location is configured/);
    const injected = await call('PUT', `${confs}/room`, { data: { action: 'play', media_id: '/tmp/a.wav all' } });
    expect(injected.status).toBe(400);
    expect(executor.commands).toEqual([]);
  });
});

describe('PUT /conferences/{id} action record (start / stop)', () => {
  it('starts and stops a recording at data.path', async () => {
    const start = await call('PUT', `${confs}/room`, { data: { action: 'record', path: '/recordings/room.wav' } });
    expect(start.status).toBe(202);
    expect(start.body?.data).toMatchObject({ action: 'record', record: 'start', path: '/recordings/room.wav' });
    const stop = await call('PUT', `${confs}/room`, { data: { action: 'record', record: 'stop', path: 'all' } });
    expect(stop.body?.data).toMatchObject({ action: 'record', record: 'stop', path: 'all' });
    expect(executor.lines).toEqual(['conference room record /recordings/room.wav', 'conference room norecord all']);
  });

  it('refuses a missing path, an unknown record state and a path with a space', async () => {
    expect((await call('PUT', `${confs}/room`, { data: { action: 'record' } })).body?.data.path.required).toBeDefined();
    expect((await call('PUT', `${confs}/room`, { data: { action: 'record', record: 'pause', path: '/r/a.wav' } })).body?.data.record.enum).toBeDefined();
    expect((await call('PUT', `${confs}/room`, { data: { action: 'record', path: '/r/a b.wav' } })).status).toBe(400);
    expect(executor.commands).toEqual([]);
  });
});

describe('PUT /conferences/{id}/participants actions play and relate', () => {
  it('play goes to the whole conference (as cb_conferences hands it to the conference action)', async () => {
    const res = await call('PUT', `${confs}/room/participants`, { data: { action: 'play', media_id: 'tone_stream://%(200,0,500)' } });
    expect(res.status).toBe(202);
    expect(executor.lines).toEqual(['conference room play tone_stream://%(200,0,500)']);
  });

  it('relate: participant_id, other_participant, relationship mute → nospeak, deaf → nohear, default clear', async () => {
    const res = await call('PUT', `${confs}/room/participants`, { data: { action: 'relate', participant_id: 1, other_participant: '2', relationship: 'mute' } });
    expect(res.status).toBe(202);
    expect(res.body?.data).toMatchObject({ action: 'relate', participant_id: 1, other_participant: 2, relationship: 'mute' });
    await call('PUT', `${confs}/room/participants`, { data: { action: 'relate', participant_id: 2, other_participant: 1, relationship: 'deaf' } });
    await call('PUT', `${confs}/room/participants`, { data: { action: 'relate', participant_id: 2, other_participant: 1 } });
    expect(executor.lines).toEqual(['conference room relate 1 2 nospeak', 'conference room relate 2 1 nohear', 'conference room relate 2 1 clear']);
  });

  it('relate refuses an unknown participant (404), a malformed id or relationship (400)', async () => {
    expect((await call('PUT', `${confs}/room/participants`, { data: { action: 'relate', participant_id: 1, other_participant: 9 } })).status).toBe(404);
    expect((await call('PUT', `${confs}/room/participants`, { data: { action: 'relate', participant_id: '1 all', other_participant: 2 } })).status).toBe(400);
    expect((await call('PUT', `${confs}/room/participants`, { data: { action: 'relate', participant_id: 1, other_participant: 2, relationship: 'friends' } })).status).toBe(400);
    expect(executor.commands).toEqual([]);
  });
});

describe('PUT /conferences/{id}/participants/{pid} action play', () => {
  it('plays to that participant only', async () => {
    const res = await call('PUT', `${confs}/room/participants/2`, { data: { action: 'play', media_id: '/sounds/hello.wav' } });
    expect(res.status).toBe(202);
    expect(res.body?.data).toMatchObject({ action: 'play', participant_id: 2, media_id: '/sounds/hello.wav' });
    expect(executor.lines).toEqual(['conference room play /sounds/hello.wav 2']);
    expect((await call('PUT', `${confs}/room/participants/2`, { data: { action: 'relate' } })).status).toBe(400);
  });
});

describe('the envelope (Kazoo: version, node; page_size on lists)', () => {
  it('every success carries version and node; a list carries page_size', async () => {
    const list = await call('GET', confs);
    expect(list.body).toMatchObject({ status: 'success', version: '9.9.9', node: 'confmgr@test', page_size: 1 });
    const one = await call('GET', `${confs}/room`);
    expect(one.body).toMatchObject({ version: '9.9.9', node: 'confmgr@test' });
    expect(one.body).not.toHaveProperty('page_size');
    const participants = await call('GET', `${confs}/room/participants`);
    expect(participants.body?.page_size).toBe(2);
  });
});

describe('request bodies', () => {
  it('a JSON body sent with Content-Type: text/plain is read as JSON (Kazoo accepts it)', async () => {
    const res = await call('PUT', `${confs}/room`, JSON.stringify({ data: { action: 'lock' } }), { 'content-type': 'text/plain' });
    expect(res.status).toBe(202);
    expect(executor.commands).toEqual([{ kind: 'lock', conference: 'room' }]);
  });

  it('a text/plain body that is not JSON is a 400 that says so', async () => {
    const res = await call('PUT', `${confs}/room`, 'action=lock', { 'content-type': 'text/plain' });
    expect(res.status).toBe(400);
    expect(executor.commands).toEqual([]);
  });
});

describe('media_id resolution (config media.location)', () => {
  it('a bare media id is resolved through the template, with the account; path-like ids are refused', async () => {
    const other = Fastify();
    const store = openSqliteStorage({ path: ':memory:' });
    const reg = new FakeRegistry();
    const exec = new FakeExecutor();
    const deps: ApiDeps = { registry: reg, executor: exec, storage: store, events: new FakeEvents(), tokens: testTokens(), nodeUp: () => true };
    await registerApi(other, deps, createRecords(deps), { mediaLocation: 'http_cache://http://media.example.com/{account_id}/{media_id}.mp3' });
    await other.ready();
    try {
      const put = (data: Record<string, unknown>) =>
        other.inject({ method: 'PUT', url: `${confs}/room`, headers: { 'x-auth-token': TOKEN_A }, payload: { data } });
      await other.inject({ method: 'PUT', url: confs, headers: { 'x-auth-token': TOKEN_A }, payload: { data: { id: 'room' } } });
      reg.join('room', { participant_id: 1, call_id: 'c1' });
      expect((await put({ action: 'play', media_id: '0123456789abcdef0123456789abcdef' })).statusCode).toBe(202);
      expect((await put({ action: 'play', media_id: '/sounds/as-is.wav' })).statusCode).toBe(202);
      expect((await put({ action: 'play', media_id: '../etc/passwd' })).statusCode).toBe(400);
      expect(exec.lines).toEqual([
        `conference room play http_cache://http://media.example.com/${A}/0123456789abcdef0123456789abcdef.mp3`,
        'conference room play /sounds/as-is.wav',
      ]);
    } finally {
      await other.close();
      await store.close();
    }
  });

  it('the config takes a template with {media_id} and refuses one without', () => {
    const base = 'freeswitch:\n  nodes:\n    - {name: fs1, host: 127.0.0.1, port: 8021, password: ClueCon}\n';
    expect(parseConfig(`${base}media:\n  location: /var/lib/media/{account_id}/{media_id}.wav\n`, 't').media.location).toBe('/var/lib/media/{account_id}/{media_id}.wav');
    expect(parseConfig(base, 't').media.location).toBeUndefined();
    expect(() => parseConfig(`${base}media:\n  location: /var/lib/media/fixed.wav\n`, 't')).toThrow(/\{media_id\}/);
  });
});
