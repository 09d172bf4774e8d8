/**
 * The service wiring end to end (createService over real FreeSWITCH simulators, real RabbitMQ, SQLite
 * files or a temp PostgreSQL): synthesized events marked on AMQP and the event hub, kick/hup through
 * every door marking conferencecalls `leaving` before FreeSWITCH confirms, the CLI's bulk targets, an
 * ambiguous conference (409 / exit 1, nothing marked), storage closed after HTTP, and across a
 * confmgr restart: reconcile after the first resync, documents enforced only on calls that joined
 * while confmgr was away. PostgreSQL through `storage: {driver: postgres, url}`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { createService, type ServiceHandle } from '../../src/app/service.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/util/log.js';
import { openStorage } from '../../src/storage/index.js';
import type { OutboundEvent } from '../../src/conference/types.js';
import { runCli, type CliIo } from '../../src/cli/run.js';
import { AMQP_URL, TestConsumer, deleteAll, uniqueName } from '../helpers/bus-amqp.js';
import { freshDatabase, startTempPostgres, type TempPostgres } from '../helpers/postgres.js';
import { pollUntil } from '../helpers/wait.js';

const A = 'acc_wiring';
const TOKEN = `tok-${randomBytes(12).toString('hex')}`;
const VARS = { 'ecallmgr_Account-ID': A };

function configText(o: { nodes: Array<[string, number]>; dir: string; exchange: string; queue: string; storage?: string }): string {
  return [
    'freeswitch:',
    '  nodes:',
    ...o.nodes.map(([name, port]) => `    - {name: ${name}, host: 127.0.0.1, port: ${port}, password: ClueCon}`),
    '  reconnect: {base_ms: 50, cap_ms: 200}',
    `amqp: {url: "${AMQP_URL}", exchange: ${o.exchange}, command_queue: ${o.queue}, flush_timeout_ms: 2000}`,
    'http:',
    '  listen: 127.0.0.1:0',
    `  tokens: [{token: ${TOKEN}, account_id: ${A}}]`,
    `storage: ${o.storage ?? `{path: ${JSON.stringify(join(o.dir, 'confmgr.sqlite'))}}`}`,
    'log: {level: silent}',
  ].join('\n');
}

function cliIo(): CliIo & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', env: {}, out: (t: string) => void (o.stdout += t), err: (t: string) => void (o.stderr += t) };
  return o;
}

async function statusOf(service: ServiceHandle, conference: string, callId: string): Promise<string | undefined> {
  const list = await service.storage.conferencecalls.list({ customerId: A, conferenceId: conference, pageSize: 100 });
  return list.find((r) => r.reference_id === callId)?.status;
}

function member(sim: Simulator, conference: string, callId: string) {
  return sim.engine.conferences().find((c) => c.name === conference)?.members.find((m) => m.callId === callId);
}

async function synced(service: ServiceHandle, nodes: string[]): Promise<void> {
  await pollUntil('nodes synced', () => nodes.every((n) => service.sync.state(n) === 'synced'));
}

describe('one service, two FreeSWITCH nodes', () => {
  let dir: string;
  let sim1: Simulator;
  let sim2: Simulator;
  let service: ServiceHandle;
  let consumer: TestConsumer;
  let base: string;
  const exchange = uniqueName('wiring-x');
  const queue = uniqueName('wiring-cmd');
  const hub: OutboundEvent[] = [];
  let early: { member: { id: number; callId: string } };

  const http = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'x-auth-token': TOKEN, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const cli = () => ['--url', base, '--token', TOKEN, '--account', A];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'confmgr-wiring-'));
    sim1 = await startSimulator({ port: 0, verboseEvents: true, heartbeatMs: 0 });
    sim2 = await startSimulator({ port: 0, verboseEvents: true, heartbeatMs: 0, hostname: 'vm2' });
    // In the conference before confmgr starts: its add-member can only be synthesized by the first resync.
    early = sim1.engine.originate({ conference: 'early', callerIdNumber: '1000', vars: VARS });
    consumer = await TestConsumer.create(exchange, 'conference.event.#');
    const config = parseConfig(configText({ nodes: [['fs1', sim1.port], ['fs2', sim2.port]], dir, exchange, queue }), 'test.yaml', { env: {} });
    service = await createService(config, { logger: silentLogger, instanceName: 'confmgr@wiring' });
    service.events.subscribe((e) => hub.push(e));
    await service.start();
    base = service.http!.url;
    await synced(service, ['fs1', 'fs2']);
    await pollUntil('intake connected', () => service.intake?.connected === true);
  }, 60_000);

  afterAll(async () => {
    await service?.stop('test done');
    await sim1?.close();
    await sim2?.close();
    await consumer?.close().catch(() => undefined);
    await deleteAll([exchange], [queue]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  // A failed test must not leave the simulator holding its answers for the next ones.
  afterEach(() => sim1?.hang(false));

  it('resync events carry synthesized: true on the event hub and on AMQP; received ones carry no such key', async () => {
    const synth = await pollUntil('synthesized add-member', () =>
      hub.find((e) => e.event === 'add-member' && e.conferenceId === 'early' && e.callId === early.member.callId),
    );
    expect(synth.synthesized).toBe(true);
    expect(synth.payload.synthesized).toBe(true);
    const late = sim1.engine.originate({ conference: 'early', callerIdNumber: '1001', vars: VARS });
    const received = await pollUntil('received add-member', () => hub.find((e) => e.event === 'add-member' && e.callId === late.member.callId));
    expect(received.synthesized).toBe(false);
    expect(received.payload).not.toHaveProperty('synthesized');

    const onWire = await pollUntil('both on AMQP', () => {
      const adds = consumer.received.filter((m) => m.body.event === 'add-member' && m.body.conference_id === 'early');
      return adds.length >= 2 ? adds : undefined;
    });
    expect(onWire.find((m) => m.body.call_id === early.member.callId)!.body.synthesized).toBe(true);
    expect(onWire.find((m) => m.body.call_id === late.member.callId)!.body).not.toHaveProperty('synthesized');
  }, 30_000);

  it('a kick through HTTP, the AMQP intake or the CLI marks the record leaving before FreeSWITCH confirms', async () => {
    const calls = ['m1', 'm2', 'm3'].map((n, i) => sim1.engine.originate({ conference: 'room', callerIdNumber: `20${i}`, callerIdName: n, vars: VARS }));
    const mod = sim1.engine.originate({ conference: 'room', moderator: true, callerIdNumber: '299', vars: VARS });
    for (const c of [...calls, mod]) await pollUntil('record joined', async () => (await statusOf(service, 'room', c.member.callId)) === 'joined');
    const [m1, m2, m3] = calls as [typeof mod, typeof mod, typeof mod];

    // HTTP participant action. FreeSWITCH (the simulator) holds its answer: the kick is not executed yet,
    // so kick-member / del-member cannot have moved the record.
    sim1.hang(true);
    const kicked = http('PUT', `/v2/accounts/${A}/conferences/room/participants/${m1.member.id}`, { data: { action: 'kick' } });
    await pollUntil('m1 leaving', async () => (await statusOf(service, 'room', m1.member.callId)) === 'leaving');
    expect(member(sim1, 'room', m1.member.callId)).toBeDefined();
    sim1.hang(false);
    expect((await kicked).status).toBe(202);
    await pollUntil('m1 leaved', async () => (await statusOf(service, 'room', m1.member.callId)) === 'leaved');

    // AMQP command intake.
    const conn = await amqp.connect(AMQP_URL);
    try {
      const ch = await conn.createChannel();
      const replyQueue = (await ch.assertQueue('', { exclusive: true })).queue;
      const replies: any[] = [];
      await ch.consume(replyQueue, (msg) => msg && replies.push(JSON.parse(msg.content.toString())), { noAck: true });
      sim1.hang(true);
      ch.publish(exchange, 'conference.command.room', Buffer.from(JSON.stringify({ command: { kind: 'kick', conference: 'room', target: m2.member.id } })), {
        replyTo: replyQueue,
        correlationId: 'k2',
      });
      await pollUntil('m2 leaving', async () => (await statusOf(service, 'room', m2.member.callId)) === 'leaving');
      expect(member(sim1, 'room', m2.member.callId)).toBeDefined();
      sim1.hang(false);
      const reply = await pollUntil('AMQP reply', () => replies[0]);
      expect(reply.status).toBe('success');
      await pollUntil('m2 leaved', async () => (await statusOf(service, 'room', m2.member.callId)) === 'leaved');
    } finally {
      await conn.close();
    }

    // CLI, bulk: non_moderator kicks m3 and keeps the moderator.
    sim1.hang(true);
    const io = cliIo();
    const exit = runCli(['kick', 'room', 'non_moderator', ...cli()], io);
    await pollUntil('m3 leaving', async () => (await statusOf(service, 'room', m3.member.callId)) === 'leaving');
    expect(await statusOf(service, 'room', mod.member.callId)).toBe('joined');
    sim1.hang(false);
    expect(await exit).toBe(0);
    expect(io.stderr).toBe('');
    await pollUntil('m3 leaved', async () => (await statusOf(service, 'room', m3.member.callId)) === 'leaved');
    expect(await statusOf(service, 'room', mod.member.callId)).toBe('joined');
    expect(member(sim1, 'room', mod.member.callId)).toBeDefined();

    // hup from the executor itself (what the intake and the API both call).
    await service.executor.execute({ kind: 'hup', conference: 'room', target: 'all' });
    await pollUntil('mod leaved', async () => (await statusOf(service, 'room', mod.member.callId)) === 'leaved');
  }, 45_000);

  it('the CLI bulk target is applied as asked: all includes the moderators; no stderr note', async () => {
    const mod = sim1.engine.originate({ conference: 'bulk', moderator: true, callerIdNumber: '301', vars: VARS });
    const bob = sim1.engine.originate({ conference: 'bulk', callerIdNumber: '302', vars: VARS });
    await pollUntil('in registry', () => service.registry.participants('bulk').length === 2);
    const io = cliIo();
    expect(await runCli(['mute', 'bulk', 'all', ...cli()], io)).toBe(0);
    expect(io.stderr).toBe('');
    expect(member(sim1, 'bulk', mod.member.callId)!.canSpeak).toBe(false);
    expect(member(sim1, 'bulk', bob.member.callId)!.canSpeak).toBe(false);
    const io2 = cliIo();
    expect(await runCli(['unmute', 'bulk', 'non_moderator', ...cli()], io2)).toBe(0);
    expect(io2.stderr).toBe('');
    expect(member(sim1, 'bulk', mod.member.callId)!.canSpeak).toBe(false);
    expect(member(sim1, 'bulk', bob.member.callId)!.canSpeak).toBe(true);
  }, 30_000);

  it('a conference live on both nodes: HTTP 409 CONFERENCE_AMBIGUOUS, CLI exit 1, no record marked leaving', async () => {
    const a = sim1.engine.originate({ conference: 'dup', callerIdNumber: '401', vars: VARS });
    const b = sim2.engine.originate({ conference: 'dup', callerIdNumber: '402', vars: VARS });
    await pollUntil('on both nodes', () => service.registry.nodesHosting('dup').length === 2);
    for (const c of [a, b]) await pollUntil('record joined', async () => (await statusOf(service, 'dup', c.member.callId)) === 'joined');
    const res = await http('PUT', `/v2/accounts/${A}/conferences/dup/participants`, { data: { action: 'kick' } });
    expect(res.status).toBe(409);
    expect(res.body.data).toMatchObject({ code: 'CONFERENCE_AMBIGUOUS', details: { nodes: expect.arrayContaining(['fs1', 'fs2']) } });
    const io = cliIo();
    expect(await runCli(['mute', 'dup', 'all', ...cli()], io)).toBe(1);
    expect(io.stderr).toMatch(/live on several nodes.*\[CONFERENCE_AMBIGUOUS\]/);
    expect(await statusOf(service, 'dup', a.member.callId)).toBe('joined');
    expect(await statusOf(service, 'dup', b.member.callId)).toBe('joined');
    expect(member(sim1, 'dup', a.member.callId)!.canSpeak).toBe(true);
  }, 30_000);

  it('stop closes storage after HTTP', async () => {
    const order: string[] = [];
    const httpServer = service.http!;
    const storage = service.storage;
    const closeHttp = httpServer.close.bind(httpServer);
    const closeStorage = storage.close.bind(storage);
    httpServer.close = async () => {
      order.push('http start');
      await closeHttp();
      order.push('http done');
    };
    storage.close = async () => {
      order.push('storage');
      await closeStorage();
    };
    await service.stop('test');
    expect(order).toEqual(['http start', 'http done', 'storage']);
  }, 30_000);
});

describe('across a confmgr restart', () => {
  let dir: string;
  let sim: Simulator;
  const services: ServiceHandle[] = [];
  const exchange = uniqueName('wiring-rx');
  const queue = uniqueName('wiring-rcmd');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'confmgr-wiring-restart-'));
    sim = await startSimulator({ port: 0, verboseEvents: true, heartbeatMs: 0 });
  }, 30_000);

  afterAll(async () => {
    for (const s of services) await s.stop('test done');
    await sim?.close();
    await deleteAll([exchange], [queue]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  async function startService(): Promise<ServiceHandle> {
    const config = parseConfig(configText({ nodes: [['fs1', sim.port]], dir, exchange, queue }), 'test.yaml', { env: {} });
    const s = await createService(config, { logger: silentLogger, commandIntake: false, instanceName: 'confmgr@restart' });
    services.push(s);
    await s.start();
    await synced(s, ['fs1']);
    return s;
  }

  const plays = () => (sim.receivedBytes().toString('utf8').match(/conference stay play /g) ?? []).length;

  it('calls gone while away are closed (reconcile); documents apply only to calls that joined while away, without tones', async () => {
    const first = await startService();
    const put = await fetch(`${first.http!.url}/v2/accounts/${A}/conferences`, {
      method: 'PUT',
      headers: { 'x-auth-token': TOKEN, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { id: 'stay', name: 'Stay' } }), // members join muted, default tones
    });
    expect(put.status).toBe(201);
    const a = sim.engine.originate({ conference: 'stay', callerIdNumber: '501', vars: VARS });
    const b = sim.engine.originate({ conference: 'stay', callerIdNumber: '502', vars: VARS });
    await pollUntil('a and b muted', () => member(sim, 'stay', a.member.callId)?.canSpeak === false && member(sim, 'stay', b.member.callId)?.canSpeak === false);
    await first.executor.execute({ kind: 'unmute', conference: 'stay', target: b.member.id }); // on purpose
    await pollUntil('b unmuted', () => member(sim, 'stay', b.member.callId)?.canSpeak === true);
    await first.records.idle();
    await first.stop('restart');

    // While confmgr is away: c joins, a leaves.
    const c = sim.engine.originate({ conference: 'stay', callerIdNumber: '503', vars: VARS });
    expect(sim.engine.hangup(a.member.callId)).toBe(true);
    const playsBefore = plays();

    const second = await startService();
    await pollUntil('a closed by reconcile', async () => (await statusOf(second, 'stay', a.member.callId)) === 'leaved');
    await pollUntil('c muted (joined while away)', () => member(sim, 'stay', c.member.callId)?.canSpeak === false);
    await second.records.idle();
    expect(member(sim, 'stay', b.member.callId)!.canSpeak).toBe(true); // not re-muted
    expect(await statusOf(second, 'stay', b.member.callId)).toBe('joined');
    expect(await statusOf(second, 'stay', c.member.callId)).toBe('joined');
    expect(plays()).toBe(playsBefore); // no entry tone for resynced calls
  }, 45_000);
});

describe('storage: {driver: postgres, url}', () => {
  let pg: TempPostgres;
  let dir: string;
  let sim: Simulator;
  let service: ServiceHandle | undefined;
  const exchange = uniqueName('wiring-px');
  const queue = uniqueName('wiring-pcmd');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'confmgr-wiring-pg-'));
    pg = await startTempPostgres();
    sim = await startSimulator({ port: 0, verboseEvents: true, heartbeatMs: 0 });
  }, 120_000);

  afterAll(async () => {
    await service?.stop('test done');
    await sim?.close();
    await pg?.stop();
    await deleteAll([exchange], [queue]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('the service keeps documents and conferencecall records in PostgreSQL', async () => {
    const url = await freshDatabase(pg.url);
    const config = parseConfig(
      configText({ nodes: [['fs1', sim.port]], dir, exchange, queue, storage: `{driver: postgres, url: "${url}", pool_max: 2}` }),
      'test.yaml',
      { env: {} },
    );
    expect(config.storage).toMatchObject({ driver: 'postgres', url });
    service = await createService(config, { logger: silentLogger, commandIntake: false });
    await service.start();
    await synced(service, ['fs1']);
    expect(service.storage.kind).toBe('postgres');
    const put = await fetch(`${service.http!.url}/v2/accounts/${A}/conferences`, {
      method: 'PUT',
      headers: { 'x-auth-token': TOKEN, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { id: 'pgroom', name: 'PG', play_entry_tone: false } }),
    });
    expect(put.status).toBe(201);
    const call = sim.engine.originate({ conference: 'pgroom', callerIdNumber: '601', vars: VARS });
    await pollUntil('record', async () => (await statusOf(service!, 'pgroom', call.member.callId)) === 'joined');
    await service.stop('test');
    expect(sim.engine.conferences().length).toBe(1);

    const direct = await openStorage({ driver: 'postgres', url });
    try {
      expect((await direct.conferences.get("pgroom"))?.accountId).toBe(A);
      expect((await direct.conferencecalls.listActive()).map((r) => r.reference_id)).toEqual([call.member.callId]);
    } finally {
      await direct.close();
    }
  }, 60_000);
});
