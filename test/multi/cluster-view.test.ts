/**
 * The cluster-wide view with real `confmgr start` processes, real simulators and the real RabbitMQ:
 * X serves node A, Y serves node B, Z is Y's standby for B (`ha.enabled`, so `cluster_view` is on by
 * default). The REST API and the CLI of X list, show and control Y's conferences, with `focus` naming
 * the node that hosts each; an account that does not own a conference cannot see or control it through
 * another instance; `confmgr nodes` shows every instance's nodes; an instance that stops answering makes
 * the answers partial, and says which; one that stops gracefully is not missing.
 */
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import {
  configYaml,
  deleteBrokerObjects,
  EslClient,
  eventually,
  freePort,
  http,
  runCli,
  spawnCli,
  tempDir,
  uniq,
  writeConfig,
  type CliProcess,
} from '../helpers/acc-harness.js';
import { ACC_ACCOUNT, ACC_TOKEN, waitReady } from '../helpers/acc-rig.js';

const OTHER_TOKEN = 'other-token-0123456789abcdef';
const OTHER_ACCOUNT = 'other-acct';

const tmp = tempDir('confmgr-cview-');
const exchange = uniq('cview-ex');
const commandQueue = uniq('cview-cmd');
// Lease queues are named after the node: unique per run, so no other test's instance contends.
const nodeA = uniq('cvA');
const nodeB = uniq('cvB');

interface Instance {
  app: string;
  name: string;
  base: string;
  proc: CliProcess;
}

const instances = new Map<string, Instance>();
let simA: Simulator;
let simB: Simulator;
let eslB: EslClient;

async function startInstance(app: string, node: string, sim: Simulator): Promise<Instance> {
  const httpPort = await freePort();
  const dir = `${tmp.dir}/${app}`;
  mkdirSync(dir, { recursive: true });
  const yaml = configYaml({
    eslPort: sim.port,
    httpPort,
    exchange,
    commandQueue,
    dataDir: dir,
    token: ACC_TOKEN,
    account: ACC_ACCOUNT,
    defaultAccountId: ACC_ACCOUNT,
    nodeName: node,
    extra: 'ha:\n  enabled: true\n  takeover_ms: 1000\ncluster_view:\n  gather_ms: 1500\n',
  })
    .replace('app_name: confmgr', `app_name: ${app}`)
    .replace(`      account_id: ${ACC_ACCOUNT}\n`, `      account_id: ${ACC_ACCOUNT}\n    - token: ${OTHER_TOKEN}\n      account_id: ${OTHER_ACCOUNT}\n`);
  const proc = spawnCli(['start', '--config', writeConfig(dir, 'confmgr.yaml', yaml)]);
  const base = `http://127.0.0.1:${httpPort}`;
  try {
    await proc.waitForOutput(/cluster view connected/, 30_000);
    await waitReady(base);
  } catch (err) {
    throw new Error(`${String(err)}\n${proc.output.slice(-3000)}`);
  }
  const inst = { app, name: `${app}@${hostname()}`, base, proc };
  instances.set(app, inst);
  return inst;
}

const get = (i: Instance, path: string, token = ACC_TOKEN) => http(i.base, 'GET', path, { token });
const put = (i: Instance, path: string, body: unknown, token = ACC_TOKEN) => http(i.base, 'PUT', path, { token, body });
const confs = (account = ACC_ACCOUNT) => `/v2/accounts/${account}/conferences`;

/** The simulator's own view of a conference: locked, members and whether each may speak. */
async function simConference(esl: EslClient, name: string): Promise<{ locked: boolean; members: Array<{ id: number; muted: boolean }> } | undefined> {
  const text = await esl.api('conference json_list');
  if (!text.trim().startsWith('[')) return undefined;
  const c = (JSON.parse(text) as Array<Record<string, any>>).find((x) => x.conference_name === name);
  if (!c) return undefined;
  return {
    locked: c.locked === true,
    members: (c.members as Array<Record<string, any>>).map((m) => ({ id: m.id as number, muted: m.flags?.can_speak === false })),
  };
}

