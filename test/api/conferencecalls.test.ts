/**
 * Unit-level (fake registry / executor / events), on both storage back ends (SQLite file, and a real
 * PostgreSQL server started for this file): conferencecall records driven by add-member /
 * del-member, DELETE → leaving → leaved, pagination and filters, history and documents across a
 * restart; and the document enforcer (join_muted / join_deaf / tones through the executor).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerApi, type ApiDeps, type ApiHandle } from '../../src/api/index.js';
import { createRecords } from '../../src/records/records.js';
import { openSqliteStorage, openStorage, type Storage } from '../../src/storage/index.js';
import { freshDatabase, startTempPostgres, type TempPostgres } from '../helpers/postgres.js';
import { MemberNotFoundError } from '../../src/conference/errors.js';
import { DEFAULT_ENTRY_TONE, DEFAULT_EXIT_TONE } from '../../src/records/conference-document.js';
import { formatTimestamp } from '../../src/records/conferencecall-record.js';
import { ACCOUNT_A as A, TOKEN_A, TOKEN_B, testTokens, FakeEvents, FakeExecutor, FakeRegistry, participantEvent } from '../helpers/api-fakes.js';

const TS_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/;

let dir: string;
let app: FastifyInstance;
let storage: Storage;
let registry: FakeRegistry;
let executor: FakeExecutor;
let events: FakeEvents;
let api: ApiHandle;
let down: Set<string>;
/** The database of the current test: a SQLite file path or a postgres:// URL. */
let target: string;
let pgServer: TempPostgres | undefined;

beforeAll(async () => {
  pgServer = await startTempPostgres();
}, 120_000);
afterAll(async () => {
  await pgServer?.stop();
}, 60_000);

async function start(): Promise<void> {
  app = Fastify();
  storage = target.startsWith('postgres://') ? await openStorage({ driver: 'postgres', url: target }) : openSqliteStorage({ path: target });
  const deps: ApiDeps = {
    registry,
    executor,
    storage,
    events,
    tokens: testTokens(),
    nodeUp: (n) => !down.has(n),
  };
  api = await registerApi(app, deps, createRecords(deps));
  await app.ready();
}

async function stop(): Promise<void> {
  await app.close();
  await storage.close();
}

const BACKENDS = ['sqlite', 'postgres'] as const;

async function req(method: 'GET' | 'DELETE' | 'PUT', url: string, token = TOKEN_A, payload?: object) {
  const res = await app.inject({ method, url, headers: { 'x-auth-token': token }, ...(payload ? { payload } : {}) });
  return { status: res.statusCode, body: JSON.parse(res.body) as any };
}

/** A call joins: the registry learns it, then the event flows (the registry's order). */
async function joinCall(conf: string, callId: string, memberId: number, over: Record<string, unknown> = {}) {
  registry.join(conf, { participant_id: memberId, call_id: callId, is_moderator: over.is_moderator === true, custom_channel_vars: { account_id: A } });
  events.emit(participantEvent('add-member', conf, callId, memberId, { custom_channel_vars: { account_id: A }, ...over }));
  await api.idle();
}

async function leaveCall(conf: string, callId: string, memberId: number) {
  registry.leave(conf, callId);
  events.emit(participantEvent('del-member', conf, callId, memberId, { custom_channel_vars: { account_id: A } }));
  await api.idle();
}

