/**
 * Black-box acceptance: operating the running service. SIGHUP reload of publish_participant_event,
 * a FreeSWITCH (simulator process) killed with -9 and restarted on the same port, the service's own
 * RabbitMQ connection force-closed with rabbitmqctl, a confmgr restart while calls join, SIGTERM.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configYaml, eventually, http, localPortsTo, sleep, type Delivery } from '../helpers/acc-harness.js';
import { ACC_ACCOUNT, ACC_TOKEN, kazoo, startRig, type AccRig } from '../helpers/acc-rig.js';

const run = promisify(execFile);
let rig: AccRig;

beforeAll(async () => {
  rig = await startRig({ publish: ['add-member', 'del-member'], downGraceMs: 4000, proxy: true });
  // A conference document makes the conference visible through the API (account acme).
  const put = await http(rig.base, 'PUT', `/v2/accounts/${ACC_ACCOUNT}/conferences`, {
    token: ACC_TOKEN,
    body: { data: { id: 'ops', name: 'Ops room', member: { join_muted: false } } },
  });
  expect(put.status).toBe(201);
}, 60_000);

afterAll(async () => {
  await rig?.close();
}, 30_000);

const is = (event: string, extra: (d: Delivery) => boolean = () => true) => (d: Delivery) =>
  d.body.conference_id === 'ops' && d.body.event === event && extra(d);

async function participants(): Promise<Array<Record<string, unknown>>> {
  const r = await http(rig.base, 'GET', `/v2/accounts/${ACC_ACCOUNT}/conferences/ops/participants`, { token: ACC_TOKEN });
  if (r.status === 404) return [];
  expect(r.status).toBe(200);
  return r.body.data as Array<Record<string, unknown>>;
}

/** The service process's AMQP connections, as rabbitmqctl pids (matched by the local port). */
async function serviceAmqpConnections(pid: number): Promise<string[]> {
  const names = new Set(localPortsTo(pid, 5672).map((p) => `127.0.0.1:${p} -> 127.0.0.1:5672`));
  const { stdout: list } = await run('rabbitmqctl', ['list_connections', 'pid', 'name', '-q']);
  return list
    .split('\n')
    .map((l) => l.split('\t'))
    .filter(([, name]) => name !== undefined && names.has(name.trim()))
    .map(([connPid]) => connPid!.trim());
}

