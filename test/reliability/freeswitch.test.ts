/**
 * FreeSWITCH faults, end to end: simulator → createService → RabbitMQ → a consumer.
 *  - restarted mid-flood (state lost, member ids start again at 1, nothing sent while down)
 *  - hung (no replies): typed TIMEOUT, connection replaced, commands work again afterwards
 *  - a connection cut in the middle of a frame (event frame and api/response frame)
 *  - the reading side never waits for the broker (RabbitMQ stalled while a flood runs), with a
 *    control showing the simulator's slow-reader limits would have caught a reader that stalls
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfmgrError } from '../../src/util/errors.js';
import { TestConsumer, delay } from '../helpers/bus-amqp.js';
import { registryMembers, simMembers, startRelRig, waitUntil, type RelRig } from '../helpers/rel-service.js';

const rigs: RelRig[] = [];
const consumers: TestConsumer[] = [];

afterEach(async () => {
  for (const c of consumers.splice(0)) await c.close();
  for (const r of rigs.splice(0)) await r.close();
});

async function rig(options: Parameters<typeof startRelRig>[0] = {}): Promise<{ r: RelRig; consumer: TestConsumer }> {
  const r = await startRelRig(options);
  rigs.push(r);
  const consumer = await TestConsumer.create(r.exchange, 'conference.event.#');
  consumers.push(consumer);
  return { r, consumer };
}

/** start/stop-talking toggles at `perSecond` until a member is gone (the conference was lost). */
function talkFlood(sim: RelRig['sim'], conference: string, ids: number[], perSecond: number): Promise<number> {
  let sent = 0;
  const started = Date.now();
  const talking = new Set<number>();
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const due = Math.floor(((Date.now() - started) * perSecond) / 1000);
      try {
        while (sent < due) {
          const id = ids[sent % ids.length]!;
          if (talking.delete(id)) sim.engine.stopTalking(conference, id);
          else {
            sim.engine.startTalking(conference, id);
            talking.add(id);
          }
          sent++;
        }
      } catch {
        clearInterval(timer); // member not found: the simulator restarted
        resolve(sent);
      }
    }, 5);
  });
}

function received(consumer: TestConsumer, event?: string): Array<Record<string, unknown>> {
  const seen = new Set<string>();
  const out: Array<Record<string, unknown>> = [];
  for (const m of consumer.received) {
    const id = String(m.msg.properties.messageId);
    if (seen.has(id)) continue; // at-least-once: a re-sent duplicate is the same message
    seen.add(id);
    if (event === undefined || m.body.event === event) out.push(m.body);
  }
  return out;
}

