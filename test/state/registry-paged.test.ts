/**
 * The paged resync listing (`listing: 'paged'`): `conference list summary` for the names, then one
 * `conference <name> json_list` per conference, against the simulator over TCP; and its fallback to
 * the whole json_list when the summary is not understood.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { EslNodePool } from '../../src/esl/pool.js';
import { ConferenceRegistry } from '../../src/state/registry.js';
import { ConferenceStateSync, attachStateSync, type ResyncResult } from '../../src/state/node-sync.js';
import { parseJsonList, parseListSummary } from '../../src/conference/json-list.js';
import type { ConferenceEvent } from '../../src/conference/types.js';

let sim: Simulator | undefined;
let pool: EslNodePool | undefined;
let sync: ConferenceStateSync | undefined;

afterEach(async () => {
  sync?.close();
  await pool?.close();
  await sim?.close();
  sim = pool = sync = undefined;
});

describe('parseListSummary', () => {
  it('reads the names of conference list summary, nothing else', () => {
    expect(parseListSummary('+OK Conference a@default (1 member rate: 8000 flags: running|answered|json_status)\n+OK Conference b (2 members rate: 8000 locked flags: running)\n')).toEqual(['a@default', 'b']);
    expect(parseListSummary('+OK No active conferences.\n')).toEqual([]);
    expect(parseListSummary('-ERR Command not found\n')).toBeUndefined();
    expect(parseListSummary('+OK Conference a (1 member rate: 8000 flags: x)\nCaller 1;…\n')).toBeUndefined();
    // The +OK prefix once (before the reply) or not at all, as FreeSWITCH builds differ.
    expect(parseListSummary('+OK Conference a (1 member rate: 8000 flags: none)\nConference b (3 members rate: 16000 locked flags: locked|running)\n')).toEqual(['a', 'b']);
    expect(parseListSummary('Conference a (1 member rate: 8000 flags: none)\n')).toEqual(['a']);
    expect(parseListSummary('No active conferences.\n')).toEqual([]);
    // A name FreeSWITCH printed with a space cannot be paged: list everything instead.
    expect(parseListSummary('+OK Conference sales room (1 member rate: 8000 flags: none)\n')).toBeUndefined();
  });
});

async function setup(api?: (node: string, cmd: string) => Promise<string>, calls: string[] = []) {
  sim = await startSimulator({ port: 0, heartbeatMs: 0 });
  for (let c = 0; c < 5; c++) for (let i = 0; i < 3; i++) sim.engine.originate({ conference: `room-${c}`, callerIdNumber: `10${c}${i}`, callerIdName: `C ${c}/${i}`, moderator: i === 0 });
  const registry = new ConferenceRegistry();
  const p = new EslNodePool({ name: 'fs1', host: sim.host, port: sim.port, password: 'ClueCon', events: ['CUSTOM', 'conference::maintenance'], livenessIntervalMs: 0, reconnect: { baseMs: 20, capMs: 100 } });
  pool = p;
  const s = new ConferenceStateSync({
    registry,
    api: api ?? ((_n, cmd) => (calls.push(cmd), p.api(cmd))),
    nodes: ['fs1'],
    listing: 'paged',
    pageConcurrency: 2,
  });
  sync = s;
  const events: ConferenceEvent[] = [];
  s.on('event', (e) => events.push(e));
  attachStateSync(p, s);
  const resynced = new Promise<ResyncResult>((resolve) => s.once('resynced', resolve));
  p.start();
  return { registry, p, s, events, result: await resynced };
}

describe('paged resync listing', () => {
  it('lists every conference page by page and ends equal to json_list', async () => {
    const calls: string[] = [];
    const { registry, p, result, events } = await setup(undefined, calls);
    expect(result.listCommand).toBe('conference <name> json_list');
    expect(calls).toContain('conference list summary');
    expect(calls).not.toContain('conference json_list');
    expect(calls.filter((c) => /^conference room-\d json_list$/.test(c))).toHaveLength(5);
    const listed = parseJsonList(await p.api('conference json_list'));
    expect(registry.conferences().map((c) => c.name).sort()).toEqual(listed.map((c) => c.name).sort());
    for (const c of listed) expect(registry.participants(c.name).map((x) => x.callId).sort()).toEqual(c.members.map((m) => m.callId).sort());
    expect(events.filter((e) => e.synthesized && e.action === 'add-member')).toHaveLength(15);
  }, 30_000);

  it('falls back to the whole json_list when the summary is not understood', async () => {
    const calls: string[] = [];
    const { registry, result } = await setup(async (_n, cmd) => {
      calls.push(cmd);
      if (cmd === 'conference list summary') return '-ERR nope\n';
      return pool!.api(cmd);
    });
    expect(result.listCommand).toBe('conference json_list');
    expect(calls.slice(0, 2)).toEqual(['conference list summary', 'conference json_list']);
    expect(registry.stats().participants).toBe(15);
  }, 30_000);
});
