/**
 * Broker faults through the whole service: simulator → createService → RabbitMQ → consumer.
 *  - `rabbitmqctl close_connection` on the service's own publisher connection (found by the peer port
 *    of our proxy's upstream socket, so no other test's connection is touched), twice, under steady
 *    load → after dedupe by message_id nothing is missing and each conference's events arrive in the
 *    order the service produced them; duplicates are counted and printed.
 *  - overflow: the broker stalled, more events than `buffer_size` → dropped counted exactly.
 * The whole-broker stop/start is in test/bus-broker-restart.test.ts (publisher alone), not repeated here.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PROFILE } from '../../src/simulator/index.js';
import { TestConsumer, delay, rabbitmqctl } from '../helpers/bus-amqp.js';
import { dedupeByConference, recordProduced, startRelRig, steadyLoad, waitUntil, type RelRig } from '../helpers/rel-service.js';

const rigs: RelRig[] = [];
const consumers: TestConsumer[] = [];

afterEach(async () => {
  for (const c of consumers.splice(0)) await c.close();
  for (const r of rigs.splice(0)) await r.close();
});

/**
 * Closes the broker connection named `name` (or `name (<instance>)`, as the service names them) whose
 * peer port is one of `ports`. Returns how many.
 */
async function closeOurConnection(name: string, ports: number[]): Promise<number> {
  const { stdout } = await rabbitmqctl('list_connections', '-q', 'pid', 'peer_port', 'client_properties');
  let closed = 0;
  for (const line of stdout.split('\n')) {
    const [pid, port, props] = line.split('\t');
    if (!pid?.startsWith('<') || !ports.includes(Number(port))) continue;
    if (!props?.includes(`{"connection_name","${name}"}`) && !props?.includes(`{"connection_name","${name} (`)) continue;
    await rabbitmqctl('close_connection', pid, 'reliability test: forced close');
    closed++;
  }
  return closed;
}

describe('the service publisher connection force-closed under steady load', () => {
  it('loses nothing (after dedupe by message_id) and keeps per-conference order', async () => {
    const rig = await startRelRig({ amqpProxy: true, amqpReconnect: { baseMs: 100, capMs: 500 } });
    rigs.push(rig);
    const consumer = await TestConsumer.create(rig.exchange, 'conference.event.#');
    consumers.push(consumer);
    const { sim, service } = rig;

    const conferences = new Map<string, number[]>();
    for (const conf of ['rel-bk-1', 'rel-bk-2', 'rel-bk-3']) {
      conferences.set(conf, [1, 2, 3].map((i) => sim.engine.originate({ conference: conf, callerIdNumber: `${conf}-${i}` }).member.id));
    }
    // What the service produced, per conference, in order (the reference for "lost" and "order").
    const produced = recordProduced(service);
    await waitUntil('9 members in the registry', () => service.registry.stats().participants === 9);

    const load = steadyLoad(rig, conferences, 150); // 450 events/s in all
    const closes: number[] = [];
    for (let i = 0; i < 2; i++) {
      await delay(1200);
      await waitUntil('publisher connected', () => service.publisher.connected, 15_000);
      closes.push(await closeOurConnection('confmgr-publisher', rig.amqpProxy!.upstreamLocalPorts()));
    }
    await delay(1000);
    const sent = await load.stop();
    expect(closes).toEqual([1, 1]); // each time exactly our connection was closed

    expect(await service.publisher.flush(30_000)).toBe(true);
    const stats = service.publisher.stats();
    expect(stats.connects).toBeGreaterThanOrEqual(3);
    expect(stats.dropped).toEqual({ overflow: 0, nacked: 0, shutdown: 0 });
    const talkingProduced = [...produced.values()].flat().length;
    expect(talkingProduced).toBeGreaterThanOrEqual(sent); // every simulator event became an outbound event

    const total = [...produced.values()].reduce((a, l) => a + l.length, 0);
    await waitUntil(
      'every produced event at the consumer',
      () => new Set(consumer.received.map((r) => String(r.msg.properties.messageId))).size >= total,
      30_000,
    );
    await delay(300);
    // Dedupe by message_id (at-least-once), keeping the first arrival; then compare with what was produced.
    const { got, unique: seen, duplicates } = dedupeByConference(consumer.received);
    for (const [conf, ids] of produced) expect(got.get(conf), conf).toEqual(ids);
    console.log(
      `broker close_connection x2: simulator fired ${sent} talking events, service produced ${total} events, ` +
        `consumer got ${consumer.received.length} deliveries = ${seen.size} unique + ${duplicates} duplicates; ` +
        `resent ${stats.resent}, connects ${stats.connects}`,
    );
  }, 60_000);
});

