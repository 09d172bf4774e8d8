/**
 * Black-box acceptance: things a long-running real FreeSWITCH does that a fresh test setup does not.
 * Member ids come from one process-wide counter, so after a day of traffic they are in the thousands;
 * caller names are UTF-8; the resync after a confmgr restart reads them back from `conference json_list`
 * (cJSON output) and must keep them exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CliProcess,
  EventTap,
  RpcClient,
  configYaml,
  deleteBrokerObjects,
  eventually,
  freePort,
  http,
  runCli,
  spawnCli,
  tempDir,
  uniq,
  writeConfig,
  type Delivery,
} from '../helpers/acc-harness.js';
import { FakeFreeSwitch, STATUS_REPLY, fixtureJsonEvents } from '../helpers/acc-fake-fs.js';
import { ACC_ACCOUNT, ACC_TOKEN, kazoo, startRig, waitReady, type AccRig } from '../helpers/acc-rig.js';

let rig: AccRig;

beforeAll(async () => {
  // Only what the test looks at is published, so the churn below stays cheap for the broker.
  rig = await startRig({ publish: ['mute-member', 'add-member'] });
  const put = await http(rig.base, 'PUT', `/v2/accounts/${ACC_ACCOUNT}/conferences`, {
    token: ACC_TOKEN,
    body: { data: { id: 'big', name: 'Big', member: { join_muted: false } } },
  });
  expect(put.status).toBe(201);
}, 60_000);

afterAll(async () => {
  await rig?.close();
}, 30_000);

const CHURN = 1050;

describe('a FreeSWITCH that has been up for a while', () => {
  let highId: number;
  let highCall: string;

  it(`member ids above 1000 (after ${CHURN} calls came and went) work end to end`, async () => {
    await rig.esl.originate('big', '1000', 'Host', { moderator: true });
    // Calls join and hang up; the conference stays (the host holds it).
    for (let i = 0; i < CHURN; i++) {
      const uuid = await rig.esl.originate('big', `5${i}`, `Churn ${i}`);
      await rig.esl.api(`uuid_kill ${uuid}`);
    }
    await rig.esl.originate('big', '2001', 'Ünïcødé Ñame 名前');
    const add = await rig.tap.waitFor(
      (d: Delivery) => d.body.event === 'add-member' && d.body.caller_id_number === '2001',
      'add-member of the late caller',
      30_000,
    );
    highId = add.body.participant_id as number;
    highCall = add.body.call_id as string;
    expect(highId).toBeGreaterThan(CHURN);
    expect(add.body.caller_id_name).toBe('Ünïcødé Ñame 名前');

    const reply = await rig.rpc.call('big', kazoo('mute_participant', 'big', { 'Participant-ID': highId }));
    expect(reply).toMatchObject({ status: 'success', result: { command: `conference big mute ${highId}` } });
    const mute = await rig.tap.waitFor((d) => d.body.event === 'mute-member' && d.body.participant_id === highId, 'mute-member');
    expect(mute.routingKey).toBe(`conference.event.big.${highCall}`);

    const cli = await runCli(['unmute', 'big', String(highId), '--config', rig.configFile]);
    expect([cli.code, cli.stdout.trim()]).toEqual([0, `OK: unmute big ${highId}`]);
    const parts = await runCli(['participants', 'big', '--config', rig.configFile]);
    expect(parts.code).toBe(0);
    expect(parts.stdout).toMatch(new RegExp(`^${highId}\\s+Ünïcødé Ñame 名前 <2001>`, 'm'));
    // the registry holds exactly the two members FreeSWITCH has: nobody from the churn is left
    const count = Number((await rig.esl.api('conference big list count')).trim());
    expect(count).toBe(2);
    const api = await http(rig.base, 'GET', `/v2/accounts/${ACC_ACCOUNT}/conferences/big/participants`, { token: ACC_TOKEN });
    expect((api.body.data as unknown[]).length).toBe(2);
  }, 55_000);

  it('a confmgr restart rebuilds them from conference json_list: same ids, same UTF-8 names, no ghosts', async () => {
    const stopped = await rig.svc.stop(15_000);
    expect(stopped.code).toBe(0);
    const seen = rig.tap.received.length;
    await rig.startService();
    const api = await eventually(async () => {
      const r = await http(rig.base, 'GET', `/v2/accounts/${ACC_ACCOUNT}/conferences/big/participants`, { token: ACC_TOKEN });
      return r.status === 200 && (r.body.data as unknown[]).length === 2 ? (r.body.data as Array<Record<string, unknown>>) : undefined;
    }, 20_000, 'participants after the restart');
    const late = api.find((p) => p.participant_id === highId);
    expect(late).toMatchObject({ call_id: highCall, caller_id_name: 'Ünïcødé Ñame 名前', caller_id_number: '2001', is_moderator: false });
    // whatever confmgr re-announces after its restart is marked synthesized and keeps the ids
    for (const d of rig.tap.received.slice(seen)) {
      expect(d.body.synthesized).toBe(true);
      if (d.body.call_id === highCall) expect(d.body.participant_id).toBe(highId);
    }
    const reply = await rig.rpc.call('big', kazoo('mute_participant', 'big', { 'Participant-ID': highId }));
    expect(reply.status).toBe('success');
  }, 55_000);
});

describe('against a scripted FreeSWITCH answering as 1.10 does where the simulator may not', () => {
  let fake: FakeFreeSwitch;
  let svc: CliProcess | undefined;
  let tap: EventTap;
  let rpc: RpcClient;
  const tmp = tempDir();
  const exchange = uniq('acc-fake-ex');
  const commandQueue = uniq('acc-fake-cmd');
  let base = '';

  beforeAll(async () => {
    fake = new FakeFreeSwitch((cmd) => {
      if (cmd === 'status') return STATUS_REPLY;
      // mod_event_socket's body when the api wrote nothing at all
      if (cmd === 'conference json_list') return '-ERR no reply\n';
      const mute = /^conference demo mute (\d+)$/.exec(cmd);
      if (mute) return `+OK mute ${mute[1]}\n`;
      return `-ERR ${cmd.split(' ')[0]} Command not found!\n`;
    });
    const eslPort = await fake.listen();
    const httpPort = await freePort();
    base = `http://127.0.0.1:${httpPort}`;
    tap = await EventTap.create(exchange);
    rpc = await RpcClient.create(exchange);
    const file = writeConfig(
      tmp.dir,
      'confmgr.yaml',
      configYaml({ eslPort, httpPort, exchange, commandQueue, dataDir: tmp.dir, token: ACC_TOKEN, account: ACC_ACCOUNT }),
    );
    svc = spawnCli(['start', '--config', file]);
    await waitReady(base);
  }, 60_000);

  afterAll(async () => {
    await svc?.stop();
    await fake.close();
    await tap.close();
    await rpc.close();
    await deleteBrokerObjects(exchange, [commandQueue]);
    tmp.remove();
  }, 30_000);

  it('subscribes with the CUSTOM subclass last; an empty json_list (`-ERR no reply`) means no conference', async () => {
    // Command connections subscribe to BACKGROUND_JOB only, in whatever order the sockets authenticate:
    // the event connection's subscription is the one that names CUSTOM.
    const subscribes = fake.commands.filter((c) => c.startsWith('event '));
    const subscribe = subscribes.find((c) => /\bCUSTOM\b/.test(c));
    expect(subscribes.every((c) => c.startsWith('event json '))).toBe(true);
    expect(subscribe).toMatch(/^event json .*\bCUSTOM conference::maintenance$/);
    await svc!.waitForOutput(/conference state resynced/, 20_000);
    expect(svc!.output).not.toMatch(/resync failed/);
  });

  it('HEARTBEAT is ignored; a fixture add-member with member id 4242 and a UTF-8 name reaches RabbitMQ intact', async () => {
    const events = fixtureJsonEvents();
    const create = events.find((e) => e.Action === 'conference-create')!;
    const add = events.find((e) => e.Action === 'add-member' && e['Member-Type'] !== 'moderator')!;
    const callId = '7d1f4c1e-0000-4000-8000-00000000abcd';
    fake.emit({ 'Event-Name': 'HEARTBEAT', 'Core-UUID': create['Core-UUID']!, 'Event-Info': 'System Ready', 'Up-Time': '0 years, 3 days', 'Event-Sequence': '1' });
    fake.emit({ ...create, 'Event-Sequence': '2' });
    fake.emit({
      ...add,
      'Event-Sequence': '3',
      'Member-ID': '4242',
      'Unique-ID': callId,
      'Caller-Unique-ID': callId,
      'Caller-Caller-ID-Name': 'Zoë Ünïcøde 日本',
      'Caller-Caller-ID-Number': '+4930555',
    });
    const got = await tap.waitFor((d) => d.body.event === 'add-member', 'add-member from the scripted FreeSWITCH');
    expect(got.routingKey).toBe(`conference.event.demo.${callId}`);
    expect(got.body).toMatchObject({
      participant_id: 4242,
      caller_id_name: 'Zoë Ünïcøde 日本',
      caller_id_number: '+4930555',
      is_moderator: false,
      conference_id: 'demo',
      focus: add['FreeSWITCH-Switchname'],
      instance_id: add['Conference-Unique-ID'],
    });
    expect(tap.events((d) => d.body.event === 'HEARTBEAT')).toHaveLength(0);

    const reply = await rpc.call('demo', kazoo('mute_participant', 'demo', { 'Participant-ID': 4242 }));
    expect(reply).toMatchObject({ status: 'success', result: { reply: '+OK mute 4242' } });
    expect(fake.commands).toContain('api conference demo mute 4242');
    expect(svc!.running).toBe(true);
  });
});
