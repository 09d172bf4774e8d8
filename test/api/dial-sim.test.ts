/**
 * Kazoo's conference dial end to end: confmgr's real service wiring (createService) over the
 * simulator and the real RabbitMQ, driven over REST (cb_conferences.erl `dial/3`: PUT
 * /v2/accounts/{A}/conferences/{C} {"data":{"action":"dial","data":{…}}}, answered 202 with
 * `endpoint_responses`) and over AMQP (kapi_conference.erl `dial`: DIAL_HEADERS Endpoints,
 * Conference-ID, Application-Name; OPTIONAL_DIAL_HEADERS Caller-ID-Name, Caller-ID-Number, Timeout,
 * Participant-Flags, Profile-Name, Outbound-Call-ID, Target-Call-ID…; answered with dial_resp,
 * DIAL_RESP_HEADERS Endpoint-Responses). The simulator answers each endpoint as told: answer, busy,
 * no answer (after originate_timeout), or a failure cause.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { createService, type ServiceHandle } from '../../src/app/service.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/util/log.js';
import { AMQP_URL, CommandRequester } from '../helpers/bus-amqp.js';
import { pollUntil } from '../helpers/wait.js';

const A = 'acc_dial_a';
const TOKEN = `tok-${randomBytes(12).toString('hex')}`;
const exchange = `confmgr-dial-sim-${randomBytes(4).toString('hex')}`;
const queue = `confmgr-dial-cmd-${randomBytes(4).toString('hex')}`;
const CONF = 'dial_room';

let sim: Simulator;
let service: ServiceHandle;
let requester: CommandRequester;

async function http(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${service.http!.url}${path}`, {
    method,
    headers: { 'x-auth-token': TOKEN, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const dial = (data: unknown, conference = CONF) => http('PUT', `/v2/accounts/${A}/conferences/${conference}`, { data: { action: 'dial', data } });

function members(conference = CONF) {
  return sim.engine.conferences().find((c) => c.name === conference)?.members ?? [];
}

/** The originate lines the simulator received since `from` bytes. */
function originates(from: number): string[] {
  return sim
    .receivedBytes()
    .subarray(from)
    .toString('utf8')
    .split('\n')
    .filter((l) => l.startsWith('bgapi originate') || l.startsWith('api originate'));
}

