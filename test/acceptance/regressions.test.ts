/** Regressions for bugs found by the reliability review (each failed before its fix). */
import { afterEach, describe, expect, it } from 'vitest';
import { ConferenceDocuments } from '../../src/records/conference-documents.js';
import { checkConferenceId } from '../../src/records/conference-document.js';
import { openSqliteStorage, type Storage } from '../../src/storage/index.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';

let storage: Storage | undefined;
let sim: Simulator | undefined;
afterEach(async () => {
  await storage?.close();
  storage = undefined;
  await sim?.close();
  sim = undefined;
});

describe('conference document cache', () => {
  it('does not remember misses: looking up many unknown names keeps the cache empty', async () => {
    storage = openSqliteStorage({ path: ':memory:' });
    const docs = new ConferenceDocuments(storage);
    for (let i = 0; i < 500; i++) expect(await docs.get(`conf-${i}`)).toBeUndefined();
    expect((docs as unknown as { cache: Map<string, unknown> }).cache.size).toBe(0);
    // A document created after a miss is found (nothing stale was cached).
    await docs.create('conf-7', 'acct', { name: 'x' });
    expect((await docs.get('conf-7'))?.id).toBe('conf-7');
    await docs.remove('conf-7');
    expect(await docs.get('conf-7')).toBeUndefined();
  });
});

describe('conference ids', () => {
  it('refuses mod_conference keywords as conference ids', () => {
    for (const id of ['list', 'json_list', 'xml_list', 'count', 'LIST']) expect(() => checkConferenceId(id)).toThrow(/reserved/);
    expect(checkConferenceId('room-1')).toBe('room-1');
  });
});

describe('simulator flood across a restart', () => {
  it('stops when the conference it floods is gone, and fires nothing for members that no longer exist', async () => {
    sim = await startSimulator({ port: 0, heartbeatMs: 0 });
    const a = sim.engine.originate({ conference: 'fl', callerIdNumber: '1001', callerIdName: 'A' });
    sim.engine.originate({ conference: 'fl', callerIdNumber: '1002', callerIdName: 'B' });
    expect(a.member.id).toBeGreaterThan(0);
    const flood = sim.engine.flood({ conference: 'fl', members: 2, eventsPerSecond: 200, durationMs: 60_000 });
    await new Promise((r) => setTimeout(r, 100));
    await sim.restart({ downMs: 10 });
    const result = await Promise.race([flood, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 5_000))]);
    expect(result).not.toBe('hung');
    expect(sim.engine.conferences()).toEqual([]);
  });
});

describe('registry figures on /metrics', () => {
  it('exposes conferences, participants and deduplicated events of the live registry', async () => {
    const { startRelRig, waitUntil } = await import('../helpers/rel-service.js');
    const rig = await startRelRig({ http: true });
    try {
      rig.sim.engine.originate({ conference: 'lead-metrics', callerIdNumber: '1001' });
      rig.sim.engine.originate({ conference: 'lead-metrics', callerIdNumber: '1002' });
      await waitUntil('2 participants', () => rig.service.registry.stats().participants === 2);
      const text = await rig.service.metrics.metrics();
      expect(text).toContain('confmgr_conferences 1');
      expect(text).toContain('confmgr_participants 2');
      expect(text).toMatch(/confmgr_events_deduplicated \d+/);
    } finally {
      await rig.close();
    }
  });
});

describe('simulator input recording in a long run', () => {
  it('keeps receivedBytes() exact for short runs and bounded for long ones', async () => {
    const { connect } = await import('node:net');
    const keep = 4096;
    sim = await startSimulator({ port: 0, heartbeatMs: 0, keepReceivedBytes: keep });
    const sock = connect(sim.port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const line = (i: number) => Buffer.from(`api status ${String(i).padStart(5, '0')}\n\n`);
    const send = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        sock.write(line(i));
        if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      await new Promise((r) => setTimeout(r, 300));
    };
    // Short run: every byte, in order (commands before auth are answered with an error and kept).
    await send(0, 100);
    const all = Buffer.concat([...Array(100).keys()].map(line));
    expect(sim.receivedBytes().equals(all)).toBe(true);
    // Long run (> 2 × keep): bounded, and what is kept is the newest bytes, intact.
    await send(100, 2000);
    const got = sim.receivedBytes();
    expect(got.length).toBeGreaterThanOrEqual(keep);
    expect(got.length).toBeLessThanOrEqual(2 * keep);
    expect(got.toString().endsWith(line(1999).toString())).toBe(true);
    sock.destroy();
  });
});
