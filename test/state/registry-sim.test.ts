/**
 * The registry against the simulator over real TCP: live events, a dropped connection with changes
 * made while we were away, a FreeSWITCH restart (member ids start again at 1), and a node that stays down.
 * The check is always the same: after the resync, what the registry holds equals what json_list says.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { EslNodePool } from '../../src/esl/pool.js';
import { ConferenceRegistry } from '../../src/state/registry.js';
import { ConferenceStateSync, attachStateSync, type ResyncResult } from '../../src/state/node-sync.js';
import { ConferenceRouter } from '../../src/state/router.js';
import { parseJsonList } from '../../src/conference/json-list.js';
import { ConferenceNotFoundError, InvalidArgumentError, NodeDownError, UnrecognizedReplyError } from '../../src/conference/errors.js';
import { parseUuidDump, uuidDumpCommand } from '../../src/conference/uuid-dump.js';
import type { ConferenceEvent } from '../../src/conference/types.js';

let sim: Simulator;
let pool: EslNodePool;
let registry: ConferenceRegistry;
let sync: ConferenceStateSync;
let router: ConferenceRouter;
const seen: ConferenceEvent[] = [];

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function nextResync(): Promise<ResyncResult> {
  return new Promise((resolve) => sync.once('resynced', resolve));
}

/** The registry's view of the node equals the simulator's json_list, participant by participant. */
async function expectConverged(): Promise<void> {
  const listed = parseJsonList(await pool.api('conference json_list'));
  expect(registry.conferences().map((c) => [c.name, c.uuid]).sort()).toEqual(listed.map((c) => [c.name, c.uuid]).sort());
  for (const c of listed) {
    const want = c.members
      .map((m) => [m.memberId, m.callId, m.callerIdName, m.callerIdNumber, m.speak, m.hear, m.isModerator])
      .sort((a, b) => (a[0] as number) - (b[0] as number));
    const got = registry.participants(c.name).map((p) => [p.memberId, p.callId, p.callerIdName, p.callerIdNumber, p.speak, p.hear, p.isModerator]);
    expect(got).toEqual(want);
  }
}

beforeAll(async () => {
  sim = await startSimulator({ port: 0, heartbeatMs: 0 });
  registry = new ConferenceRegistry();
  pool = new EslNodePool({
    name: 'fs1',
    host: sim.host,
    port: sim.port,
    password: 'ClueCon',
    events: ['CUSTOM', 'conference::maintenance'],
    livenessIntervalMs: 0,
    reconnect: { baseMs: 20, capMs: 100 },
  });
  sync = new ConferenceStateSync({ registry, api: (_node, cmd) => pool.api(cmd), nodes: ['fs1'], downGraceMs: 300, retryMs: 100 });
  sync.on('event', (e) => seen.push(e));
  attachStateSync(pool, sync);
  router = new ConferenceRouter(registry, sync, { resyncWaitMs: 5_000 });
  const first = nextResync();
  pool.start();
  expect(await first).toMatchObject({ conferences: 0, synthesized: 0 });
});

afterAll(async () => {
  sync?.close();
  await pool?.close();
  await sim?.close();
});

const calls: Record<string, string> = {};