beforeAll(async () => {
  sim = await startSimulator({ port: 0, verboseEvents: true, heartbeatMs: 0, fileDurationMs: 5 });
  const config = parseConfig(
    `
freeswitch:
  nodes:
    - {name: fs1, host: 127.0.0.1, port: ${sim.port}, password: ClueCon}
  reconnect: {base_ms: 50, cap_ms: 200}
amqp: {url: "${AMQP_URL}", exchange: ${exchange}, command_queue: ${queue}}
http:
  listen: 127.0.0.1:0
  tokens:
    - {token: ${TOKEN}, account_id: ${A}}
storage: {path: ":memory:"}
log: {level: silent}
`,
    'dial.yaml',
    { env: {} },
  );
  service = await createService(config, { logger: silentLogger, instanceName: 'confmgr@dial-test' });
  await service.start();
  await pollUntil('node up', () => service.cluster.node('fs1').state === 'up', 20_000);
  await pollUntil('command intake', () => service.intake?.connected === true, 20_000);
  const created = await http('PUT', `/v2/accounts/${A}/conferences`, { data: { id: CONF, name: 'Dial room' } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  // The conference runs: a first member is in it.
  sim.engine.originate({ conference: CONF, callerIdNumber: '1000', callerIdName: 'Host', vars: { 'ecallmgr_Account-ID': A } });
  await pollUntil('conference live', () => service.registry.conference(CONF) !== undefined, 10_000);
  requester = await CommandRequester.open(exchange);
  sim.engine.setDialOutcome('sofia/internal/busy@example.com', { kind: 'busy' });
  sim.engine.setDialOutcome('sofia/internal/away@example.com', { kind: 'no_answer' });
  sim.engine.setDialOutcome('user/rejects@example.com', { kind: 'fail', cause: 'CALL_REJECTED' });
  sim.engine.setDialOutcome('sofia/gateway/nowhere/15550000', { kind: 'fail', cause: 'NO_ROUTE_DESTINATION' });
  sim.engine.setDialOutcome('user/slow@example.com', { kind: 'answer', afterMs: 300 });
}, 60_000);

afterAll(async () => {
  await requester?.close();
  await service?.stop('test done');
  await sim?.close();
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  for (const q of [queue, `${queue}.dead`]) await ch.deleteQueue(q).catch(() => undefined);
  for (const x of [exchange, `${exchange}.${queue}`, `${exchange}.${queue}.unrouted`]) await ch.deleteExchange(x).catch(() => undefined);
  await conn.close().catch(() => undefined);
}, 60_000);

describe('dial over REST', () => {
  it('a mix of endpoints: each reply entry says joined, busy, no answer or failed with the cause; the joined ones are in with the flags', async () => {
    const from = sim.receivedBytes().length;
    const started = Date.now();
    const res = await dial({
      endpoints: [
        'sofia/internal/alice@example.com',
        { route: 'user/slow@example.com', endpoint_id: 'bob-phone', outbound_call_id: 'bob-call-0001' },
        'sofia/internal/busy@example.com',
        'sofia/internal/away@example.com',
        'user/rejects@example.com',
        'sofia/gateway/nowhere/15550000',
      ],
      caller_id_name: 'Dial Room',
      caller_id_number: '5000',
      timeout: 1,
      participant_flags: ['mute', 'deaf'],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    // The no-answer endpoint rang its whole timeout (1 s) before the reply.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const data = res.body.data;
    expect(data).toMatchObject({ action: 'dial', conference_id: CONF, node: 'fs1', profile: 'default' });
    const byId = new Map<string, any>(data.endpoint_responses.map((e: any) => [e.endpoint_id, e]));
    expect(data.endpoint_responses.map((e: any) => e.endpoint_id)).toEqual([
      'sofia/internal/alice@example.com',
      'bob-phone',
      'sofia/internal/busy@example.com',
      'sofia/internal/away@example.com',
      'user/rejects@example.com',
      'sofia/gateway/nowhere/15550000',
    ]);
    expect(byId.get('sofia/internal/alice@example.com')).toMatchObject({ status: 'success', result: 'joined', message: 'dialing endpoints' });
    expect(byId.get('bob-phone')).toEqual({ endpoint_id: 'bob-phone', call_id: 'bob-call-0001', status: 'success', result: 'joined', message: 'dialing endpoints' });
    expect(byId.get('sofia/internal/busy@example.com')).toMatchObject({ status: 'error', result: 'busy', hangup_cause: 'USER_BUSY', message: 'USER_BUSY' });
    expect(byId.get('sofia/internal/away@example.com')).toMatchObject({ status: 'error', result: 'no_answer', hangup_cause: 'NO_ANSWER' });
    expect(byId.get('user/rejects@example.com')).toMatchObject({ status: 'error', result: 'failed', hangup_cause: 'CALL_REJECTED' });
    expect(byId.get('sofia/gateway/nowhere/15550000')).toMatchObject({ status: 'error', result: 'failed', hangup_cause: 'NO_ROUTE_DESTINATION' });
    for (const e of data.endpoint_responses) expect(e.call_id).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]{7,63}$/);

    // The joined legs are members, under the call ids the reply named, with the join flags.
    const alice = byId.get('sofia/internal/alice@example.com').call_id as string;
    for (const callId of [alice, 'bob-call-0001']) {
      const m = members().find((x) => x.callId === callId);
      expect(m, callId).toBeDefined();
      expect(m).toMatchObject({ canSpeak: false, canHear: false, moderator: false, joinFlags: ['mute', 'deaf'], callerIdName: 'Dial Room', callerIdNumber: '5000' });
    }
    expect(members()).toHaveLength(3);
    // confmgr's registry saw them join (add-member), muted and deaf in the first event.
    await pollUntil('registry has both', () => ['bob-call-0001', alice].every((c) => service.registry.participants(CONF).some((p) => p.callId === c)), 10_000);
    for (const p of service.registry.participants(CONF).filter((x) => x.callId === alice || x.callId === 'bob-call-0001')) {
      expect(p).toMatchObject({ speak: false, hear: false, isModerator: false });
    }

    // One bgapi originate per endpoint, straight into the conference, its call id preset.
    const lines = originates(from);
    expect(lines).toHaveLength(6);
    expect(lines.every((l) => l.startsWith('bgapi originate {origination_uuid='))).toBe(true);
    expect(lines).toContain(
      "bgapi originate {origination_uuid=bob-call-0001,originate_timeout=1,origination_caller_id_name='Dial Room',origination_caller_id_number=5000}user/slow@example.com &conference(dial_room@default+flags{mute|deaf})",
    );
  });

  it('moderator flag and a profile FreeSWITCH does not know (falls back to default)', async () => {
    const from = sim.receivedBytes().length;
    const res = await dial({ endpoints: ['user/mod@example.com'], participant_flags: ['moderator'], profile_name: 'no_such_profile' });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.data.profile).toBe('default');
    const callId = res.body.data.endpoint_responses[0].call_id as string;
    expect(members().find((m) => m.callId === callId)).toMatchObject({ moderator: true, canSpeak: true, joinFlags: ['moderator'] });
    const wire = sim.receivedBytes().subarray(from).toString('utf8');
    expect(wire).toContain('api xml_locate configuration configuration name conference.conf');
    expect(originates(from)[0]).toContain('&conference(dial_room@default+flags{moderator})');
  });

  it('answered but refused by the conference application (locked): failed, "answered but did not join the conference"', async () => {
    sim.engine.executeApi(`conference ${CONF} lock`);
    await pollUntil('registry sees the lock', () => service.registry.conference(CONF)?.locked === true, 10_000);
    try {
      const before = members().length;
      const res = await dial({ endpoints: ['user/late@example.com', 'sofia/internal/busy@example.com'] });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      const [late, busy] = res.body.data.endpoint_responses;
      expect(late).toMatchObject({ endpoint_id: 'user/late@example.com', status: 'error', result: 'failed', message: 'answered but did not join the conference' });
      expect(late.hangup_cause).toBeUndefined();
      expect(busy).toMatchObject({ result: 'busy', hangup_cause: 'USER_BUSY' });
      expect(members()).toHaveLength(before);
    } finally {
      sim.engine.executeApi(`conference ${CONF} unlock`);
      await pollUntil('registry sees the unlock', () => service.registry.conference(CONF)?.locked === false, 10_000);
    }
  });

  it.each([
    ['a newline in an endpoint', { endpoints: ['user/1000@example.com\nbgapi fsctl shutdown'] }, 'data.endpoints.0'],
    ['a control character in an endpoint', { endpoints: ['user/10\u000100'] }, 'data.endpoints.0'],
    ['& in an endpoint', { endpoints: ['user/1000@example.com &park()'] }, 'data.endpoints.0'],
    [', in an endpoint', { endpoints: ['user/1000,user/1001'] }, 'data.endpoints.0'],
    ['| in an endpoint', { endpoints: ['user/1000|sofia/internal/x@evil.example'] }, 'data.endpoints.0'],
    ['| in a variable value', { endpoints: ['{a=b|c}user/1000'] }, 'data.endpoints.0'],
    ['a preset origination_uuid', { endpoints: ['{origination_uuid=hijack}user/1000'] }, 'data.endpoints.0'],
    ['a newline in the caller id name', { endpoints: ['user/1000'], caller_id_name: 'Evil\nbgapi fsctl shutdown' }, 'data.caller_id_name'],
    ['a quote in the caller id name', { endpoints: ['user/1000'], caller_id_name: "x',origination_uuid=y" }, 'data.caller_id_name'],
    ['a bad endpoint among good ones', { endpoints: ['user/1000', 'user/1001 &echo'] }, 'data.endpoints.1'],
  ])('refuses %s (400, nothing dialled)', async (_what, data, field) => {
    const from = sim.receivedBytes().length;
    const before = members().length;
    const res = await dial(data);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(Object.keys(res.body.data)).toEqual([field]);
    expect(originates(from)).toEqual([]);
    expect(members()).toHaveLength(before);
  });

  it('refuses an unknown participant flag and a missing data object with Kazoo validation errors', async () => {
    const bad = await dial({ endpoints: ['user/1000'], participant_flags: ['admin'] });
    expect(bad.status).toBe(400);
    const missing = await http('PUT', `/v2/accounts/${A}/conferences/${CONF}`, { data: { action: 'dial' } });
    expect(missing.status).toBe(400);
    expect(missing.body.data).toEqual({ data: { required: { message: "action 'dial' requires a data object" } } });
    const empty = await dial({ endpoints: [] });
    expect(empty.status).toBe(400);
  });

  it('an unknown conference (no document, not running): 404, nothing dialled', async () => {
    const from = sim.receivedBytes().length;
    const res = await dial({ endpoints: ['user/1000'] }, 'not_running_here');
    expect(res.status).toBe(404);
    expect(originates(from)).toEqual([]);
  });

  it("a documented conference that runs nowhere: the dial starts it (the first answering leg creates it with the document's profile)", async () => {
    const created = await http('PUT', `/v2/accounts/${A}/conferences`, { data: { id: 'dial_fresh', profile: 'default' } });
    expect(created.status).toBe(201);
    expect(service.registry.conference('dial_fresh')).toBeUndefined();
    const res = await dial({ endpoints: ['user/first@example.com', 'user/second@example.com'], participant_flags: ['moderator'] }, 'dial_fresh');
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.data).toMatchObject({ conference_id: 'dial_fresh', node: 'fs1', profile: 'default' });
    expect(res.body.data.endpoint_responses.map((e: any) => e.result)).toEqual(['joined', 'joined']);
    expect(members('dial_fresh')).toHaveLength(2);
    expect(sim.engine.conferences().find((c) => c.name === 'dial_fresh')?.profile).toBe('default');
    await pollUntil('registry sees it', () => service.registry.conference('dial_fresh') !== undefined, 10_000);
  });
});