beforeAll(async () => {
  // Switchnames other than the node names: `focus` (http.focus: node_name, the default) names the node.
  simA = await startSimulator({ port: 0, switchname: 'switch-a' });
  simB = await startSimulator({ port: 0, switchname: 'switch-b' });
  eslB = await EslClient.connect(simB.port);
  const x = await startInstance('cvx', nodeA, simA);
  const y = await startInstance('cvy', nodeB, simB);
  await y.proc.waitForOutput(/lease acquired/, 30_000);
  await x.proc.waitForOutput(/lease acquired/, 30_000);
  // Z lists node B too, after Y holds it: Z is B's standby.
  await startInstance('cvz', nodeB, simB);
  // A conference of the other account on B: its document is on Y only.
  expect((await put(y, confs(OTHER_ACCOUNT), { data: { id: 'b-other', name: 'Other' } }, OTHER_TOKEN)).status).toBe(201);
  for (const [sim, conf] of [
    [simA, 'a-room'],
    [simB, 'b-room'],
    [simB, 'b-other'],
  ] as const) {
    sim.engine.originate({ conference: conf, callerIdNumber: '1001', callerIdName: 'Alice' });
    sim.engine.originate({ conference: conf, callerIdNumber: '1002', callerIdName: 'Bob' });
  }
  // X sees both nodes' conferences once Y has them (and has bound them).
  await eventually(
    async () => {
      const list = await get(x, confs());
      return (list.body?.data ?? []).map((c: { id: string }) => c.id).sort().join() === 'a-room,b-room';
    },
    30_000,
    "X lists X's and Y's conferences",
  );
}, 120_000);

afterAll(async () => {
  for (const i of instances.values()) if (i.proc.running) i.proc.kill('SIGKILL');
  await Promise.all([...instances.values()].map((i) => i.proc.exited));
  eslB?.close();
  await simA?.close();
  await simB?.close();
  await deleteBrokerObjects(exchange, [commandQueue, `${commandQueue}.dead`]);
  tmp.remove();
}, 60_000);

