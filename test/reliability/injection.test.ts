/**
 * Injection attempts through every way in — AMQP commands (Kazoo JSON and confmgr's own form),
 * the REST API (with a valid token) and the CLI operator commands (which talk HTTP to the service) —
 * with CR, LF, NUL, spaces, tabs and ESL keywords in conference names, member ids, file names and
 * other arguments. Each is refused with a clear error; then the bytes the simulator received are
 * checked: every command is one clean line and none of the injected text ever reached the wire.
 * Positive controls (the same paths with valid values) prove the capture sees real commands.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import type { Channel, ChannelModel } from 'amqplib';
import { commandRoutingKey } from '../../src/bus/routing.js';
import { runCli, type CliIo } from '../../src/cli/run.js';
import { CONFERENCE_NAME_RE } from '../../src/conference/validate.js';
import { AMQP_URL } from '../helpers/bus-amqp.js';
import { REL_ACCOUNT, REL_TOKEN, startRelRig, waitUntil, wireCommandLines, type RelRig } from '../helpers/rel-service.js';

const CONF = 'rel-inj';
/** Text that must never appear on the wire, whatever the path. */
const MARKERS = ['uuid_kill', 'event plain', 'api status', 'fsctl', 'sendmsg', 'INJECTED'];

const BAD_CONFERENCES = [
  `${CONF}\n\napi uuid_kill INJECTED`,
  `${CONF}\r\nevent plain ALL`,
  `${CONF} all`,
  `${CONF}\tkick all`,
  `${CONF}\u0000INJECTED`,
  'list',
  `x\r\nevent plain ALL`,
];
const BAD_MEMBERS = ['1 all', '1\n\napi uuid_kill INJECTED', '1\r\nevent plain ALL', '1\u0000', '1\tall', 'all kick', '-1', '1.5'];
const BAD_FILES = [
  '/tmp/a.wav\n\napi uuid_kill INJECTED',
  '/tmp/a.wav all',
  '/tmp/a.wav\r\nevent plain ALL',
  '/tmp/a\u0000.wav',
  '/tmp/a.wav\tINJECTED',
  '"/tmp/a b.wav"',
];

let rig: RelRig;
let conn: ChannelModel;
let channel: Channel;
const pending = new Map<string, (reply: Record<string, unknown>) => void>();
let seq = 0;

beforeAll(async () => {
  rig = await startRelRig({ http: true, commandIntake: true });
  rig.sim.engine.originate({ conference: CONF, callerIdNumber: '100', vars: { account_id: REL_ACCOUNT } });
  rig.sim.engine.originate({ conference: CONF, callerIdNumber: '101', vars: { account_id: REL_ACCOUNT } });
  await waitUntil('members in the registry', () => rig.service.registry.participants(CONF).length === 2);
  await waitUntil('command intake connected', () => rig.service.intake?.connected === true, 15_000);
  conn = await amqp.connect(AMQP_URL);
  conn.on('error', () => undefined);
  channel = await conn.createChannel();
  await channel.consume(
    'amq.rabbitmq.reply-to',
    (msg) => {
      if (!msg) return;
      const done = pending.get(String(msg.properties.correlationId));
      pending.delete(String(msg.properties.correlationId));
      done?.(JSON.parse(msg.content.toString('utf8')) as Record<string, unknown>);
    },
    { noAck: true },
  );
}, 40_000);

afterAll(async () => {
  await conn?.close().catch(() => undefined);
  await rig?.close();
}, 30_000);

function rpc(body: unknown, routingKey = commandRoutingKey(CONF)): Promise<Record<string, unknown>> {
  const correlationId = `rel-inj-${process.pid}-${++seq}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no AMQP reply for ${JSON.stringify(body)}`)), 10_000);
    pending.set(correlationId, (r) => {
      clearTimeout(timer);
      resolve(r);
    });
    channel.publish(rig.exchange, routingKey, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), {
      replyTo: 'amq.rabbitmq.reply-to',
      correlationId,
      contentType: 'application/json',
    });
  });
}