describe.each(BACKENDS)('on %s', (backend) => {
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'confmgr-api-cc-'));
    registry = new FakeRegistry();
    executor = new FakeExecutor();
    events = new FakeEvents();
    down = new Set();
    target = backend === 'sqlite' ? join(dir, 'db.sqlite') : await freshDatabase(pgServer!.url);
    await start();
  });

  afterEach(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('conferencecalls', () => {
    it('a joining call becomes a record in the seed format; del-member makes it leaved and keeps it', async () => {
      await joinCall('room', 'call-1', 5);
      const list = await req('GET', '/conferencecalls');
      expect(list.status).toBe(200);
      expect(list.body.result).toHaveLength(1);
      const rec = list.body.result[0];
      expect(Object.keys(rec)).toEqual(['id', 'customer_id', 'conference_id', 'reference_type', 'reference_id', 'status', 'tm_create', 'tm_update', 'tm_delete']);
      expect(rec).toMatchObject({ customer_id: A, conference_id: 'room', reference_type: 'call', reference_id: 'call-1', status: 'joined', tm_delete: '9999-01-01 00:00:00.000000' });
      expect(rec.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(rec.tm_create).toMatch(TS_RE);

      await leaveCall('room', 'call-1', 5);
      const got = await req('GET', `/conferencecalls/${rec.id}`);
      expect(got.body).toMatchObject({ id: rec.id, status: 'leaved', tm_create: rec.tm_create, tm_delete: '9999-01-01 00:00:00.000000' });
      expect(got.body.tm_update > rec.tm_update).toBe(true);

      // History survives a restart.
      await stop();
      await start();
      expect((await req('GET', `/conferencecalls/${rec.id}`)).body.status).toBe('leaved');
    });

    it('DELETE: leaving and a kick of that member, then leaved when FreeSWITCH confirms', async () => {
      await joinCall('room', 'call-1', 5);
      await joinCall('room', 'call-2', 6);
      const id = (await req('GET', '/conferencecalls?status=joined&page_size=100')).body.result.find((r: any) => r.reference_id === 'call-2').id;
      const del = await req('DELETE', `/conferencecalls/${id}`);
      expect(del.status).toBe(200);
      expect(del.body.status).toBe('leaving');
      expect(executor.commands).toEqual([{ kind: 'kick', conference: 'room', target: 6 }]);
      expect((await req('GET', `/conferencecalls/${id}`)).body.status).toBe('leaving');
      await leaveCall('room', 'call-2', 6);
      expect((await req('GET', `/conferencecalls/${id}`)).body.status).toBe('leaved');
      // Already left: 409, nothing sent.
      expect((await req('DELETE', `/conferencecalls/${id}`)).status).toBe(409);
      expect(executor.commands).toHaveLength(1);
    });

    it('DELETE: 404 unknown, 403 other account, 503 node down (state unchanged), member gone → leaved', async () => {
      await joinCall('room', 'call-1', 5);
      const id = (await req('GET', '/conferencecalls')).body.result[0].id;
      expect((await req('DELETE', '/conferencecalls/00000000-0000-0000-0000-000000000000')).status).toBe(404);
      expect((await req('DELETE', `/conferencecalls/${id}`, TOKEN_B)).status).toBe(403);
      expect((await req('GET', `/conferencecalls/${id}`, TOKEN_B)).status).toBe(403);
      down.add('fs1');
      expect((await req('DELETE', `/conferencecalls/${id}`)).status).toBe(503);
      expect((await req('GET', `/conferencecalls/${id}`)).body.status).toBe('joined');
      down.clear();
      executor.fail = () => new MemberNotFoundError('room', 5);
      const res = await req('DELETE', `/conferencecalls/${id}`);
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('leaved');
    });

    it('pages newest first with page_size / page_token; filters by conference_id and status', async () => {
      for (let i = 1; i <= 5; i++) await joinCall(i % 2 ? 'odd' : 'even', `call-${i}`, i);
      await leaveCall('odd', 'call-1', 1);
      const p1 = await req('GET', '/conferencecalls?page_size=2');
      expect(p1.body.result.map((r: any) => r.reference_id)).toEqual(['call-5', 'call-4']);
      expect(p1.body.next_page_token).toBe(p1.body.result[1].tm_create);
      const p2 = await req('GET', `/conferencecalls?page_size=2&page_token=${encodeURIComponent(p1.body.next_page_token)}`);
      expect(p2.body.result.map((r: any) => r.reference_id)).toEqual(['call-3', 'call-2']);
      const p3 = await req('GET', `/conferencecalls?page_size=2&page_token=${encodeURIComponent(p2.body.next_page_token)}`);
      expect(p3.body.result.map((r: any) => r.reference_id)).toEqual(['call-1']);
      expect(p3.body.next_page_token).toBe('');
      expect((await req('GET', '/conferencecalls?conference_id=odd')).body.result.map((r: any) => r.reference_id)).toEqual(['call-5', 'call-3', 'call-1']);
      expect((await req('GET', '/conferencecalls?status=leaved')).body.result.map((r: any) => r.reference_id)).toEqual(['call-1']);
      expect((await req('GET', '/conferencecalls', TOKEN_B)).body.result).toEqual([]);
      const bad = await req('GET', '/conferencecalls?page_size=1000');
      expect(bad.status).toBe(400);
      expect(bad.body.data.page_size).toBeDefined();
      expect((await req('GET', '/conferencecalls?status=gone')).body.data.status).toBeDefined();
      expect((await req('GET', '/conferencecalls?page_token=yesterday')).status).toBe(400);
    });

    it('kick-member from FreeSWITCH moves to leaving, del-member to leaved', async () => {
      await joinCall('room', 'call-1', 5);
      events.emit(participantEvent('kick-member', 'room', 'call-1', 5));
      await api.idle();
      expect((await req('GET', '/conferencecalls')).body.result[0].status).toBe('leaving');
      await leaveCall('room', 'call-1', 5);
      expect((await req('GET', '/conferencecalls')).body.result[0].status).toBe('leaved');
    });

    it('a resync re-announcing a known call does not duplicate its record', async () => {
      await joinCall('room', 'call-1', 5);
      events.emit(participantEvent('add-member', 'room', 'call-1', 5, { synthesized: true, custom_channel_vars: { account_id: A } }));
      await api.idle();
      expect((await req('GET', '/conferencecalls')).body.result).toHaveLength(1);
    });

    it('reconcile closes records whose call is gone (after a restart)', async () => {
      await joinCall('room', 'call-1', 5);
      await joinCall('room', 'call-2', 6);
      registry.leave('room', 'call-1'); // left while confmgr was away: no del-member
      expect(await api.tracker.reconcile()).toBe(1);
      const recs = (await req('GET', '/conferencecalls')).body.result;
      expect(Object.fromEntries(recs.map((r: any) => [r.reference_id, r.status]))).toEqual({ 'call-1': 'leaved', 'call-2': 'joined' });
    });

    it('reconcile walks more records than one page (500): every gone call closed, every live one kept', async () => {
      const n = 1_100;
      for (let i = 0; i < n; i++) {
        const conf = `room-${i % 7}`;
        registry.join(conf, { participant_id: i + 1, call_id: `call-${i}`, custom_channel_vars: { account_id: A } });
        events.emit(participantEvent('add-member', conf, `call-${i}`, i + 1, { custom_channel_vars: { account_id: A } }));
      }
      await api.idle();
      for (let i = 0; i < n; i += 3) registry.leave(`room-${i % 7}`, `call-${i}`);
      const gone = Math.ceil(n / 3);
      expect(await api.tracker.reconcile()).toBe(gone);
      const active = await storage.conferencecalls.listActive();
      expect(active).toHaveLength(n - gone);
      expect(active.every((r) => Number(r.reference_id.slice(5)) % 3 !== 0)).toBe(true);
      expect(await api.tracker.reconcile()).toBe(0);
    });

    it('reconcile(known) judges only nodes the caller trusts; records without a node only when every node is known', async () => {
      registry.start('east', { node: 'fs2', uuid: 'uuid-east' });
      await joinCall('room', 'call-1', 5); // room on fs1
      await joinCall('east', 'call-2', 6); // east on fs2
      registry.leave('room', 'call-1');
      registry.leave('east', 'call-2');
      // fs2 has not been resynced yet: its (empty) view must not close call-2.
      expect(await api.tracker.reconcile((n) => n === 'fs1')).toBe(1);
      const status = async () =>
        Object.fromEntries((await req('GET', '/conferencecalls')).body.result.map((r: any) => [r.reference_id, r.status]));
      expect(await status()).toEqual({ 'call-1': 'leaved', 'call-2': 'joined' });
      expect(await api.tracker.reconcile((n) => n === 'fs1' || n === 'fs2')).toBe(1);
      expect(await status()).toEqual({ 'call-1': 'leaved', 'call-2': 'leaved' });
    });

    it('markLeaving: a member id, non_moderator or all moves the open records of those calls to leaving', async () => {
      await joinCall('room', 'mod', 1, { is_moderator: true });
      await joinCall('room', 'm2', 2);
      await joinCall('room', 'm3', 3);
      const status = async () =>
        Object.fromEntries((await req('GET', '/conferencecalls')).body.result.map((r: any) => [r.reference_id, r.status]));
      expect(await api.tracker.markLeaving('room', 2, 'fs1')).toBe(1);
      expect(await status()).toEqual({ mod: 'joined', m2: 'leaving', m3: 'joined' });
      // Another node's instance, an unknown conference, an absent member: nothing.
      expect(await api.tracker.markLeaving('room', 'all', 'fs9')).toBe(0);
      expect(await api.tracker.markLeaving('nosuch', 'all', 'fs1')).toBe(0);
      expect(await api.tracker.markLeaving('room', 99, 'fs1')).toBe(0);
      expect(await api.tracker.markLeaving('room', 'last', 'fs1')).toBe(0);
      expect(await api.tracker.markLeaving('room', 'non_moderator', 'fs1')).toBe(1); // m3 (m2 already leaving)
      expect(await status()).toEqual({ mod: 'joined', m2: 'leaving', m3: 'leaving' });
      expect(await api.tracker.markLeaving('room', 'all', 'fs1')).toBe(1);
      expect(await status()).toEqual({ mod: 'leaving', m2: 'leaving', m3: 'leaving' });
      await leaveCall('room', 'm2', 2);
      expect((await status()).m2).toBe('leaved');
    });

    it('conference documents survive a restart (same SQLite file)', async () => {
      const put = await req('PUT', `/v2/accounts/${A}/conferences`, TOKEN_A, { data: { id: 'kept', name: 'Kept', member: { pins: ['1234'] } } });
      expect(put.status).toBe(201);
      await stop();
      await start();
      const got = await req('GET', `/v2/accounts/${A}/conferences/kept`);
      expect(got.status).toBe(200);
      expect(got.body.data).toMatchObject({ id: 'kept', name: 'Kept', member: { pins: ['1234'], join_muted: true } });
      expect(got.body.revision).toBe(put.body.revision);
    });

    it('formats timestamps as the seed does', () => {
      expect(formatTimestamp(Date.UTC(2022, 7, 6, 16, 57, 12) * 1000 + 247_946)).toBe('2022-08-06 16:57:12.247946');
    });
  });

  describe('documents applied to joining calls', () => {
    it('members join muted by default, moderators not; tones play on entry and exit', async () => {
      await req('PUT', `/v2/accounts/${A}/conferences`, TOKEN_A, { data: { id: 'room' } });
      await joinCall('room', 'mod', 1, { is_moderator: true });
      await joinCall('room', 'member', 2);
      await leaveCall('room', 'member', 2);
      expect(executor.commands).toEqual([
        { kind: 'play', conference: 'room', file: DEFAULT_ENTRY_TONE },
        { kind: 'mute', conference: 'room', target: 2, quiet: true },
        { kind: 'play', conference: 'room', file: DEFAULT_ENTRY_TONE },
        { kind: 'play', conference: 'room', file: DEFAULT_EXIT_TONE },
      ]);
      expect(executor.lines[1]).toBe('conference room mute 2 quiet');
    });

    it('join_deaf, custom tones, disabled tones; no document → nothing', async () => {
      await req('PUT', `/v2/accounts/${A}/conferences`, TOKEN_A, {
        data: { id: 'room', member: { join_muted: false, join_deaf: true }, moderator: { join_muted: true }, play_entry_tone: 'tone_stream://%(100,0,800)', play_exit_tone: false },
      });
      await joinCall('room', 'm', 3);
      await joinCall('room', 'mod', 4, { is_moderator: true });
      await leaveCall('room', 'm', 3);
      await joinCall('nodoc', 'x', 9);
      expect(executor.commands).toEqual([
        { kind: 'deaf', conference: 'room', target: 3 },
        { kind: 'play', conference: 'room', file: 'tone_stream://%(100,0,800)' },
        { kind: 'mute', conference: 'room', target: 4, quiet: true },
        { kind: 'play', conference: 'room', file: 'tone_stream://%(100,0,800)' },
      ]);
    });

    it('a document changed through the API applies to the next call; synthesized joins are not enforced', async () => {
      await req('PUT', `/v2/accounts/${A}/conferences`, TOKEN_A, { data: { id: 'room', play_entry_tone: false, play_exit_tone: false } });
      await joinCall('room', 'a', 1);
      await req('PUT', `/v2/accounts/${A}/conferences/room`.replace('/room', '/room'), TOKEN_A, { data: { action: 'lock' } });
      executor.commands.length = 0;
      await app.inject({ method: 'PATCH', url: `/v2/accounts/${A}/conferences/room`, headers: { 'x-auth-token': TOKEN_A }, payload: { data: { member: { join_muted: false } } } });
      await joinCall('room', 'b', 2);
      registry.join('room', { participant_id: 3, call_id: 'c' });
      events.emit({ ...participantEvent('add-member', 'room', 'c', 3), synthesized: true });
      await api.idle();
      expect(executor.commands).toEqual([]);
    });

    it('synthesized add-member: a participant already handled is left alone; one that joined while away gets join_muted, no tones', async () => {
      await req('PUT', `/v2/accounts/${A}/conferences`, TOKEN_A, { data: { id: 'room', moderator: { join_deaf: true } } });
      await joinCall('room', 'known', 1); // received: muted + entry tone
      executor.commands.length = 0;
      // The resync re-announces "known" (since unmuted on purpose: speak true) and finds two new calls.
      const synth = (callId: string, member: number, over: Record<string, unknown> = {}) => {
        registry.join('room', { participant_id: member, call_id: callId, is_moderator: over.is_moderator === true });
        events.emit({ ...participantEvent('add-member', 'room', callId, member, { synthesized: true, custom_channel_vars: { account_id: A }, ...over }), synthesized: true });
      };
      synth('known', 1);
      synth('new-member', 2);
      synth('new-mod', 3, { is_moderator: true });
      synth('new-muted', 4, { speak: false }); // already muted: nothing to do
      events.emit({ ...participantEvent('del-member', 'room', 'gone', 7, { synthesized: true }), synthesized: true });
      await api.idle();
      expect(executor.commands).toEqual([
        { kind: 'mute', conference: 'room', target: 2, quiet: true },
        { kind: 'deaf', conference: 'room', target: 3 },
      ]);
      // And a received join still gets the whole treatment.
      executor.commands.length = 0;
      await joinCall('room', 'late', 5);
      expect(executor.commands).toEqual([
        { kind: 'mute', conference: 'room', target: 5, quiet: true },
        { kind: 'play', conference: 'room', file: DEFAULT_ENTRY_TONE },
      ]);
    });
  });
});