describe('overflow beyond buffer_size', () => {
  it('drops exactly (sent − buffer) oldest events and counts them', async () => {
    const bufferSize = 50;
    // No entry/exit tones: their deferred play-file-done events would land in the buffer at a random time.
    const quiet = { ...DEFAULT_PROFILE, enterSound: undefined, exitSound: undefined };
    const rig = await startRelRig({ amqpProxy: true, bufferSize, sim: { profiles: [quiet] } });
    rigs.push(rig);
    const consumer = await TestConsumer.create(rig.exchange, 'conference.event.#');
    consumers.push(consumer);
    const { sim, service } = rig;
    sim.engine.originate({ conference: 'rel-ovf', callerIdNumber: '1' });
    sim.engine.originate({ conference: 'rel-ovf', callerIdNumber: '2' });
    await waitUntil('members in registry', () => service.registry.participants('rel-ovf').length === 2);
    expect(await service.publisher.flush(10_000)).toBe(true);
    const base = service.publisher.stats();
    const baseDelivered = consumer.received.length;

    // The broker stops reading; the connection stays up, so sends go into the window and socket until
    // nothing is confirmed: we drop the connection too, so everything new must wait in the buffer.
    rig.amqpProxy!.pause();
    rig.amqpProxy!.dropAll();
    await waitUntil('publisher disconnected', () => !service.publisher.connected, 10_000);
    // From here nothing can be sent: accepted events wait in the buffer (size 50).
    const afterDrop = service.publisher.stats();
    const waiting = afterDrop.buffered;
    const produced: string[] = [];
    let others = 0; // anything else the service publishes meanwhile (none expected) still takes buffer room
    const unsub = service.events.subscribe((e) => {
      if (e.conferenceId === 'rel-ovf' && (e.event === 'start-talking' || e.event === 'stop-talking')) produced.push(String(e.payload.msg_id));
      else others++;
    });
    const { sent } = await sim.engine.flood({ conference: 'rel-ovf', members: 2, eventsPerSecond: 2000, count: 300 });
    await waitUntil('the service to have produced every event', () => produced.length >= sent, 20_000);
    await delay(300); // anything late would show in `others`
    const s = service.publisher.stats();
    unsub();
    expect(produced).toHaveLength(sent);
    expect(others).toBe(0);
    const offered = waiting + sent;
    expect(s.buffered).toBe(bufferSize);
    expect(s.dropped.overflow - base.dropped.overflow).toBe(offered - bufferSize);

    rig.amqpProxy!.resume();
    expect(await service.publisher.flush(30_000)).toBe(true);
    // What arrives is the newest `bufferSize` (oldest dropped), in order.
    const newest = produced.slice(-bufferSize);
    const arrivedIds = () => new Set(consumer.received.slice(baseDelivered).map((r) => String(r.msg.properties.messageId)));
    await waitUntil('the buffered events at the consumer', () => newest.every((id) => arrivedIds().has(id)), 20_000).catch((e: Error) => {
      const have = arrivedIds();
      throw new Error(
        `${e.message}: ${newest.filter((id) => have.has(id)).length}/${newest.length} of the newest arrived, ` +
          `${produced.filter((id) => have.has(id)).length} of all produced; publisher ${JSON.stringify(service.publisher.stats())}`,
      );
    });
    const arrived = [...new Set(consumer.received.slice(baseDelivered).map((r) => String(r.msg.properties.messageId)))];
    expect(arrived.filter((id) => produced.includes(id))).toEqual(newest);
    console.log(`overflow: buffer ${bufferSize}, offered ${offered}, dropped ${s.dropped.overflow - base.dropped.overflow}`);
  }, 45_000);
});
