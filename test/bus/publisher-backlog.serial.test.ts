/**
 * The publisher's off-heap backlog against broker events that affect every user of the broker, so
 * kept in the serial phase: a real resource alarm (connection.blocked while a backlog builds up,
 * then resent from the backlog once unblocked), and a broker stop/start with tens of thousands of
 * entries waiting and in flight (resent from the backlog after the reconnect).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { AmqpPublisher } from '../../src/bus/publisher.js';
import { AMQP_URL, deleteAll, delay, rabbitmqctl, TestConsumer, uniqueName } from '../helpers/bus-amqp.js';

const exchanges: string[] = [];
const queues: string[] = [];
const consumers: TestConsumer[] = [];
const publishers: AmqpPublisher[] = [];

afterAll(async () => {
  // Never leave the broker alarmed or down.
  await rabbitmqctl('set_vm_memory_high_watermark', '0.4').catch(() => undefined);
  await rabbitmqctl('start_app').catch(() => undefined);
  await rabbitmqctl('await_startup').catch(() => undefined);
  for (const p of publishers) await p.close(2000);
  for (const c of consumers) await c.close();
  await deleteAll(exchanges, queues);
}, 120_000);

function event(conf: string, n: number, pad: string) {
  return { event: 'start-talking', conferenceId: conf, callId: 'c', timestampUs: Date.now() * 1000, payload: { conference_id: conf, n, msg_id: `${conf}-${n}`, pad } };
}

/** Distinct message ids received by `consumers`, and per conference the order of first receipts. */
function received(list: TestConsumer[]): { ids: Set<string>; order: Map<string, number[]> } {
  const ids = new Set<string>();
  const order = new Map<string, number[]>();
  for (const c of list)
    for (const r of c.received) {
      const id = String(r.msg.properties.messageId);
      if (ids.has(id)) continue;
      ids.add(id);
      const conf = r.body['conference_id'] as string;
      order.set(conf, [...(order.get(conf) ?? []), r.body['n'] as number]);
    }
  return { ids, order };
}

describe('AmqpPublisher backlog under broker events', () => {
  it('a memory alarm blocks the connection: nothing is sent, the backlog holds everything, all of it arrives in order after the alarm', async () => {
    const exchange = uniqueName('t-conf-alarm');
    const queue = uniqueName('t-q-alarm');
    exchanges.push(exchange);
    queues.push(queue);
    const consumer = await TestConsumer.create(exchange, 'conference.event.#', queue);
    consumers.push(consumer);
    const publisher = new AmqpPublisher({ url: AMQP_URL, exchange, connectionName: uniqueName('t-pub-alarm'), reconnect: { baseMs: 100, capMs: 500 } });
    publishers.push(publisher);
    await publisher.start();
    const pad = 'p'.repeat(1000);

    for (let n = 0; n < 100; n++) publisher.publish(event('a', n, pad));
    expect(await publisher.flush(10_000)).toBe(true);

    await rabbitmqctl('set_vm_memory_high_watermark', '0');
    // The broker tells a publishing connection it is blocked on its next publish.
    publisher.publish(event('a', 100, pad));
    const deadline = Date.now() + 15_000;
    while (!publisher.stats().blocked && Date.now() < deadline) await delay(50);
    expect(publisher.stats().blocked).toBe(true);
    const sentWhenBlocked = publisher.stats().sent;
    for (let n = 101; n < 5000; n++) publisher.publish(event('a', n, pad));
    await delay(1000);
    expect(publisher.stats().sent).toBe(sentWhenBlocked);
    expect(publisher.stats().buffered).toBeGreaterThanOrEqual(4899);

    await rabbitmqctl('set_vm_memory_high_watermark', '0.4');
    expect(await publisher.flush(60_000)).toBe(true);
    const s = publisher.stats();
    expect(s.blocked).toBe(false);
    expect(s.confirmed).toBe(5000);
    expect(s.dropped).toEqual({ overflow: 0, nacked: 0, shutdown: 0 });
    await consumer.waitForDistinct(5000, 30_000);
    expect(received([consumer]).order.get('a')).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  }, 110_000);

  it('a broker stop/start with a large backlog: every entry is resent from the backlog, none lost, per-conference order kept', async () => {
    const exchange = uniqueName('t-conf-flood');
    const queue = uniqueName('t-q-flood');
    exchanges.push(exchange);
    queues.push(queue);
    const first = await TestConsumer.create(exchange, 'conference.event.#', queue);
    consumers.push(first);
    const publisher = new AmqpPublisher({ url: AMQP_URL, exchange, connectionName: uniqueName('t-pub-flood'), reconnect: { baseMs: 100, capMs: 500 } });
    publishers.push(publisher);
    await publisher.start();
    const pad = 'q'.repeat(1000);
    const conferences = ['x', 'y', 'z'];
    const total = 30_000;
    // A flood larger than the broker takes at once: a backlog pending and a full window in flight.
    for (let n = 0; n < total / conferences.length; n++) for (const c of conferences) publisher.publish(event(c, n, pad));
    await first.waitFor(200, 20_000);
    await rabbitmqctl('stop_app');
    await delay(500);
    expect(publisher.stats().connected).toBe(false);
    expect(publisher.stats().buffered).toBeGreaterThan(0);
    await rabbitmqctl('start_app');
    await rabbitmqctl('await_startup');

    expect(await publisher.flush(90_000)).toBe(true);
    const s = publisher.stats();
    expect(s.confirmed).toBe(total);
    expect(s.dropped).toEqual({ overflow: 0, nacked: 0, shutdown: 0 });
    expect(s.connects).toBeGreaterThanOrEqual(2);

    const again = await TestConsumer.create(exchange, 'conference.event.#', queue);
    consumers.push(again);
    const deadline = Date.now() + 60_000;
    while (received([first, again]).ids.size < total && Date.now() < deadline) await delay(200);
    const { ids, order } = received([first, again]);
    expect(ids.size).toBe(total);
    for (const c of conferences) expect(order.get(c)).toEqual(Array.from({ length: total / conferences.length }, (_, i) => i));
  }, 180_000);
});