describe('operating the service', () => {
  it('publish_participant_event filters, and SIGHUP applies a new list without a restart', async () => {
    await rig.esl.originate('ops', '2001', 'Carol');
    const add = await rig.tap.waitFor(is('add-member'), 'add-member');
    const carol = add.body.participant_id as number;
    // mute-member is not in the list: executed, not published
    expect((await rig.rpc.call('ops', kazoo('mute_participant', 'ops', { 'Participant-ID': carol }))).status).toBe('success');
    await sleep(1000);
    expect(rig.tap.events(is('mute-member'))).toHaveLength(0);
    const metrics = await (await fetch(`${rig.base}/metrics`)).text();
    expect(metrics).toMatch(/confmgr_events_filtered_total\{event="mute-member"\} [1-9]/);

    // New list in the same file, SIGHUP
    writeFileSync(rig.configFile, configYaml({ ...rig.configOptions, publish: ['unmute-member', 'mute-member', 'del-member', 'add-member'] }));
    rig.svc.kill('SIGHUP');
    await rig.svc.waitForOutput(/reload/i, 15_000);
    expect(rig.svc.running).toBe(true);
    expect((await rig.rpc.call('ops', kazoo('unmute_participant', 'ops', { 'Participant-ID': carol }))).status).toBe('success');
    await rig.tap.waitFor(is('unmute-member'), 'unmute-member after SIGHUP');

    // An invalid file on SIGHUP is logged and ignored: the service keeps running with the last good list
    writeFileSync(rig.configFile, configYaml({ ...rig.configOptions, publish: ['add-membr'] }));
    const before = rig.svc.output.length;
    rig.svc.kill('SIGHUP');
    await eventually(() => /add-membr/.test(rig.svc.output.slice(before)), 15_000, 'invalid reload logged');
    expect(rig.svc.running).toBe(true);
    expect((await rig.rpc.call('ops', kazoo('mute_participant', 'ops', { 'Participant-ID': carol }))).status).toBe('success');
    await rig.tap.waitFor(is('mute-member'), 'mute-member still published after a rejected reload');
    // The key removed → every event, conference-level ones included
    writeFileSync(rig.configFile, configYaml({ ...rig.configOptions, publish: undefined }));
    const mark = rig.svc.output.length;
    rig.svc.kill('SIGHUP');
    await eventually(() => /publish_participant_event reloaded/.test(rig.svc.output.slice(mark)), 15_000, 'reload logged');
    expect((await rig.rpc.call('ops', kazoo('lock', 'ops'))).status).toBe('success');
    const lock = await rig.tap.waitFor(is('lock'), 'lock published once the filter is gone');
    expect(lock.routingKey).toBe('conference.event.ops.ops');
    expect((await rig.rpc.call('ops', kazoo('unlock', 'ops'))).status).toBe('success');
    await rig.tap.waitFor(is('unlock'), 'unlock');

    writeFileSync(rig.configFile, configYaml({ ...rig.configOptions, publish: ['add-member', 'del-member'] }));
    const mark2 = rig.svc.output.length;
    rig.svc.kill('SIGHUP');
    await eventually(() => /publish_participant_event reloaded/.test(rig.svc.output.slice(mark2)), 15_000, 'reload logged');
  });

  it('FreeSWITCH killed -9 and restarted: reconnect, resync, synthesized del-member, no ghosts', async () => {
    await rig.esl.originate('ops', '2002', 'Dave');
    await rig.tap.waitFor(is('add-member', (d) => d.body.caller_id_number === '2002'), 'dave add-member');
    const before = await eventually(async () => {
      const p = await participants();
      return p.length === 2 ? p : undefined;
    }, 15_000, 'two participants in the API');
    const oldCalls = before.map((p) => p.call_id as string).sort();

    const seen = rig.tap.received.length;
    await rig.restartSimulator();
    // The fresh FreeSWITCH has no conference: both participants are reported gone, marked synthesized
    for (const call of oldCalls) {
      const del = await rig.tap.waitFor(
        (d) => is('del-member')(d) && d.body.call_id === call && rig.tap.received.indexOf(d) >= seen,
        `synthesized del-member for ${call}`,
        30_000,
      );
      expect(del.body.synthesized).toBe(true);
      expect(del.routingKey).toBe(`conference.event.ops.${call}`);
    }
    await eventually(async () => (await fetch(`${rig.base}/readyz`)).status === 200, 20_000, 'ready after the restart');

    // New calls on the new FreeSWITCH: member ids start again at 1, and nothing of the old ones remains
    await rig.esl.originate('ops', '2003', 'Erin');
    const erin = await rig.tap.waitFor(is('add-member', (d) => d.body.caller_id_number === '2003'), 'erin add-member');
    expect(erin.body.participant_id).toBe(1);
    expect(erin.body.synthesized).toBeUndefined();
    const now = await eventually(async () => {
      const p = await participants();
      return p.length === 1 ? p : undefined;
    }, 15_000, 'exactly one participant');
    expect(now[0]).toMatchObject({ participant_id: 1, caller_id_number: '2003' });
    expect(oldCalls).not.toContain(now[0]!.call_id);
    // and the ops command path works against the new node
    const cli = await rig.rpc.call('ops', kazoo('mute_participant', 'ops', { 'Participant-ID': 1 }));
    expect(cli.status).toBe('success');
  }, 60_000);

  it('FreeSWITCH restarted while unreachable, calls joined meanwhile: synthesized del-member AND add-member, no ghosts', async () => {
    const before = await participants();
    expect(before.length).toBeGreaterThan(0);
    await rig.proxy!.cut();
    await eventually(async () => (await fetch(`${rig.base}/readyz`)).status === 503, 15_000, 'node down');
    await rig.restartSimulator(); // fresh FreeSWITCH: member ids start at 1 again
    await rig.esl.originate('ops', '5001', 'Heidi');
    await rig.esl.originate('ops', '5002', 'Ivan');
    const seen = rig.tap.received.length;
    await rig.proxy!.open();
    const fresh = (n: string) => (d: Delivery) => is('add-member', (x) => x.body.caller_id_number === n)(d) && rig.tap.received.indexOf(d) >= seen;
    for (const n of ['5001', '5002']) {
      const add = await rig.tap.waitFor(fresh(n), `synthesized add-member for ${n}`, 30_000);
      expect(add.body.synthesized).toBe(true);
      expect(typeof add.body.participant_id).toBe('number');
    }
    for (const p of before) {
      const del = await rig.tap.waitFor(
        (d) => is('del-member')(d) && d.body.call_id === p.call_id && rig.tap.received.indexOf(d) >= seen,
        `synthesized del-member for ${String(p.call_id)}`,
        30_000,
      );
      expect(del.body.synthesized).toBe(true);
    }
    const now = await eventually(async () => {
      const p = await participants();
      return p.length === 2 ? p : undefined;
    }, 15_000, 'exactly the two new participants');
    expect(now.map((p) => p.caller_id_number).sort()).toEqual(['5001', '5002']);
    // member ids restarted at 1 on the new FreeSWITCH; the old participant with id 1 is not confused with the new one
    expect(now.map((p) => p.participant_id).sort()).toEqual([1, 2]);
  }, 60_000);

  it('the service’s RabbitMQ connections force-closed: reconnects, nothing lost, commands still answered', async () => {
    const pid = rig.svc.child.pid!;
    const names = await serviceAmqpConnections(pid);
    expect(names.length).toBe(2); // publisher + command intake
    const count = (re: RegExp) => rig.svc.output.split('\n').filter((l) => re.test(l)).length;
    const publisherConnects = count(/AMQP publisher connected/);
    const intakeConnects = count(/AMQP command intake consuming/);
    const seen = rig.tap.received.length;
    // Calls join while the connections are being killed
    const joined = rig.esl.originate('ops', '3001', 'Frank');
    for (const name of names) await run('rabbitmqctl', ['close_connection', name, 'acceptance test']);
    await joined;
    for (let i = 0; i < 5; i++) await rig.esl.originate('ops', `300${i + 2}`, `Caller ${i}`);
    const expected = ['3001', '3002', '3003', '3004', '3005', '3006'];
    await eventually(() => {
      const got = new Set(
        rig.tap.received
          .slice(seen)
          .filter((d) => is('add-member')(d))
          .map((d) => d.body.caller_id_number),
      );
      return expected.every((n) => got.has(n));
    }, 30_000, `add-member for ${expected.join(',')} (got: ${rig.tap.summary()})`);
    // both really were closed and came back
    await eventually(() => count(/AMQP publisher connected/) > publisherConnects, 20_000, 'publisher reconnect');
    await eventually(() => count(/AMQP command intake consuming/) > intakeConnects, 20_000, 'intake reconnect');
    await eventually(async () => (await fetch(`${rig.base}/readyz`)).status === 200, 20_000, 'ready again');
    const reply = await rig.rpc.call('ops', kazoo('lock', 'ops'), 30_000);
    expect(reply.status).toBe('success');
    expect((await rig.rpc.call('ops', kazoo('unlock', 'ops'))).status).toBe('success');
    expect(rig.svc.running).toBe(true);
  });

  it('confmgr restarted while calls join: synthesized add-member for them, no duplicates in the API', async () => {
    const stopped = await rig.svc.stop(15_000);
    expect(stopped.code).toBe(0);
    await rig.esl.originate('ops', '4001', 'Grace');
    const seen = rig.tap.received.length;
    await rig.startService();
    const add = await rig.tap.waitFor(
      (d) => is('add-member', (x) => x.body.caller_id_number === '4001')(d) && rig.tap.received.indexOf(d) >= seen,
      'synthesized add-member for the call that joined while confmgr was down',
      30_000,
    );
    expect(add.body.synthesized).toBe(true);
    const p = await participants();
    const ids = p.map((x) => x.participant_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(p.map((x) => x.caller_id_number)).toContain('4001');
    const fsCount = Number((await rig.esl.api('conference ops list count')).trim());
    expect(p).toHaveLength(fsCount);
  }, 60_000);

  it('FreeSWITCH gone for longer than down_grace_ms: its participants are reported gone, readyz 503', async () => {
    const before = await participants();
    expect(before.length).toBeGreaterThan(0);
    const seen = rig.tap.received.length;
    await rig.killSimulator();
    await eventually(async () => (await fetch(`${rig.base}/readyz`)).status === 503, 15_000, 'readyz 503 while the node is down');
    const ready = (await (await fetch(`${rig.base}/readyz`)).json()) as Record<string, any>;
    expect(ready.nodes.fs1.up).toBe(false);
    expect((await fetch(`${rig.base}/healthz`)).status).toBe(200);
    for (const p of before) {
      const del = await rig.tap.waitFor(
        (d) => is('del-member')(d) && d.body.call_id === p.call_id && rig.tap.received.indexOf(d) >= seen,
        `synthesized del-member for ${String(p.call_id)} after the grace period`,
        30_000,
      );
      expect(del.body.synthesized).toBe(true);
    }
    expect(await participants()).toHaveLength(0);
    // Commands fail with a typed error, not a hang
    const reply = await rig.rpc.call('ops', kazoo('lock', 'ops'));
    expect(reply.status).toBe('error');
    expect(['CONFERENCE_NOT_FOUND', 'NODE_DOWN']).toContain((reply.error as { code: string }).code);
  }, 60_000);

  it('SIGTERM (with FreeSWITCH down): clean exit 0, and /healthz stops answering', async () => {
    const r = await rig.svc.stop(15_000);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
    await expect(fetch(`${rig.base}/healthz`)).rejects.toThrow();
  });
});
