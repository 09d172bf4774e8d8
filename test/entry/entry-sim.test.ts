/**
 * The entry service end to end: the simulator plays FreeSWITCH on both sockets (inbound ESL for the
 * conference events, outbound ESL for the calls its dialplan hands to confmgr), confmgr runs its real
 * service wiring (createService, SQLite file, RabbitMQ). Conference documents go in over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { OutboundDialer, startSimulator, type DialOptions, type Simulator } from '../../src/simulator/index.js';
import { createService, type ServiceHandle } from '../../src/app/service.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/util/log.js';
import { realtimeFromRegistry } from '../../src/records/index.js';
import { DEFAULT_PROMPTS } from '../../src/entry/index.js';
import type { StoredConferencecall } from '../../src/storage/index.js';
import type { SimEvent } from '../../src/simulator/event.js';
import { pollUntil } from '../helpers/wait.js';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const A = 'acc_entry_a';
const TOKEN = `tok-${randomBytes(12).toString('hex')}`;
const exchange = `confmgr-entry-sim-${randomBytes(4).toString('hex')}`;

let dir: string;
let sim: Simulator;
let service: ServiceHandle;
let dialer: OutboundDialer;
const events: SimEvent[] = [];

async function http(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${service.http!.url}${path}`, {
    method,
    headers: { 'x-auth-token': TOKEN, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function document(data: Record<string, unknown>): Promise<void> {
  const res = await http('PUT', `/v2/accounts/${A}/conferences`, { data });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

async function records(conference: string): Promise<StoredConferencecall[]> {
  return service.storage.conferencecalls.list({ customerId: A, conferenceId: conference, pageSize: 100 });
}

function member(conference: string, callId: string) {
  return sim.engine.conferences().find((c) => c.name === conference)?.members.find((m) => m.callId === callId);
}

/** Dials and waits until the call is in the conference (or throws naming what it waited for). */
async function dialIn(number: string, conference: string, options: DialOptions = {}) {
  const call = dialer.dial(number, options);
  const m = await pollUntil(`${number} in ${conference}`, () => member(conference, call.uuid));
  return { call, member: m };
}

const live = () => realtimeFromRegistry(service.registry);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'confmgr-entry-sim-'));
  sim = await startSimulator({ port: 0, verboseEvents: true, heartbeatMs: 0, fileDurationMs: 5 });
  sim.engine.onEvent((e) => events.push(e));
  const yaml = `
freeswitch:
  nodes:
    - name: fs1
      host: 127.0.0.1
      port: ${sim.port}
      password: ClueCon
  reconnect: { base_ms: 50, cap_ms: 200 }
amqp:
  url: ${AMQP_URL}
  exchange: ${exchange}
http:
  listen: 127.0.0.1:0
  tokens:
    - token: ${TOKEN}
      account_id: ${A}
entry:
  listen: 127.0.0.1:0
  pin_timeout_ms: 1000
storage:
  path: ${join(dir, 'confmgr.sqlite')}
log:
  level: silent
`;
  const config = parseConfig(yaml, 'test.yaml', { env: {} });
  service = await createService(config, { logger: silentLogger, commandIntake: false, instanceName: 'confmgr@entry-test' });
  await service.start();
  await pollUntil('node up', () => service.cluster.node('fs1').state === 'up');
  const socket = `127.0.0.1:${service.entry!.port} async full`;
  const numbers = ['7000', '7100', '7101', '7200', '7300', '7400', '7500', '7999', '7666', '7700', '7800'];
  dialer = new OutboundDialer(sim.engine, {
    dialplan: Object.fromEntries(numbers.map((n) => [n, socket])),
    playMs: 5,
    digitTimeoutMs: 20,
  });
  await document({ id: 'conf_pin', conference_numbers: ['7000'], member: { pins: ['1234'] }, moderator: { pins: ['9999'] } });
  await document({
    id: 'conf_roles',
    member: { numbers: ['7100'], join_muted: true, join_deaf: true },
    moderator: { numbers: ['7101'], join_muted: false },
  });
  await document({ id: 'conf_locked', conference_numbers: ['7200'], member: { join_muted: false } });
  await document({ id: 'conf_full', conference_numbers: ['7300'], max_members: 1 });
  await document({ id: 'conf_slow', conference_numbers: ['7400'], member: { pins: ['4321'] } });
  await document({ id: 'conf_var', member: { join_muted: false } });
  await document({ id: 'conf_name', conference_numbers: ['7800'], play_name: true, play_entry_tone: false, play_exit_tone: false });
  await document({ id: 'conf_tones', conference_numbers: ['7700'], play_entry_tone: 'tone_stream://%(10,0,901)', play_exit_tone: 'tone_stream://%(10,0,902)' });
}, 60_000);