describe('dial over AMQP (kapi_conference dial → dial_resp)', () => {
  it("Kazoo's exact message: route endpoints and dial strings, answered with Endpoint-Responses", async () => {
    const from = sim.receivedBytes().length;
    const reply = await requester.send<any>(CONF, {
      'Event-Category': 'conference',
      'Event-Name': 'command',
      'Application-Name': 'dial',
      'Conference-ID': CONF,
      'Msg-ID': 'msg-dial-1',
      'App-Name': 'crossbar',
      'App-Version': '4.3.0',
      'Server-ID': 'crossbar-server',
      Node: 'crossbar@host',
      'Custom-Application-Vars': {},
      Endpoints: [
        { Route: 'sofia/internal/carol@example.com', 'Endpoint-ID': 'carol', 'Outbound-Call-ID': 'carol-call-0001', 'Invite-Format': 'route' },
        'sofia/internal/busy@example.com',
      ],
      'Caller-ID-Name': 'Kazoo Room',
      'Caller-ID-Number': '6000',
      Timeout: 5,
      'Participant-Flags': ['deaf'],
    });
    expect(reply).toEqual({
      status: 'success',
      'Event-Category': 'conference',
      'Event-Name': 'command',
      'Application-Name': 'dial_resp',
      'Conference-ID': CONF,
      'Msg-ID': 'msg-dial-1',
      'Endpoint-Responses': [
        { 'Endpoint-ID': 'carol', 'Call-ID': 'carol-call-0001', Status: 'success', Message: 'dialing endpoints', Result: 'joined' },
        { 'Endpoint-ID': 'sofia/internal/busy@example.com', 'Call-ID': expect.any(String), Status: 'error', Message: 'USER_BUSY', Result: 'busy', 'Hangup-Cause': 'USER_BUSY' },
      ],
    });
    expect(members().find((m) => m.callId === 'carol-call-0001')).toMatchObject({ canHear: false, canSpeak: true, joinFlags: ['deaf'], callerIdName: 'Kazoo Room' });
    // The document's join_muted (members join muted) does not override the dial's own flags.
    await pollUntil('carol in the registry', () => service.registry.participants(CONF).some((p) => p.callId === 'carol-call-0001'), 10_000);
    await service.records.enforcer.idle();
    expect(members().find((m) => m.callId === 'carol-call-0001')).toMatchObject({ canHear: false, canSpeak: true });
    expect(originates(from)).toHaveLength(2);
  });

  it('an injection attempt is a conference_error, nothing dialled', async () => {
    const from = sim.receivedBytes().length;
    const reply = await requester.send<any>(CONF, {
      'Application-Name': 'dial',
      'Conference-ID': CONF,
      Endpoints: [{ Route: 'user/1000@example.com\n\nbgapi fsctl shutdown' }],
    });
    expect(reply).toMatchObject({ status: 'error', 'Event-Name': 'conference_error', 'Application-Name': 'dial', error: { code: 'INVALID_ARGUMENT' } });
    const name = await requester.send<any>(CONF, { 'Application-Name': 'dial', 'Conference-ID': CONF, Endpoints: ['user/1000'], 'Caller-ID-Name': 'a\r\nb' });
    expect(name).toMatchObject({ status: 'error', error: { code: 'INVALID_ARGUMENT', details: { field: 'caller_id_name' } } });
    expect(originates(from)).toEqual([]);
  });

  it('a dial for a conference that runs nowhere starts it (Kazoo: maybe_start_conference), the conference id from the routing key', async () => {
    const name = `nowhere_${randomUUID().slice(0, 8)}`;
    const reply = await requester.send<any>(name, { 'Application-Name': 'dial', Endpoints: ['user/1000'], 'Profile-Name': 'not_defined_here' });
    expect(reply).toMatchObject({ status: 'success', 'Application-Name': 'dial_resp', 'Conference-ID': name, 'Endpoint-Responses': [{ Result: 'joined' }] });
    // The unknown profile fell back to default: the conference has the default profile's settings, not the compiled-in ones.
    expect(sim.engine.conferences().find((c) => c.name === name)?.profile).toBe('default');
  });
});
