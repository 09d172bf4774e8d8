/**
 * Unit-level (fake registry / executor / cluster directory; real SQLite in memory; fastify.inject):
 * how the API merges the other instances' answers (the cluster view), resolves, shows and controls a
 * conference another instance serves, and says when an answer is partial.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerApi, type ApiDeps } from '../../src/api/index.js';
import { createRecords } from '../../src/records/records.js';
import { openSqliteStorage, type Storage } from '../../src/storage/index.js';
import type { ClusterAnswers, ClusterDirectory, ConferenceListEntry, NodeStatus, RemoteConferenceLookup } from '../../src/records/live.js';
import type { CommandResult, ConferenceCommand } from '../../src/conference/types.js';
import { RemoteCommandError } from '../../src/bus/errors.js';
import { ACCOUNT_A as A, ACCOUNT_B as B, TOKEN_A, TOKEN_B, testTokens, FakeEvents, FakeExecutor, FakeRegistry } from '../helpers/api-fakes.js';

/** What the other instances answer, set per test. */
class FakeCluster implements ClusterDirectory {
  served = new Set(['fs1']);
  lists = new Map<string, ConferenceListEntry[]>();
  remote = new Map<string, { instance: string; owner: string; lookup: RemoteConferenceLookup & { found: true; owned: true } }>();
  missing: string[] = [];
  nodeAnswers: Array<{ instance: string; data: NodeStatus[] }> = [];
  forwarded: Array<{ command: ConferenceCommand; account: string }> = [];
  failWith: RemoteCommandError | undefined;
  serves(node: string): boolean {
    return this.served.has(node);
  }
  private wrap<T>(answers: Array<{ instance: string; data: T }>): ClusterAnswers<T> {
    return { answers, missing: this.missing, partial: this.missing.length > 0 };
  }
  async conferences(account: string): Promise<ClusterAnswers<ConferenceListEntry[]>> {
    return this.wrap([...this.lists].map(([instance, entries]) => ({ instance, data: entries.filter((e) => (e as { owner?: string }).owner === account).map(({ owner: _o, ...e }: any) => e) })));
  }
  async conference(account: string, id: string): Promise<ClusterAnswers<RemoteConferenceLookup>> {
    const r = this.remote.get(id);
    if (!r) return this.wrap([{ instance: 'Y', data: { found: false } }]);
    return this.wrap([{ instance: r.instance, data: r.owner === account ? r.lookup : { found: true, owned: false } }]);
  }
  async nodes(): Promise<ClusterAnswers<NodeStatus[]>> {
    return this.wrap(this.nodeAnswers);
  }
  async execute(command: ConferenceCommand, account: string): Promise<CommandResult> {
    this.forwarded.push({ command, account });
    if (this.failWith) throw this.failWith;
    return { command: 'x', node: 'fsB', reply: '+OK' };
  }
}

let app: FastifyInstance;
let storage: Storage;
let registry: FakeRegistry;
let executor: FakeExecutor;
let cluster: FakeCluster;
let dialed: string[];

async function build(withCluster: boolean): Promise<void> {
  app = Fastify();
  storage = openSqliteStorage({ path: ':memory:' });
  registry = new FakeRegistry();
  executor = new FakeExecutor();
  cluster = new FakeCluster();
  dialed = [];
  const deps: ApiDeps = {
    registry,
    executor,
    storage,
    events: new FakeEvents(),
    tokens: testTokens(),
    nodeUp: () => true,
    dialer: { dial: async (request) => ((dialed.push(request.conference), { conference: request.conference, endpoints: [] }) as any) },
    defaultAccountId: A,
    nodeStatuses: () => [{ node: 'fs1', instance: 'X', state: 'active', connected: true, since: '2026-01-01T00:00:00.000Z', takeovers: 0 }],
    ...(withCluster ? { cluster } : {}),
  };
  await registerApi(app, deps, createRecords(deps));
  await app.ready();
}

afterEach(async () => {
  await app.close();
  await storage.close();
});

async function call(method: 'GET' | 'PUT', url: string, body?: unknown, token = TOKEN_A) {
  const res = await app.inject({ method, url, headers: { 'x-auth-token': token }, ...(body !== undefined ? { payload: body as object } : {}) });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, any> };
}