describe('FreeSWITCH restarted in the middle of a flood', () => {
  it('reconnects within the backoff, rebuilds state, and tells consumers (synthesized del/add-member)', async () => {
    const { r, consumer } = await rig({ reconnect: { baseMs: 100, capMs: 1000 } });
    const { sim, service } = r;
    const resyncs: Array<{ at: number; synthesized: number }> = [];
    service.sync.on('resynced', (res) => resyncs.push({ at: Date.now(), synthesized: res.synthesized }));

    const before = [
      ...Array.from({ length: 5 }, (_, i) => sim.engine.originate({ conference: 'rel-a', callerIdNumber: `10${i}` })),
      ...Array.from({ length: 2 }, (_, i) => sim.engine.originate({ conference: 'rel-b', callerIdNumber: `20${i}` })),
    ];
    await waitUntil('registry to hold the 7 members', () => registryMembers(service).length === 7);
    await consumer.waitFor(7);

    // The test drives the flood itself: the engine's flood() keeps firing for the old members after a
    // restart (see RELIABILITY.md), which no real FreeSWITCH does. This one stops when they are gone.
    const flood = talkFlood(sim, 'rel-a', before.slice(0, 5).map((b) => b.member.id), 400);
    await waitUntil('talking events to flow', () => received(consumer, 'start-talking').length >= 20, 15_000);

    // Restart: everything is lost without an event; while it is down, three calls join `rel-a` again
    // and get member ids 1..3 — the ids the old members had.
    const resyncsBefore = resyncs.length;
    const restarting = sim.restart({ downMs: 800 });
    await waitUntil('the simulator to lose its state', () => !sim.listening && sim.engine.conferences().length === 0, 5_000, 5);
    const after = Array.from({ length: 3 }, (_, i) => sim.engine.originate({ conference: 'rel-a', callerIdNumber: `30${i}` }));
    expect(after.map((a) => a.member.id)).toEqual([1, 2, 3]);
    await restarting;
    const upAt = Date.now();
    expect(await flood).toBeGreaterThan(0); // ended by itself: its members are gone

    await waitUntil('a resync after the restart', () => resyncs.length > resyncsBefore, 10_000);
    const reconnectMs = resyncs[resyncsBefore]!.at - upAt;
    // The backoff cap is 1000 ms; a loaded 2-core machine gets generous slack, still far below "never".
    expect(reconnectMs).toBeLessThan(5_000);
    await waitUntil('registry to equal the simulator', () => registryMembers(service).join() === simMembers(sim).join(), 10_000).catch(
      (e: Error) => {
        throw new Error(`${e.message}: registry ${registryMembers(service).join(' ')} vs simulator ${simMembers(sim).join(' ')}`);
      },
    );
    expect(registryMembers(service)).toEqual(simMembers(sim));
    expect(service.registry.participants('rel-a').map((p) => p.callerIdNumber).sort()).toEqual(['300', '301', '302']);
    expect(service.registry.conference('rel-b')).toBeUndefined(); // no ghost conference

    // Consumers are told: one del-member per vanished call, one add-member per call they never saw join.
    await waitUntil(
      'synthesized del-member and add-member on RabbitMQ',
      () =>
        before.every((b) => received(consumer, 'del-member').some((e) => e.call_id === b.member.callId)) &&
        after.every((a) => received(consumer, 'add-member').some((e) => e.call_id === a.member.callId)),
      10_000,
    );
    await delay(300); // anything extra (a duplicate) would arrive now
    for (const b of before) expect(received(consumer, 'del-member').filter((e) => e.call_id === b.member.callId)).toHaveLength(1);
    for (const a of after) expect(received(consumer, 'add-member').filter((e) => e.call_id === a.member.callId)).toHaveLength(1);
    // Every add-member ever published corresponds to exactly one call: no duplicate participant.
    const adds = received(consumer, 'add-member').map((e) => e.call_id);
    expect(new Set(adds).size).toBe(adds.length);
    expect(adds.length).toBe(before.length + after.length);
    expect(resyncs[resyncsBefore]!.synthesized).toBeGreaterThanOrEqual(before.length + after.length);
    console.log(
      `restart: resynced ${reconnectMs} ms after the simulator listened again (backoff 100..1000 ms); ` +
        `${resyncs[resyncsBefore]!.synthesized} events synthesized; ${received(consumer).length} unique events on RabbitMQ`,
    );
  }, 45_000);
});