describe('the cluster-wide view (X serves A; Y serves B, Z is its standby)', () => {
  it("X's REST list: X's and Y's conferences, each with the focus of the node hosting it, complete", async () => {
    const x = instances.get('cvx')!;
    const list = await get(x, confs());
    expect(list.status).toBe(200);
    expect(list.body.partial).toBeUndefined();
    const byId = new Map<string, any>(list.body.data.map((c: { id: string }) => [c.id, c]));
    expect([...byId.keys()].sort()).toEqual(['a-room', 'b-room']);
    expect(byId.get('a-room')).toMatchObject({ members: 2, admins: 0, is_locked: false, focus: nodeA });
    expect(byId.get('b-room')).toMatchObject({ members: 2, admins: 0, is_locked: false, focus: nodeB });
  });

  it("X shows one of Y's conferences and its participants", async () => {
    const x = instances.get('cvx')!;
    const one = await get(x, `${confs()}/b-room`);
    expect(one.status).toBe(200);
    expect(one.body.data).toMatchObject({ id: 'b-room', focus: nodeB, _read_only: { members: 2, is_locked: false } });
    expect(one.body.data._read_only.participants.map((p: { caller_id_number: string }) => p.caller_id_number).sort()).toEqual(['1001', '1002']);
    const participants = await get(x, `${confs()}/b-room/participants`);
    expect(participants.status).toBe(200);
    expect(participants.body.data).toHaveLength(2);
  });

  it("a mute and a lock of Y's conference through X run on B (checked on B's simulator); the reply names B", async () => {
    const x = instances.get('cvx')!;
    const before = (await simConference(eslB, 'b-room'))!;
    const target = before.members[0]!;
    expect(target.muted).toBe(false);
    const mute = await put(x, `${confs()}/b-room/participants/${target.id}`, { data: { action: 'mute' } });
    expect(mute.status).toBe(202);
    expect(mute.body.data).toEqual({ action: 'mute', conference_id: 'b-room', participant_id: target.id });
    await eventually(async () => (await simConference(eslB, 'b-room'))!.members.find((m) => m.id === target.id)!.muted, 5_000, 'muted on B');

    const lock = await put(x, `${confs()}/b-room`, { data: { action: 'lock' } });
    expect(lock.status).toBe(202);
    expect(lock.body.data).toEqual({ action: 'lock', conference_id: 'b-room', node: nodeB });
    expect((await simConference(eslB, 'b-room'))!.locked).toBe(true);
    // The remote error comes back as it was: an unknown member of Y's conference.
    const missing = await put(x, `${confs()}/b-room/participants/999`, { data: { action: 'mute' } });
    expect([missing.status, missing.body.data.code]).toEqual([404, 'MEMBER_NOT_FOUND']);
  });

  it("through Z (B's standby, with its own copy of B's state) a command is run by Y, the active", async () => {
    const z = instances.get('cvz')!;
    const member = (await simConference(eslB, 'b-room'))!.members[1]!;
    const mute = await put(z, `${confs()}/b-room/participants/${member.id}`, { data: { action: 'mute' } });
    expect(mute.status).toBe(202);
    await eventually(async () => (await simConference(eslB, 'b-room'))!.members.find((m) => m.id === member.id)!.muted, 5_000, 'muted on B');
    const unlock = await put(z, `${confs()}/b-room`, { data: { action: 'unlock' } });
    expect(unlock.status).toBe(202);
    expect((await simConference(eslB, 'b-room'))!.locked).toBe(false);
  });

  it('the CLI of X: conferences with a FOCUS column; unmute of a member of Y\'s conference', async () => {
    const x = instances.get('cvx')!;
    const flags = ['--url', x.base, '--token', ACC_TOKEN, '--account', ACC_ACCOUNT];
    const table = await runCli(['conferences', ...flags]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^CONFERENCE\s+NAME\s+MEMBERS\s+MODERATORS\s+LOCKED\s+DURATION\s+FOCUS$/);
    expect(lines.find((l) => l.startsWith('b-room'))).toMatch(new RegExp(`${nodeB}$`));
    expect(lines.find((l) => l.startsWith('a-room'))).toMatch(new RegExp(`${nodeA}$`));

    const member = (await simConference(eslB, 'b-room'))!.members[0]!;
    expect(member.muted).toBe(true);
    const unmute = await runCli(['unmute', 'b-room', String(member.id), ...flags]);
    expect(unmute.code, unmute.stderr).toBe(0);
    expect((await simConference(eslB, 'b-room'))!.members.find((m) => m.id === member.id)!.muted).toBe(false);
  }, 60_000);

  it('another account can neither see nor control a conference through another instance; its own is listed from Y', async () => {
    const x = instances.get('cvx')!;
    const list = await get(x, confs(OTHER_ACCOUNT), OTHER_TOKEN);
    expect(list.status).toBe(200);
    expect(list.body.data.map((c: { id: string }) => c.id)).toEqual(['b-other']);
    expect(list.body.data[0]).toMatchObject({ id: 'b-other', name: 'Other', members: 2, focus: nodeB });

    const member = (await simConference(eslB, 'b-room'))!.members[0]!;
    for (const [method, path, body] of [
      ['GET', `${confs(OTHER_ACCOUNT)}/b-room`, undefined],
      ['GET', `${confs(OTHER_ACCOUNT)}/b-room/participants`, undefined],
      ['PUT', `${confs(OTHER_ACCOUNT)}/b-room/participants/${member.id}`, { data: { action: 'mute' } }],
      ['PUT', `${confs(OTHER_ACCOUNT)}/b-room`, { data: { action: 'lock' } }],
    ] as const) {
      const res = await http(x.base, method, path, { token: OTHER_TOKEN, ...(body ? { body } : {}) });
      expect([method, path, res.status, res.body?.data?.code]).toEqual([method, path, 403, 'FORBIDDEN']);
    }
    const after = (await simConference(eslB, 'b-room'))!;
    expect([after.locked, after.members.find((m) => m.id === member.id)!.muted]).toEqual([false, false]);
    // And the owner's list on X does not show the other account's conference.
    expect((await get(x, confs())).body.data.map((c: { id: string }) => c.id)).not.toContain('b-other');
  });

  it('`confmgr nodes` on X: every instance\'s nodes, active and standby, connected', async () => {
    const [x, y, z] = ['cvx', 'cvy', 'cvz'].map((a) => instances.get(a)!) as [Instance, Instance, Instance];
    const flags = ['--url', x.base, '--token', ACC_TOKEN, '--account', ACC_ACCOUNT];
    const json = await runCli(['nodes', '--json', ...flags]);
    expect(json.code, json.stderr).toBe(0);
    const rows = (JSON.parse(json.stdout) as Array<Record<string, unknown>>).map((r) => [r.node, r.instance, r.state, r.connected, r.takeovers]);
    expect(rows).toEqual([
      [nodeA, x.name, 'active', true, 1],
      [nodeB, y.name, 'active', true, 1],
      [nodeB, z.name, 'standby', true, 0],
    ]);
    const table = await runCli(['nodes', ...flags]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NODE\s+INSTANCE\s+STATE\s+CONNECTED\s+SINCE\s+TAKEOVERS$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 4))).toEqual([
      [nodeA, x.name, 'active', 'yes'],
      [nodeB, y.name, 'active', 'yes'],
      [nodeB, z.name, 'standby', 'yes'],
    ]);
    expect(lines[1]).toMatch(/\d+s ago\s+1$/);
  }, 60_000);

  it('an instance that stops answering (Z killed): lists and nodes from X are flagged partial, naming it', async () => {
    const x = instances.get('cvx')!;
    const z = instances.get('cvz')!;
    z.proc.kill('SIGKILL');
    await z.proc.exited;
    const list = await get(x, confs());
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ partial: true, missing_instances: [z.name] });
    // What the others serve is still there.
    expect(list.body.data.map((c: { id: string }) => c.id).sort()).toEqual(['a-room', 'b-room']);
    const nodes = await get(x, '/v2/nodes');
    expect(nodes.body).toMatchObject({ partial: true, missing_instances: [z.name] });
    expect(nodes.body.data.map((n: { instance: string }) => n.instance)).not.toContain(z.name);
    // Showing one of Y's conferences does not wait for Z: Y's "I serve it" settles it.
    const started = Date.now();
    const one = await get(x, `${confs()}/b-room`);
    expect([one.status, one.body.partial]).toEqual([200, undefined]);
    expect(Date.now() - started).toBeLessThan(1500); // cluster_view.gather_ms
    const cli = await runCli(['conferences', '--url', x.base, '--token', ACC_TOKEN, '--account', ACC_ACCOUNT]);
    expect(cli.code).toBe(0);
    expect(cli.stderr).toContain(`partial: no answer in time from ${z.name}`);

    // Y stops gracefully (SIGTERM): it says goodbye, so it is not reported missing; B is served by
    // nobody now (its standby is dead), so B's conference is gone from the list.
    const y = instances.get('cvy')!;
    const stopped = await y.proc.stop();
    expect(stopped.code).toBe(0);
    const after = await get(x, confs());
    expect(after.body).toMatchObject({ partial: true, missing_instances: [z.name] });
    expect(after.body.data.map((c: { id: string }) => c.id)).toEqual(['a-room']);
  }, 60_000);
});
