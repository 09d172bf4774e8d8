/**
 * Black-box acceptance: the operator commands against a running service (tables, exit codes
 * 0/1/2/3), the REST API with X-Auth-Token, WebSocket events and conferencecalls.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, http, runCli, type CliResult } from '../helpers/acc-harness.js';
import { ACC_ACCOUNT, ACC_TOKEN, startRig, type AccRig } from '../helpers/acc-rig.js';

describe('operator commands and the REST API against a running service', () => {
  let rig: AccRig;
  const cli = (args: string[]): Promise<CliResult> => runCli([...args, '--config', rig.configFile]);

  beforeAll(async () => {
    rig = await startRig({ publish: undefined });
    // One conference attributed by a document, one by the callers' account_id channel variable
    // is only possible with verbose events; the document is what works against any FreeSWITCH.
    const put = await http(rig.base, 'PUT', `/v2/accounts/${ACC_ACCOUNT}/conferences`, {
      token: ACC_TOKEN,
      body: { data: { id: 'weekly', name: 'Weekly sync', member: { join_muted: false } } },
    });
    expect(put.status).toBe(201);
    await rig.esl.originate('weekly', '1001', 'Moderator', { moderator: true });
    await rig.esl.originate('weekly', '1002', 'Zoë Ünïcøde');
    await eventually(async () => {
      const r = await http(rig.base, 'GET', `/v2/accounts/${ACC_ACCOUNT}/conferences/weekly/participants`, { token: ACC_TOKEN });
      return r.status === 200 && (r.body.data as unknown[]).length === 2;
    }, 20_000, 'two participants');
  }, 60_000);

  afterAll(async () => {
    await rig?.close();
  }, 30_000);

  it('conferences and participants print readable tables', async () => {
    const confs = await cli(['conferences']);
    expect(confs.code).toBe(0);
    const lines = confs.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^CONFERENCE\s+NAME\s+MEMBERS\s+MODERATORS\s+LOCKED\s+DURATION/);
    expect(lines.find((l) => l.startsWith('weekly'))).toMatch(/^weekly\s+Weekly sync\s+1\s+1\s+no\s+\d+s/);

    const parts = await cli(['participants', 'weekly']);
    expect(parts.code).toBe(0);
    const rows = parts.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^ID\s+CALLER\s+MODERATOR/);
    expect(rows).toHaveLength(3);
    expect(rows[1]).toMatch(/^\d+\s+Moderator <1001>\s+yes/);
    expect(rows[2]).toMatch(/^\d+\s+Zoë Ünïcøde <1002>\s+no/);
    // columns line up: the MODERATOR column starts at the same character in every row
    const col = rows[0]!.indexOf('MODERATOR');
    expect(rows[1]!.slice(col)).toMatch(/^yes/);
    expect(rows[2]!.slice(col)).toMatch(/^no/);

    const json = await cli(['participants', 'weekly', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toHaveLength(2);
  });

  it('mute / unmute / deaf / lock / unlock / kick: OK and exit 0; errors exit 1; bad usage exit 2', async () => {
    const rows = (await cli(['participants', 'weekly'])).stdout.trimEnd().split('\n');
    const member = rows[2]!.split(/\s+/)[0]!;
    for (const args of [['mute', 'weekly', member], ['unmute', 'weekly', member], ['deaf', 'weekly', 'non_moderator'], ['undeaf', 'weekly', 'all'], ['lock', 'weekly'], ['unlock', 'weekly']]) {
      const r = await cli(args);
      expect([args.join(' '), r.code, r.stdout.trim()]).toEqual([args.join(' '), 0, `OK: ${args.join(' ')}`]);
    }
    const afterMute = rig.tap.events((d) => d.body.event === 'mute-member' && String(d.body.participant_id) === member);
    expect(afterMute.length).toBeGreaterThan(0);

    const noMember = await cli(['mute', 'weekly', '999']);
    expect(noMember.code).toBe(1);
    expect(noMember.stderr).toMatch(/MEMBER_NOT_FOUND/);
    const noConf = await cli(['lock', 'nosuchconf']);
    expect(noConf.code).toBe(1);
    expect(noConf.stderr).toMatch(/not found/);
    for (const bad of [['mute', 'weekly'], ['mute', 'weekly', '1;hup all'], ['mute', 'weekly bad', '1'], ['participants']]) {
      const r = await cli(bad);
      expect([bad.join(' '), r.code]).toEqual([bad.join(' '), expect.any(Number)]);
      expect(r.code === 2 || r.code === 1).toBe(true);
      expect(r.stderr).toMatch(/confmgr:/);
    }
    const down = await runCli(['conferences', '--url', 'http://127.0.0.1:1', '--token', ACC_TOKEN, '--account', ACC_ACCOUNT]);
    expect(down.code).toBe(3);

    const kick = await cli(['kick', 'weekly', member]);
    expect(kick.code).toBe(0);
    await rig.tap.waitFor((d) => d.body.event === 'del-member' && String(d.body.participant_id) === member, 'del-member after kick');
  }, 120_000); // fourteen CLI processes, each compiling the TypeScript sources through tsx

  it('REST API: X-Auth-Token checked, envelope, 404 / 400, actions', async () => {
    const path = `/v2/accounts/${ACC_ACCOUNT}/conferences`;
    expect((await http(rig.base, 'GET', path)).status).toBe(401);
    expect((await http(rig.base, 'GET', path, { token: 'not-the-right-token-000' })).status).toBe(401);
    expect((await http(rig.base, 'GET', '/v2/accounts/someoneelse/conferences', { token: ACC_TOKEN })).status).toBe(403);

    const list = await http(rig.base, 'GET', path, { token: ACC_TOKEN });
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ status: 'success' });
    expect(typeof list.body.request_id).toBe('string');
    const weekly = (list.body.data as Array<Record<string, unknown>>).find((c) => c.id === 'weekly');
    expect(weekly).toMatchObject({ name: 'Weekly sync', is_locked: false });
    expect(typeof weekly!.members).toBe('number');
    expect(typeof weekly!.duration).toBe('number');

    const one = await http(rig.base, 'GET', `${path}/weekly`, { token: ACC_TOKEN });
    expect(one.status).toBe(200);
    expect(one.body.data._read_only).toMatchObject({ is_locked: false });
    const p = one.body.data._read_only.participants as Array<Record<string, unknown>>;
    expect(p.length).toBeGreaterThan(0);
    for (const key of ['call_id', 'conference_name', 'conference_uuid', 'switch_hostname', 'floor', 'hear', 'speak', 'talking', 'mute_detect', 'participant_id', 'energy_level', 'current_energy', 'video', 'is_moderator', 'join_time', 'duration']) {
      expect(p[0]).toHaveProperty(key);
    }

    const lock = await http(rig.base, 'PUT', `${path}/weekly`, { token: ACC_TOKEN, body: { data: { action: 'lock' } } });
    expect(lock.status).toBe(202);
    await rig.tap.waitFor((d) => d.body.conference_id === 'weekly' && d.body.event === 'lock', 'lock event');
    const unlock = await http(rig.base, 'PUT', `${path}/weekly`, { token: ACC_TOKEN, body: { data: { action: 'unlock' } } });
    expect(unlock.status).toBe(202);

    const muteAll = await http(rig.base, 'PUT', `${path}/weekly/participants`, { token: ACC_TOKEN, body: { data: { action: 'mute' } } });
    expect(muteAll.status).toBe(202);

    const badAction = await http(rig.base, 'PUT', `${path}/weekly/participants`, { token: ACC_TOKEN, body: { data: { action: 'explode' } } });
    expect(badAction.status).toBe(400);
    expect(badAction.text).toMatch(/action/);
    const badJson = await http(rig.base, 'PUT', `${path}/weekly/participants`, { token: ACC_TOKEN, body: '{"data": ' });
    expect(badJson.status).toBe(400);
    const noMember = await http(rig.base, 'PUT', `${path}/weekly/participants/999`, { token: ACC_TOKEN, body: { data: { action: 'mute' } } });
    expect(noMember.status).toBe(404);
    const badId = await http(rig.base, 'PUT', `${path}/weekly/participants/1%0Aapi%20shutdown`, { token: ACC_TOKEN, body: { data: { action: 'mute' } } });
    expect([400, 404]).toContain(badId.status);
    const noConf = await http(rig.base, 'PUT', `${path}/nosuchconf`, { token: ACC_TOKEN, body: { data: { action: 'lock' } } });
    expect(noConf.status).toBe(404);

    const calls = await http(rig.base, 'GET', '/conferencecalls?conference_id=weekly', { token: ACC_TOKEN });
    expect(calls.status).toBe(200);
    expect(Array.isArray(calls.body.result)).toBe(true);
    expect(calls.body.result.length).toBeGreaterThan(0);
    expect(calls.body.result[0]).toMatchObject({ conference_id: 'weekly', reference_type: 'call' });

    // the service survived all of it
    expect(rig.svc.running).toBe(true);
    expect((await fetch(`${rig.base}/readyz`)).status).toBe(200);
  });
});

describe('WebSocket events and conferencecalls against a running service', () => {
  let rig: AccRig;
  beforeAll(async () => {
    rig = await startRig({ publish: ['add-member', 'del-member', 'mute-member'] });
    const put = await http(rig.base, 'PUT', `/v2/accounts/${ACC_ACCOUNT}/conferences`, {
      token: ACC_TOKEN,
      body: { data: { id: 'wsroom', name: 'WS room', member: { join_muted: false } } },
    });
    expect(put.status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  }, 30_000);

  it('a WebSocket subscriber gets the same JSON as AMQP; DELETE /conferencecalls/{id} removes the caller', async () => {
    const refused = new WebSocket(`ws://127.0.0.1:${rig.httpPort}/v2/websocket`, { headers: { 'X-Auth-Token': 'wrong-token-00000000000' } });
    const refusal = await new Promise<string>((resolve) => {
      refused.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      refused.on('open', () => resolve('open'));
      refused.on('error', () => resolve('error'));
    });
    refused.terminate();
    expect(refusal).toBe('401');

    const ws = new WebSocket(`ws://127.0.0.1:${rig.httpPort}/v2/websocket`, { headers: { 'X-Auth-Token': ACC_TOKEN } });
    const msgs: Array<Record<string, unknown>> = [];
    ws.on('message', (d) => msgs.push(JSON.parse(d.toString()) as Record<string, unknown>));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    try {
      ws.send(JSON.stringify({ action: 'subscribe', request_id: 'r1', account_id: ACC_ACCOUNT, conference_id: 'wsroom' }));
      await eventually(() => msgs.find((m) => m.action === 'reply' && m.status === 'success'), 10_000, 'subscribe reply');
      await rig.esl.originate('wsroom', '1001', 'Moderator', { moderator: true });
      await rig.esl.originate('wsroom', '1002', 'Alice');
      const wsAdd = await eventually(() => msgs.find((m) => m.event === 'add-member' && m.caller_id_number === '1002'), 15_000, 'ws add-member');
      const amqpAdd = await rig.tap.waitFor((d) => d.body.event === 'add-member' && d.body.caller_id_number === '1002', 'amqp add-member');
      expect(wsAdd).toEqual(amqpAdd.body);

      const calls = await http(rig.base, 'GET', '/conferencecalls?conference_id=wsroom&status=joined', { token: ACC_TOKEN });
      expect(calls.status).toBe(200);
      const alice = (calls.body.result as Array<Record<string, unknown>>).find((r) => r.reference_id === wsAdd.call_id);
      expect(alice).toMatchObject({ customer_id: ACC_ACCOUNT, conference_id: 'wsroom', reference_type: 'call', status: 'joined', tm_delete: '9999-01-01 00:00:00.000000' });
      expect(String(alice!.tm_create)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
      const del = await http(rig.base, 'DELETE', `/conferencecalls/${String(alice!.id)}`, { token: ACC_TOKEN });
      expect(del.status).toBe(200);
      expect(['leaving', 'leaved']).toContain(del.body.status);
      await eventually(() => msgs.find((m) => m.event === 'del-member' && m.call_id === wsAdd.call_id), 15_000, 'ws del-member');
      const after = await eventually(async () => {
        const r = await http(rig.base, 'GET', `/conferencecalls/${String(alice!.id)}`, { token: ACC_TOKEN });
        return r.body?.status === 'leaved' ? r : undefined;
      }, 15_000, 'leaved');
      expect(after.status).toBe(200);
      expect((await http(rig.base, 'DELETE', `/conferencecalls/${String(alice!.id)}`, { token: ACC_TOKEN })).status).toBe(409);
      expect((await http(rig.base, 'GET', '/conferencecalls/no-such-id', { token: ACC_TOKEN })).status).toBe(404);
    } finally {
      ws.close();
    }
  }, 55_000);
});