describe('FreeSWITCH hangs (accepts bytes, never answers)', () => {
  it('fails commands with a typed TIMEOUT, replaces the connection, and works again after the hang', async () => {
    const { r } = await rig({ apiTimeoutMs: 700, reconnect: { baseMs: 100, capMs: 500 } });
    const { sim, service } = r;
    const m = sim.engine.originate({ conference: 'rel-hang', callerIdNumber: '100' });
    await waitUntil('member in registry', () => service.registry.participants('rel-hang').length === 1);
    const attemptsBefore = service.cluster.node('fs1').stats().connectAttempts;

    sim.hang(true);
    const t0 = Date.now();
    const err = (await service.executor.execute({ kind: 'mute', conference: 'rel-hang', target: m.member.id }).then(
      () => undefined,
      (e: unknown) => e,
    )) as ConfmgrError | undefined;
    expect(err).toBeDefined();
    expect(err!.code).toBe('TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(5_000);
    // The connection that timed out is closed and a new one is attempted.
    await waitUntil('a replacement connection attempt', () => service.cluster.node('fs1').stats().connectAttempts > attemptsBefore, 5_000);
    expect(sim.engine.conferences()[0]!.members[0]!.canSpeak).toBe(true); // nothing executed while hung

    sim.hang(false);
    let ok = false;
    const deadline = Date.now() + 15_000;
    while (!ok && Date.now() < deadline) {
      ok = await service.executor.execute({ kind: 'mute', conference: 'rel-hang', target: m.member.id }).then(
        () => true,
        () => false,
      );
      if (!ok) await delay(100);
    }
    expect(ok).toBe(true);
    expect(sim.engine.conferences()[0]!.members[0]!.canSpeak).toBe(false);
    const reply = await service.executor.execute({ kind: 'count', conference: 'rel-hang' });
    expect(reply.reply).toBe('1');
  }, 45_000);
});

describe('a connection cut in the middle of a frame', () => {
  it('event frame cut: reconnects, resyncs, and publishes nothing garbled', async () => {
    const { r, consumer } = await rig({ eslProxy: true });
    const { sim, service } = r;
    const members = Array.from({ length: 4 }, (_, i) => sim.engine.originate({ conference: 'rel-cut', callerIdNumber: `40${i}` }));
    await waitUntil('members in registry', () => service.registry.participants('rel-cut').length === 4);
    const resynced = new Promise((resolve) => service.sync.once('resynced', resolve));

    // The next event frame is forwarded only 40 bytes into its JSON body, then the socket dies.
    const cut = r.eslProxy!.cutNext('Content-Type: text/event-json', 80);
    sim.engine.startTalking('rel-cut', members[0]!.member.id);
    const info = await cut;
    expect(info.forwarded).toBeLessThan(info.chunkLength);
    // Changes while the event connection is being replaced.
    sim.engine.hangup(members[1]!.member.callId);
    const late = sim.engine.originate({ conference: 'rel-cut', callerIdNumber: '499' });
    await resynced;
    await waitUntil('registry to equal the simulator', () => registryMembers(service).join() === simMembers(sim).join(), 10_000);

    await waitUntil('del-member of the hung-up call and add-member of the late one', () =>
      received(consumer, 'del-member').some((e) => e.call_id === members[1]!.member.callId) &&
      received(consumer, 'add-member').some((e) => e.call_id === late.member.callId),
    );
    // Nothing misdelivered: every published participant event names a real call with its real member id.
    const truth = new Map([...members, late].map((m) => [m.member.callId, m.member.id]));
    for (const e of received(consumer)) {
      if (e.event_name !== 'participant_event') continue;
      expect(truth.get(String(e.call_id))).toBe(e.participant_id);
      expect(e.conference_id).toBe('rel-cut');
    }
  }, 45_000);

  it('api/response frame cut: the command in flight fails typed, the next one gets its own reply', async () => {
    const { r } = await rig({ eslProxy: true });
    const { sim, service } = r;
    sim.engine.originate({ conference: 'rel-cut2', callerIdNumber: '500' });
    sim.engine.originate({ conference: 'rel-cut2', callerIdNumber: '501' });
    await waitUntil('members in registry', () => service.registry.participants('rel-cut2').length === 2);

    const cut = r.eslProxy!.cutNext('Content-Type: api/response', 40);
    const err = (await service.executor.execute({ kind: 'json_list', conference: 'rel-cut2' }).then(
      () => undefined,
      (e: unknown) => e,
    )) as ConfmgrError | undefined;
    await cut;
    expect(err).toBeDefined();
    expect(['NODE_DOWN', 'ESL_CONNECTION_CLOSED']).toContain(err!.code);

    // Commands afterwards get their own, complete replies (no reply shifted onto the wrong request).
    await waitUntil('node up again', () => service.cluster.node('fs1').state === 'up', 10_000);
    let count: string | undefined;
    const deadline = Date.now() + 10_000;
    while (count === undefined && Date.now() < deadline) {
      count = await service.executor.execute({ kind: 'count', conference: 'rel-cut2' }).then(
        (res) => res.reply,
        () => undefined,
      );
      if (count === undefined) await delay(100);
    }
    expect(count).toBe('2');
    const list = await service.executor.execute({ kind: 'json_list', conference: 'rel-cut2' });
    expect(list.reply.startsWith('[')).toBe(true);
    expect(JSON.parse(list.reply)).toHaveLength(1);
  }, 45_000);
});

describe('the reading side never waits for the broker', () => {
  it('RabbitMQ stalled during a flood: ESL keeps reading (no slow-reader drops), events are buffered, then delivered', async () => {
    // FreeSWITCH's own slow-reader limits (100000 queued / 500 drops). The core check does not depend on
    // them: with RabbitMQ stalled for the whole flood, the service must still have read every event.
    const { r, consumer } = await rig({ amqpProxy: true });
    const { sim, service } = r;
    sim.engine.originate({ conference: 'rel-slow', callerIdNumber: '600' });
    sim.engine.originate({ conference: 'rel-slow', callerIdNumber: '601' });
    await waitUntil('members in registry', () => service.registry.participants('rel-slow').length === 2);
    await consumer.waitFor(2);
    const pool = service.cluster.node('fs1');
    const attemptsBefore = pool.stats().connectAttempts;
    let seenByService = 0;
    service.sync.on('event', (e) => {
      if (e.conferenceName === 'rel-slow' && (e.action === 'start-talking' || e.action === 'stop-talking')) seenByService++;
    });

    r.amqpProxy!.pause(); // the broker stops reading and confirming
    const { sent } = await sim.engine.flood({ conference: 'rel-slow', members: 2, eventsPerSecond: 3000, count: 6000 });
    expect(sent).toBe(6000);
    await waitUntil('the service to have read every event', () => seenByService === sent, 30_000).catch((e: Error) => {
      throw new Error(`${e.message}: read ${seenByService}/${sent}, connect attempts ${pool.stats().connectAttempts - attemptsBefore}`);
    });
    const stalled = service.publisher.stats();
    expect(stalled.buffered + stalled.inFlight).toBeGreaterThan(0); // held for the broker, not lost
    expect(pool.stats().connectAttempts).toBe(attemptsBefore); // never disconnected as a slow reader
    expect(r.amqpProxy!.connectionCount()).toBeGreaterThan(0); // and the broker really was stalled, not gone
    expect(service.sync.state('fs1')).toBe('synced');

    r.amqpProxy!.resume();
    // Count only the talking events: conference-create, the first floor-change and play-file-done are
    // published too, so a total count would stop waiting before the last talking events arrive.
    const talking = (): Array<Record<string, unknown>> =>
      received(consumer).filter((e) => e.event === 'start-talking' || e.event === 'stop-talking');
    await waitUntil('all talking events on RabbitMQ', () => talking().length >= sent, 30_000).catch((e: Error) => {
      throw new Error(`${e.message}: have ${talking().length}/${sent}`);
    });
    await delay(200); // nothing beyond them arrives either
    expect(talking()).toHaveLength(sent);
    expect(service.publisher.stats().dropped).toEqual({ overflow: 0, nacked: 0, shutdown: 0 });
  }, 55_000);

  it('control: a client that stops reading is disconnected by the simulator with the same limits', async () => {
    const { r } = await rig({ sim: { maxEventQueue: 500, maxConsecutiveDrops: 20 } });
    const { sim } = r;
    sim.engine.originate({ conference: 'rel-stall', callerIdNumber: '700' });
    sim.engine.originate({ conference: 'rel-stall', callerIdNumber: '701' });
    const socket = connect({ port: sim.port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    await new Promise((res) => socket.once('connect', res));
    socket.write('auth ClueCon\n\nevent json CUSTOM conference::maintenance\n\n');
    await delay(300);
    const withStalled = sim.connectionCount(); // the service's own connections plus this one
    socket.pause(); // stop reading
    await sim.engine.flood({ conference: 'rel-stall', members: 2, eventsPerSecond: 20_000, count: 20_000 });
    // A paused socket sees its 'close' only once read; the simulator's side shows the disconnect.
    await waitUntil('the stalled reader to be disconnected', () => sim.connectionCount() === withStalled - 1, 15_000);
    socket.destroy();
  }, 30_000);
});