afterAll(async () => {
  await dialer?.close();
  await service?.stop('test done');
  await sim?.close();
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createChannel();
  await ch.deleteExchange(exchange).catch(() => undefined);
  await conn.close();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('conference entry over the outbound Event Socket', () => {
  it('the right member PIN joins muted (the document default) in the join itself', async () => {
    const { call, member: m } = await dialIn('7000', 'conf_pin', { callerIdNumber: '1001', digits: ['1234#'] });
    expect(m.moderator).toBe(false);
    expect(m.canSpeak).toBe(false);
    expect(m.canHear).toBe(true);
    const pgd = call.executed.filter((x) => x.app === 'play_and_get_digits');
    expect(pgd).toHaveLength(1);
    expect(pgd[0]!.arg).toBe(`1 4 1 1000 # ${DEFAULT_PROMPTS.pin} silence_stream://250 confmgr_entry_pin ^[0-9*]+$ 3000`);
    expect(call.executed.find((x) => x.app === 'conference')?.arg).toBe('conf_pin@default+flags{mute}');
    await pollUntil('joined record', async () => (await records('conf_pin')).find((r) => r.reference_id === call.uuid && r.status === 'joined'));
    call.hangup();
    expect(await call.ended).toBe('NORMAL_CLEARING');
    await pollUntil('leaved record', async () => (await records('conf_pin')).find((r) => r.reference_id === call.uuid && r.status === 'leaved'));
  });

  it('a moderator PIN joins as moderator, unmuted', async () => {
    const { call, member: m } = await dialIn('7000', 'conf_pin', { digits: ['9999'] });
    expect(m.moderator).toBe(true);
    expect(m.canSpeak).toBe(true);
    expect(call.executed.find((x) => x.app === 'conference')?.arg).toBe('conf_pin@default+flags{moderator}');
    call.hangup();
    await call.ended;
  });

  it('a wrong PIN three times: the invalid prompt twice, then pinFailed and CALL_REJECTED; the record is closed', async () => {
    const call = dialer.dial('7000', { digits: ['1111', '2222#', '99'] });
    expect(await call.ended).toBe('CALL_REJECTED');
    const apps = call.executed.map((x) => (x.app === 'playback' ? `playback ${x.arg}` : x.app));
    expect(apps).toEqual([
      'answer',
      'play_and_get_digits',
      `playback ${DEFAULT_PROMPTS.invalidPin}`,
      'play_and_get_digits',
      `playback ${DEFAULT_PROMPTS.invalidPin}`,
      'play_and_get_digits',
      `playback ${DEFAULT_PROMPTS.pinFailed}`,
    ]);
    expect(member('conf_pin', call.uuid)).toBeUndefined();
    const r = await pollUntil('leaved record', async () => (await records('conf_pin')).find((x) => x.reference_id === call.uuid && x.status === 'leaved'));
    expect(r.member_id).toBeNull();
  });

  it('no PIN at all (three timeouts) is refused the same way', async () => {
    const call = dialer.dial('7000', {});
    expect(await call.ended).toBe('CALL_REJECTED');
    expect(call.executed.filter((x) => x.app === 'play_and_get_digits')).toHaveLength(3);
    expect(call.executed.some((x) => x.app === 'conference')).toBe(false);
  });

  it('the record is `joining` from the moment the call reaches the service, then `joined`', async () => {
    const slow = new OutboundDialer(sim.engine, { dialplan: { '7400': `127.0.0.1:${service.entry!.port} async full` }, playMs: 5, digitTimeoutMs: 400 });
    try {
      const call = slow.dial('7400', { digits: ['', '4321'] });
      const joining = await pollUntil('joining record', async () => (await records('conf_slow')).find((r) => r.reference_id === call.uuid));
      expect(joining.status).toBe('joining');
      expect(joining.member_id).toBeNull();
      const joined = await pollUntil('joined record', async () => (await records('conf_slow')).find((r) => r.reference_id === call.uuid && r.status === 'joined'));
      expect(joined.id).toBe(joining.id);
      expect(joined.tm_create).toBe(joining.tm_create);
      expect(joined.member_id).toBe(member('conf_slow', call.uuid)!.id);
      call.hangup();
      await call.ended;
    } finally {
      await slow.close();
    }
  });

  it('a moderator number joins as moderator without a PIN; a member number joins muted and deaf, with no mute/deaf command around the join', async () => {
    const mod = await dialIn('7101', 'conf_roles', { callerIdNumber: '2001' });
    expect(mod.member.moderator).toBe(true);
    expect(mod.member.canSpeak).toBe(true);
    expect(mod.call.executed.some((x) => x.app === 'play_and_get_digits')).toBe(false);

    const before = events.length;
    const mem = await dialIn('7100', 'conf_roles', { callerIdNumber: '2002' });
    expect(mem.member.moderator).toBe(false);
    expect(mem.member.canSpeak).toBe(false);
    expect(mem.member.canHear).toBe(false);
    expect(mem.call.executed.find((x) => x.app === 'conference')?.arg).toBe('conf_roles@default+flags{mute|deaf}');
    await pollUntil('joined record', async () => (await records('conf_roles')).find((r) => r.reference_id === mem.call.uuid && r.status === 'joined'));
    await service.records.idle();
    // Let any command the records might send arrive at the simulator.
    await new Promise((r) => setTimeout(r, 200));
    const actions = events
      .slice(before)
      .filter((e) => e.header('Unique-ID') === mem.call.uuid && e.header('Event-Subclass') === 'conference::maintenance')
      .map((e) => e.header('Action'));
    expect(actions[0]).toBe('add-member');
    const add = events.slice(before).find((e) => e.header('Unique-ID') === mem.call.uuid && e.header('Action') === 'add-member')!;
    expect(add.header('Speak')).toBe('false');
    expect(add.header('Hear')).toBe('false');
    for (const a of ['mute-member', 'unmute-member', 'deaf-member', 'undeaf-member']) expect(actions).not.toContain(a);
    mem.call.hangup();
    mod.call.hangup();
    await Promise.all([mem.call.ended, mod.call.ended]);
  });

  it('a locked conference is refused: locked prompt, FACILITY_REJECTED, record leaved', async () => {
    const first = await dialIn('7200', 'conf_locked');
    sim.engine.executeApi('conference conf_locked lock');
    await pollUntil('registry sees the lock', () => live().conference('conf_locked')?.is_locked === true);
    const call = dialer.dial('7200', {});
    expect(await call.ended).toBe('FACILITY_REJECTED');
    expect(call.executed.map((x) => x.arg)).toContain(DEFAULT_PROMPTS.locked);
    expect(call.executed.some((x) => x.app === 'conference')).toBe(false);
    await pollUntil('leaved record', async () => (await records('conf_locked')).find((r) => r.reference_id === call.uuid && r.status === 'leaved'));
    first.call.hangup();
    await first.call.ended;
  });

  it('a conference at max_members is refused: full prompt, NORMAL_CIRCUIT_CONGESTION', async () => {
    const first = await dialIn('7300', 'conf_full');
    await pollUntil('registry sees the member', () => (live().conference('conf_full')?.participants.length ?? 0) === 1);
    const call = dialer.dial('7300', {});
    expect(await call.ended).toBe('NORMAL_CIRCUIT_CONGESTION');
    expect(call.executed.map((x) => x.arg)).toContain(DEFAULT_PROMPTS.full);
    expect(sim.engine.conferences().find((c) => c.name === 'conf_full')?.members).toHaveLength(1);
    first.call.hangup();
    await first.call.ended;
  });

  it('the channel variable conference_id names the conference directly', async () => {
    const { call, member: m } = await dialIn('7999', 'conf_var', { vars: { conference_id: 'conf_var' } });
    expect(m.canSpeak).toBe(true);
    expect(call.executed.find((x) => x.app === 'conference')?.arg).toBe('conf_var@default');
    call.hangup();
    await call.ended;
  });

  it('entry and exit tones play once: the document\'s tones replace the profile\'s sounds, and the records play none', async () => {
    const before = events.length;
    const done = (file: string) =>
      events.slice(before).filter((e) => e.header('Conference-Name') === 'conf_tones' && e.header('Action') === 'play-file-done' && e.header('File') === file).length;
    const first = await dialIn('7700', 'conf_tones');
    expect(first.call.executed.filter((x) => x.app === 'set').map((x) => x.arg)).toEqual([
      'conference_enter_sound=tone_stream://%(10,0,901)',
      'conference_exit_sound=tone_stream://%(10,0,902)',
    ]);
    const second = await dialIn('7700', 'conf_tones');
    await pollUntil('entry tone played', () => done('tone_stream://%(10,0,901)') === 1);
    second.call.hangup();
    await second.call.ended;
    await pollUntil('exit tone played', () => done('tone_stream://%(10,0,902)') === 1);
    await pollUntil('records see both leave and join', async () => (await records('conf_tones')).filter((r) => r.status === 'leaved').length === 1);
    await service.records.idle();
    await new Promise((r) => setTimeout(r, 200));
    expect(done('tone_stream://%(10,0,901)')).toBe(1);
    expect(done('tone_stream://%(10,0,902)')).toBe(1);
    const playsByApi = events.slice(before).filter((e) => e.header('Conference-Name') === 'conf_tones' && e.header('Action') === 'play-file');
    expect(playsByApi).toHaveLength(0);
    const profileSounds = events
      .slice(before)
      .filter((e) => e.header('Conference-Name') === 'conf_tones' && e.header('Action') === 'play-file-done' && !/%\(10,0,90[12]\)/.test(e.header('File') ?? ''));
    expect(profileSounds).toHaveLength(0);
    first.call.hangup();
    await first.call.ended;
  });

  it('play_name: the name prompt, a recording of at most 3 s, played to the conference on join and on leave', async () => {
    const before = events.length;
    const first = await dialIn('7800', 'conf_name');
    const file = `/tmp/confmgr-names/${first.call.uuid}.wav`;
    const apps = first.call.executed.map((x) => `${x.app} ${x.arg}`);
    expect(apps).toContain(`playback ${DEFAULT_PROMPTS.name}`);
    expect(apps).toContain(`record ${file} 3 200 2`);
    expect(apps.indexOf(`record ${file} 3 200 2`)).toBeLessThan(apps.findIndex((a) => a.startsWith('conference ')));
    const second = await dialIn('7800', 'conf_name');
    const plays = (f: string) => events.slice(before).filter((e) => e.header('Action') === 'play-file' && e.header('File') === f).length;
    await pollUntil('first name played on join', () => plays(file) === 1);
    first.call.hangup();
    await first.call.ended;
    await pollUntil('first name played on leave', () => plays(file) === 2);
    second.call.hangup();
    await second.call.ended;
  });

  it('a number no document has: notFound prompt, UNALLOCATED_NUMBER, no record', async () => {
    const call = dialer.dial('7666', {});
    expect(await call.ended).toBe('UNALLOCATED_NUMBER');
    expect(call.executed.map((x) => x.arg)).toContain(DEFAULT_PROMPTS.notFound);
  });
});