describe('registry + resync against the simulator', () => {
  it('follows live events', async () => {
    for (const [n, name, moderator] of [
      ['1001', 'Moderator', true],
      ['1002', 'Alice', false],
      ['1003', 'Bob', false],
    ] as const) {
      calls[name] = sim.engine.originate({ conference: 'demo', callerIdNumber: n, callerIdName: name, moderator }).member.callId;
    }
    await waitFor('three participants', () => registry.participants('demo').length === 3);
    expect(seen.every((e) => !e.synthesized)).toBe(true);
    await expectConverged();
    expect(await router.nodeFor('demo')).toBe('fs1');
    expect(registry.readOnlyView('demo')).toMatchObject({ members: 2, moderators: 1, admins: 1, focus: 'fs1' });
  });

  it('converges after a dropped connection, with what happened while away synthesized', async () => {
    seen.length = 0;
    const resynced = nextResync();
    sim.dropConnections();
    // While nobody listens: Alice hangs up, Carol joins, Bob is muted.
    sim.engine.hangup(calls.Alice!);
    calls.Carol = sim.engine.originate({
      conference: 'demo',
      callerIdNumber: '1004',
      callerIdName: 'Carol',
      vars: { ecallmgr_Account_ID: 'acc-carol', ecallmgr_Call_Interaction_ID: 'cii 1' },
    }).member.callId;
    sim.engine.executeApi('conference demo mute 3');
    const result = await resynced;
    expect(result.synthesized).toBeGreaterThanOrEqual(3);
    await expectConverged();
    const synth = seen.filter((e) => e.synthesized).map((e) => `${e.action}:${e.member?.callerIdName ?? ''}`);
    expect(synth).toEqual(expect.arrayContaining(['del-member:Alice', 'add-member:Carol', 'mute-member:Bob']));
    // Each told once.
    expect(seen.filter((e) => e.action === 'del-member' && e.member?.callId === calls.Alice).length).toBe(1);
    const carolAdded = seen.filter((e) => e.action === 'add-member' && e.member?.callId === calls.Carol);
    expect(carolAdded.length).toBe(1);
    // json_list has no channel variables: they came from uuid_dump before the add-member went out.
    expect(carolAdded[0]!.member!.channelVars).toMatchObject({ ecallmgr_Account_ID: 'acc-carol', ecallmgr_Call_Interaction_ID: 'cii 1' });
    expect(result).toMatchObject({ channelVarsFetched: 1, channelVarsFailed: 0 });
  });

  it('answers uuid_dump as mod_commands does (json, url-encoded text, plain, xml, errors)', async () => {
    const callId = calls.Carol!;
    const json = JSON.parse(await pool.api(`uuid_dump ${callId} json`)) as Record<string, string>;
    expect(json['Event-Name']).toBe('CHANNEL_DATA');
    expect(json['Event-Calling-Function']).toBe('uuid_dump_function');
    expect(json['Unique-ID']).toBe(callId);
    expect(json['variable_ecallmgr_Call_Interaction_ID']).toBe('cii 1');
    expect(parseUuidDump(await pool.api(`uuid_dump ${callId}`)).channelVars).toMatchObject({ ecallmgr_Call_Interaction_ID: 'cii 1' });
    expect(await pool.api(`uuid_dump ${callId}`)).toContain('variable_ecallmgr_Call_Interaction_ID: cii%201\n');
    expect(await pool.api(`uuid_dump ${callId} plain`)).toContain('variable_ecallmgr_Call_Interaction_ID: cii 1\n');
    expect(await pool.api(`uuid_dump ${callId} xml`)).toContain('<variable_ecallmgr_Account_ID>acc-carol</variable_ecallmgr_Account_ID>');
    expect(await pool.api('uuid_dump 00000000-0000-0000-0000-000000000000 json')).toBe('-ERR No such channel!\n');
    expect(await pool.api('uuid_dump')).toBe('-USAGE: <uuid> [format]\n');
    expect(() => parseUuidDump('-ERR No such channel!\n')).toThrow(UnrecognizedReplyError);
    expect(() => uuidDumpCommand('a b')).toThrow(InvalidArgumentError);
    expect(() => uuidDumpCommand('x\r\nexit')).toThrow(InvalidArgumentError);
  });

  it('sees a FreeSWITCH restart (new conference uuid, member id 1 on another call) as leave + join', async () => {
    seen.length = 0;
    const oldUuid = registry.conference('demo')!.uuid;
    const before = registry.participants('demo').map((p) => p.callId);
    const resynced = nextResync();
    await sim.restart({ downMs: 50 });
    const fresh = sim.engine.originate({ conference: 'demo', callerIdNumber: '2001', callerIdName: 'Dave' }).member;
    expect(fresh.id).toBe(1);
    await resynced;
    await waitFor('the new member', () => registry.participant('demo', fresh.callId) !== undefined);
    await expectConverged();
    expect(registry.conference('demo')!.uuid).not.toBe(oldUuid);
    expect(registry.participant('demo', 1)!.callId).toBe(fresh.callId);
    for (const callId of before) {
      expect(seen.filter((e) => e.action === 'del-member' && e.member?.callId === callId).length).toBe(1);
    }
    expect(seen.filter((e) => e.action === 'conference-destroy' && e.conferenceUuid === oldUuid).length).toBe(1);
    expect(seen.filter((e) => e.action === 'add-member' && e.member?.callId === fresh.callId).length).toBe(1);
  });

  it('refuses commands while the node is down, then flushes it after the grace period', async () => {
    seen.length = 0;
    const flushed = new Promise((r) => sync.once('flushed', r));
    await sim.close();
    await waitFor('node down', () => sync.isDown('fs1'));
    await expect(router.nodeFor('demo')).rejects.toBeInstanceOf(NodeDownError);
    await flushed;
    expect(registry.conferences()).toEqual([]);
    expect(seen.map((e) => `${e.synthesized ? '~' : ''}${e.action}`)).toEqual(['~del-member', '~conference-destroy']);
    await expect(router.nodeFor('demo')).rejects.toBeInstanceOf(ConferenceNotFoundError);
  });
});