async function http(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${rig.service.http!.url}${path}`, {
    method,
    headers: { 'x-auth-token': REL_TOKEN, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t), env: {} };
  const code = await runCli([...args, '--url', rig.service.http!.url, '--token', REL_TOKEN, '--account', REL_ACCOUNT], io);
  return { code, out, err };
}

function expectRefused(reply: Record<string, unknown>, what: string): void {
  expect(reply.status, what).toBe('error');
  const error = reply.error as { code?: string; message?: string };
  expect(['INVALID_ARGUMENT', 'INVALID_COMMAND'], `${what}: ${JSON.stringify(error)}`).toContain(error.code);
  expect(error.message, what).toMatch(/\S/);
}

const refusedTotals = { amqp: 0, http: 0, cli: 0 };

describe('AMQP commands carrying injection', () => {
  it("confmgr's own form: conference, target, file, path, digits, param", async () => {
    const bodies: unknown[] = [];
    for (const c of BAD_CONFERENCES) bodies.push({ command: { kind: 'mute', conference: c, target: 1 } }, { command: { kind: 'lock', conference: c } });
    for (const m of BAD_MEMBERS) bodies.push({ command: { kind: 'kick', conference: CONF, target: m } });
    for (const f of BAD_FILES) {
      bodies.push({ command: { kind: 'play', conference: CONF, file: f } }, { command: { kind: 'play', conference: CONF, file: f, member: 1 } });
      bodies.push({ command: { kind: 'record', conference: CONF, path: f } }, { command: { kind: 'norecord', conference: CONF, path: f } });
    }
    bodies.push({ command: { kind: 'dtmf', conference: CONF, target: 1, digits: '1\n\napi uuid_kill INJECTED' } });
    bodies.push({ command: { kind: 'dtmf', conference: CONF, target: 1, digits: '1 2' } });
    bodies.push({ command: { kind: 'get', conference: CONF, param: 'count\n\napi status' } });
    bodies.push({ command: { kind: 'energy', conference: CONF, target: 1, value: '100\n\napi status' } });
    bodies.push({ commands: [{ kind: 'mute', conference: CONF, target: 1 }, { kind: 'unmute', conference: `${CONF}\n\napi status`, target: 1 }] });
    for (const body of bodies) {
      const reply = await rpc(body);
      if ('commands' in (body as object)) {
        // Bulk: the valid item may run; the injected one must be refused.
        const results = reply.results as Array<{ status: string; error?: { code: string } }> | undefined;
        const refused = results ? results.some((r) => r.status === 'error' && r.error?.code === 'INVALID_ARGUMENT') : reply.status === 'error';
        expect(refused, JSON.stringify(reply)).toBe(true);
      } else expectRefused(reply, JSON.stringify(body));
      refusedTotals.amqp++;
    }
  }, 60_000);

  it('Kazoo form: Conference-ID, Participant-ID, Media-Name, levels, and the routing key itself', async () => {
    const bodies: Array<{ body: unknown; key?: string }> = [];
    for (const c of BAD_CONFERENCES) {
      bodies.push({ body: { 'Event-Category': 'conference', 'Event-Name': 'command', 'Application-Name': 'mute_participant', 'Conference-ID': c, 'Participant-ID': 1 } });
      // Conference taken from the routing key (no Conference-ID in the body).
      bodies.push({ body: { 'Application-Name': 'lock' }, key: commandRoutingKey(c) });
    }
    for (const m of BAD_MEMBERS) {
      bodies.push({ body: { 'Application-Name': 'kick', 'Conference-ID': CONF, 'Participant-ID': m } });
      bodies.push({ body: { 'Application-Name': 'relate_participants', 'Conference-ID': CONF, 'Participant-ID': 1, 'Other-Participant': m, Relationship: 'mute' } });
    }
    for (const f of BAD_FILES) {
      bodies.push({ body: { 'Application-Name': 'play', 'Conference-ID': CONF, 'Media-Name': f } });
      bodies.push({ body: { 'Application-Name': 'record', 'Conference-ID': CONF, 'Media-Name': f } });
    }
    bodies.push({ body: { 'Application-Name': 'participant_energy', 'Conference-ID': CONF, 'Participant-ID': 1, 'Energy-Level': '1\n\napi status' } });
    bodies.push({ body: { 'Application-Name': 'stop_play', 'Conference-ID': CONF, Affects: 'all\n\napi status' } });
    bodies.push({ body: { 'Application-Name': 'mute_participant\n\napi status', 'Conference-ID': CONF, 'Participant-ID': 1 } });
    for (const { body, key } of bodies) {
      const reply = await rpc(body, key);
      expectRefused(reply, JSON.stringify({ body, key }));
      refusedTotals.amqp++;
    }
  }, 60_000);

  it('positive control: a valid Kazoo mute runs and is seen on the wire', async () => {
    const reply = await rpc({ 'Application-Name': 'mute_participant', 'Conference-ID': CONF, 'Participant-ID': 1 });
    expect(reply.status, JSON.stringify(reply)).toBe('success');
    expect(wireCommandLines(rig.sim)).toContain(`api conference ${CONF} mute 1`);
  });
});

describe('a poison AMQP message through the whole service', () => {
  it('3,000,000 Participant-IDs (5.7 MB): answered MESSAGE_TOO_LARGE within a second, /healthz answers meanwhile, dead-lettered', async () => {
    const body = `{"Application-Name":"mute_participant","Conference-ID":"nosuchconf","Participant-ID":[${'1,'.repeat(2_999_999)}1]}`;
    const t0 = performance.now();
    const answered = rpc(body, commandRoutingKey('nosuchconf'));
    const health = await fetch(`${rig.service.http!.url}/healthz`);
    const healthMs = performance.now() - t0;
    const reply = await answered;
    expect(reply.error, JSON.stringify(reply).slice(0, 300)).toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(health.status).toBe(200);
    expect(healthMs).toBeLessThan(1000);
    // Still taking commands, and the poison is in the dead-letter queue, not back in the command queue.
    expect((await rpc({ 'Application-Name': 'unlock', 'Conference-ID': CONF })).status).toBe('success');
    const dead = await channel.checkQueue(`${rig.commandQueue}.dead`);
    expect(dead.messageCount).toBeGreaterThanOrEqual(1);
    expect((await channel.checkQueue(rig.commandQueue)).messageCount).toBe(0);
  });
});

describe("AMQP commands carrying another account's Account-ID", () => {
  it('are refused FORBIDDEN and never reach the wire; the owning account and no Account-ID run', async () => {
    const locks = () => wireCommandLines(rig.sim).filter((l) => l === `api conference ${CONF} lock`).length;
    const before = locks();
    const kazoo = await rpc({ 'Application-Name': 'lock', 'Conference-ID': CONF, 'Account-ID': 'someone-else' });
    expect(kazoo.error, JSON.stringify(kazoo)).toMatchObject({ code: 'FORBIDDEN' });
    const own = await rpc({ command: { kind: 'lock' }, 'Account-ID': 'someone-else' });
    expect(own.error, JSON.stringify(own)).toMatchObject({ code: 'FORBIDDEN' });
    expect(locks()).toBe(before);
    const owner = await rpc({ 'Application-Name': 'lock', 'Conference-ID': CONF, 'Account-ID': REL_ACCOUNT });
    expect(owner.status, JSON.stringify(owner)).toBe('success');
    expect((await rpc({ 'Application-Name': 'unlock', 'Conference-ID': CONF })).status).toBe('success');
    expect(locks()).toBe(before + 1);
  });
});

describe('REST API carrying injection (valid token)', () => {
  const acct = `/v2/accounts/${REL_ACCOUNT}`;
  const enc = encodeURIComponent;

  it('conference ids, participant ids, actions and document fields are refused with 4xx and a message', async () => {
    const attempts: Array<[string, string, unknown]> = [];
    for (const c of BAD_CONFERENCES) {
      attempts.push(['PUT', `${acct}/conferences/${enc(c)}`, { data: { action: 'lock' } }]);
      attempts.push(['PUT', `${acct}/conferences/${enc(c)}/participants`, { data: { action: 'mute' } }]);
      attempts.push(['PUT', `${acct}/conferences/${enc(c)}/participants/1`, { data: { action: 'kick' } }]);
      // (A document may be named after a mod_conference keyword such as "list" — harmless on the wire,
      // every action on it is refused — so only the names carrying control characters or spaces here.)
      if (/[\s\0]/.test(c)) attempts.push(['PUT', `${acct}/conferences`, { data: { id: c, name: 'x' } }]);
    }
    for (const m of BAD_MEMBERS) attempts.push(['PUT', `${acct}/conferences/${CONF}/participants/${enc(m)}`, { data: { action: 'mute' } }]);
    for (const a of ['mute\n\napi uuid_kill INJECTED', 'mute all', 'lock\r\nevent plain ALL']) {
      attempts.push(['PUT', `${acct}/conferences/${CONF}`, { data: { action: a } }]);
      attempts.push(['PUT', `${acct}/conferences/${CONF}/participants/1`, { data: { action: a } }]);
    }
    for (const f of BAD_FILES) {
      // play_entry_tone goes on an ESL command line when members join: the document must refuse it.
      attempts.push(['PUT', `${acct}/conferences`, { data: { id: `${CONF}-doc`, name: 'x', play_entry_tone: f } }]);
      attempts.push(['PUT', `${acct}/conferences`, { data: { id: `${CONF}-doc2`, name: 'x', profile: f } }]);
    }
    for (const [method, path, body] of attempts) {
      const { status, json } = await http(method, path, body);
      const what = `${method} ${path} ${JSON.stringify(body)} → ${status} ${JSON.stringify(json).slice(0, 300)}`;
      expect([400, 404], what).toContain(status);
      expect(json.status, what).toBe('error');
      expect(String(json.message ?? ''), what).toMatch(/\S/);
      refusedTotals.http++;
    }
  }, 60_000);

  it('positive control: a valid lock/unlock through HTTP reaches the wire', async () => {
    expect((await http('PUT', `${acct}/conferences/${CONF}`, { data: { action: 'lock' } })).status).toBe(202);
    expect((await http('PUT', `${acct}/conferences/${CONF}`, { data: { action: 'unlock' } })).status).toBe(202);
    expect(wireCommandLines(rig.sim)).toContain(`api conference ${CONF} lock`);
  });
});

describe('CLI operator commands carrying injection', () => {
  it('refuse with a non-zero exit and a message', async () => {
    const runs: string[][] = [];
    for (const c of BAD_CONFERENCES) runs.push(['mute', c, '1'], ['lock', c], ['participants', c], ['kick', c, 'all']);
    for (const m of BAD_MEMBERS) runs.push(['mute', CONF, m], ['kick', CONF, m]);
    for (const args of runs) {
      const r = await cli(...args);
      const what = `confmgr ${JSON.stringify(args)} → ${r.code} ${r.err}`;
      expect(r.code, what).not.toBe(0);
      expect(r.err, what).toMatch(/^confmgr: \S/);
      refusedTotals.cli++;
    }
  }, 60_000);

  it('positive control: a valid CLI unmute reaches the wire', async () => {
    const r = await cli('unmute', CONF, '1');
    expect(r.code, r.err).toBe(0);
    expect(wireCommandLines(rig.sim)).toContain(`api conference ${CONF} unmute 1`);
  });
});

describe('the bytes the simulator received', () => {
  it('hold only clean one-line commands, none carrying injected text', () => {
    const raw = rig.sim.receivedBytes().toString('latin1');
    expect(raw).not.toMatch(/[\r\0]/);
    for (const marker of MARKERS) expect(raw, marker).not.toContain(marker);
    const lines = wireCommandLines(rig.sim);
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      expect(line, JSON.stringify(line)).not.toContain('\n'); // a frame is exactly one command line
      expect(line, JSON.stringify(line)).not.toContain('\t');
      expect(line).toMatch(/^(auth \S+|event json [A-Za-z_: ]+|api .+|bgapi .+|filter .+|exit|linger|nolinger)$/);
      const conf = /^api conference (\S+)(?: (.*))?$/.exec(line);
      if (conf && conf[1] !== 'json_list' && conf[1] !== 'list') {
        expect(conf[1], line).toMatch(CONFERENCE_NAME_RE);
        expect(conf[1]).toBe(CONF);
        expect(conf[2] ?? '', line).toMatch(/^(json_list|list|count|lock|unlock|(mute|unmute|deaf|undeaf|kick|hup) (\d+|all|last|non_moderator))$/);
      }
    }
    console.log(`injection: refused ${refusedTotals.amqp} AMQP, ${refusedTotals.http} HTTP, ${refusedTotals.cli} CLI attempts; ${lines.length} clean command lines on the wire`);
  });
});