const confs = (account = A) => `/v2/accounts/${account}/conferences`;
const remoteRoom = (name: string, focus = 'switch-b') => ({
  found: true as const,
  owned: true as const,
  conference: {
    name,
    uuid: `uuid-${name}`,
    node: 'fsB',
    focus,
    is_locked: false,
    duration: 9,
    participants: [{ participant_id: 4, call_id: 'c4', is_moderator: false } as any, { participant_id: 5, call_id: 'c5', is_moderator: true } as any],
  },
});

describe('without the cluster view', () => {
  beforeEach(() => build(false));

  it('the list is this instance\'s alone, without focus; GET /v2/nodes lists its own nodes', async () => {
    registry.join('here', { participant_id: 1, call_id: 'c1' });
    const list = await call('GET', confs());
    expect(list.body.data).toEqual([{ id: 'here', members: 1, admins: 0, duration: 42, is_locked: false }]);
    expect(list.body.partial).toBeUndefined();
    const nodes = await call('GET', '/v2/nodes');
    expect(nodes.status).toBe(200);
    expect(nodes.body.data).toEqual([{ node: 'fs1', instance: 'X', state: 'active', connected: true, since: '2026-01-01T00:00:00.000Z', takeovers: 0 }]);
  });
});

describe('with the cluster view', () => {
  beforeEach(() => build(true));

  it('the list: local and remote conferences with focus; a local document gets its remote counters; names known here are listed once', async () => {
    registry.join('here', { participant_id: 1, call_id: 'c1' });
    await call('PUT', confs(), { data: { id: 'doc-remote', name: 'Documented' } });
    cluster.lists.set('Y', [
      { id: 'there', members: 3, admins: 1, duration: 5, is_locked: true, focus: 'switch-b', owner: A } as any,
      { id: 'doc-remote', members: 2, admins: 0, duration: 7, is_locked: false, focus: 'switch-b', owner: A } as any,
      { id: 'here', members: 9, admins: 9, duration: 9, is_locked: true, focus: 'elsewhere', owner: A } as any,
      { id: 'b-only', members: 1, admins: 0, duration: 1, is_locked: false, focus: 'switch-b', owner: B } as any,
    ]);
    const list = await call('GET', confs());
    expect(list.status).toBe(200);
    expect(list.body.partial).toBeUndefined();
    const byId = Object.fromEntries(list.body.data.map((e: { id: string }) => [e.id, e]));
    expect(Object.keys(byId).sort()).toEqual(['doc-remote', 'here', 'there']);
    expect(byId.here).toEqual({ id: 'here', members: 1, admins: 0, duration: 42, is_locked: false, focus: 'vm' });
    expect(byId.there).toEqual({ id: 'there', members: 3, admins: 1, duration: 5, is_locked: true, focus: 'switch-b' });
    expect(byId['doc-remote']).toMatchObject({ id: 'doc-remote', name: 'Documented', members: 2, duration: 7, focus: 'switch-b' });
  });

  it('a remote conference documented here by another account is not listed', async () => {
    await call('PUT', confs(B), { data: { id: 'taken' } }, TOKEN_B);
    cluster.lists.set('Y', [{ id: 'taken', members: 1, admins: 0, duration: 1, is_locked: false, focus: 'switch-b', owner: A } as any]);
    expect((await call('GET', confs())).body.data).toEqual([]);
  });

  it('partial answers are flagged, naming the silent instances', async () => {
    cluster.missing = ['Z@host'];
    const list = await call('GET', confs());
    expect(list.body).toMatchObject({ status: 'success', partial: true, missing_instances: ['Z@host'] });
    const nodes = await call('GET', '/v2/nodes');
    expect(nodes.body).toMatchObject({ partial: true, missing_instances: ['Z@host'] });
    // Not found anywhere that answered: 404 saying it may be on a silent instance.
    const one = await call('GET', `${confs()}/nowhere`);
    expect([one.status, one.body.data.code, one.body.data.details]).toEqual([404, 'NOT_FOUND', { conference: 'nowhere', partial: true, missing_instances: ['Z@host'] }]);
  });

  it('show and participants of a remote conference; 403 for another account', async () => {
    cluster.remote.set('there', { instance: 'Y', owner: A, lookup: remoteRoom('there') });
    const one = await call('GET', `${confs()}/there`);
    expect(one.status).toBe(200);
    expect(one.body.data).toMatchObject({ id: 'there', focus: 'switch-b', _read_only: { members: 1, admins: 1, duration: 9 } });
    const participants = await call('GET', `${confs()}/there/participants`);
    expect(participants.body.data.map((p: { participant_id: number }) => p.participant_id)).toEqual([4, 5]);
    const other = await call('GET', `/v2/accounts/${B}/conferences/there`, undefined, TOKEN_B);
    expect([other.status, other.body.data.code]).toEqual([403, 'FORBIDDEN']);
    const control = await call('PUT', `/v2/accounts/${B}/conferences/there`, { data: { action: 'lock' } }, TOKEN_B);
    expect([control.status, control.body.data.code]).toEqual([403, 'FORBIDDEN']);
    expect(cluster.forwarded).toEqual([]);
  });

  it('actions on a remote conference are forwarded with the account; the remote reply is mirrored, errors included', async () => {
    cluster.remote.set('there', { instance: 'Y', owner: A, lookup: remoteRoom('there') });
    const lock = await call('PUT', `${confs()}/there`, { data: { action: 'lock' } });
    expect([lock.status, lock.body.data]).toEqual([202, { action: 'lock', conference_id: 'there', node: 'fsB' }]);
    const mute = await call('PUT', `${confs()}/there/participants/4`, { data: { action: 'mute' } });
    expect(mute.status).toBe(202);
    const bulk = await call('PUT', `${confs()}/there/participants`, { data: { action: 'kick' } });
    expect(bulk.status).toBe(202);
    expect(cluster.forwarded).toEqual([
      { command: { kind: 'lock', conference: 'there' }, account: A },
      { command: { kind: 'mute', conference: 'there', target: 4 }, account: A },
      { command: { kind: 'kick', conference: 'there', target: 'all' }, account: A },
    ]);
    expect(executor.commands).toEqual([]);
    // A member the remote view does not list: refused before anything is sent.
    expect((await call('PUT', `${confs()}/there/participants/77`, { data: { action: 'mute' } })).status).toBe(404);
    cluster.failWith = new RemoteCommandError('ESL_OVERLOAD', 'node busy');
    const failed = await call('PUT', `${confs()}/there`, { data: { action: 'unlock' } });
    expect([failed.status, failed.body.data.code]).toEqual([503, 'ESL_OVERLOAD']);
  });

  it('a conference served here runs here; a standby copy (node served elsewhere) is resolved remotely and forwarded', async () => {
    registry.join('local', { participant_id: 1, call_id: 'c1' });
    expect((await call('PUT', `${confs()}/local`, { data: { action: 'lock' } })).status).toBe(202);
    expect(executor.commands).toEqual([{ kind: 'lock', conference: 'local' }]);
    expect(cluster.forwarded).toEqual([]);

    registry.start('copy', { node: 'fsB', focus: 'switch-b' });
    cluster.remote.set('copy', { instance: 'Y', owner: A, lookup: remoteRoom('copy') });
    expect((await call('PUT', `${confs()}/copy`, { data: { action: 'lock' } })).status).toBe(202);
    expect(cluster.forwarded).toEqual([{ command: { kind: 'lock', conference: 'copy' }, account: A }]);
  });

  it("a dial on another instance's conference is refused (it would start a second one here)", async () => {
    cluster.remote.set('there', { instance: 'Y', owner: A, lookup: remoteRoom('there') });
    const dial = await call('PUT', `${confs()}/there`, { data: { action: 'dial', data: { endpoints: ['user/1001'] } } });
    expect([dial.status, dial.body.data.code, dial.body.data.details]).toEqual([409, 'INVALID_STATE', { conference: 'there', instance: 'Y' }]);
    expect(dialed).toEqual([]);
  });

  it('GET /v2/nodes: this instance\'s nodes and the others\', sorted by node', async () => {
    cluster.nodeAnswers = [{ instance: 'Y', data: [{ node: 'fs0', instance: 'Y', state: 'active', connected: true, since: '2026-01-01T00:00:00.000Z', takeovers: 2 }] }];
    const nodes = await call('GET', '/v2/nodes');
    expect(nodes.body.data.map((n: NodeStatus) => `${n.node}/${n.instance}/${n.state}`)).toEqual(['fs0/Y/active', 'fs1/X/active']);
  });
});
