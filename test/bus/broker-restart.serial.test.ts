/**
 * Broker stop/start under steady load. `rabbitmqctl stop_app` affects every user of the broker,
 * so this file is kept short and on its own.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { AmqpPublisher } from '../../src/bus/publisher.js';
import { AMQP_URL, deleteAll, delay, rabbitmqctl, TestConsumer, uniqueName } from '../helpers/bus-amqp.js';

const exchange = uniqueName('t-conf-restart');
const queue = uniqueName('t-q-restart');
const consumers: TestConsumer[] = [];
let publisher: AmqpPublisher | undefined;

afterAll(async () => {
  await rabbitmqctl('start_app').catch(() => undefined); // never leave the broker down
  await rabbitmqctl('await_startup').catch(() => undefined);
  await publisher?.close(2000);
  for (const c of consumers) await c.close();
  await deleteAll([exchange], [queue]);
}, 120_000);

describe('AmqpPublisher across a broker stop/start', () => {
  it('loses nothing and keeps per-conference order', async () => {
    consumers.push(await TestConsumer.create(exchange, 'conference.event.#', queue));
    publisher = new AmqpPublisher({
      url: AMQP_URL,
      exchange,
      connectionName: uniqueName('t-pub-restart'),
      reconnect: { baseMs: 100, capMs: 500 },
    });
    await publisher.start();

    const conferences = ['one', 'two'];
    const next = new Map(conferences.map((c) => [c, 0]));
    let total = 0;
    let running = true;
    const producer = (async () => {
      while (running) {
        for (const conf of conferences) {
          const n = next.get(conf)!;
          next.set(conf, n + 1);
          publisher!.publish({
            event: 'start-talking',
            conferenceId: conf,
            callId: 'c',
            timestampUs: Date.now() * 1000,
            payload: { conference_id: conf, n, msg_id: `${conf}-${n}` },
          });
          total++;
        }
        await delay(10);
      }
    })();

    await consumers[0]!.waitFor(100);
    await rabbitmqctl('stop_app');
    await delay(500); // keep producing while the broker is down
    expect(publisher.stats().connected).toBe(false);
    await rabbitmqctl('start_app');
    await rabbitmqctl('await_startup');
    await delay(1000);
    running = false;
    await producer;

    expect(await publisher.flush(30_000)).toBe(true);
    const s = publisher.stats();
    expect(s.confirmed).toBe(total);
    expect(s.dropped).toEqual({ overflow: 0, nacked: 0, shutdown: 0 });
    expect(s.connects).toBeGreaterThanOrEqual(2);

    // The first consumer's connection died with the broker; drain the durable queue anew.
    const again = await TestConsumer.create(exchange, 'conference.event.#', queue);
    consumers.push(again);
    const seen = new Set<string>();
    const order = new Map<string, number[]>();
    const deadline = Date.now() + 20_000;
    while (seen.size < total && Date.now() < deadline) {
      for (const r of [...consumers[0]!.received, ...again.received]) {
        const id = r.msg.properties.messageId as string;
        if (seen.has(id)) continue;
        seen.add(id);
      }
      if (seen.size < total) await delay(100);
    }
    expect(seen.size).toBe(total);
    // Per-conference order of first occurrences (first consumer's deliveries come first in time).
    const firsts = new Set<string>();
    for (const r of [...consumers[0]!.received, ...again.received]) {
      const id = r.msg.properties.messageId as string;
      if (firsts.has(id)) continue;
      firsts.add(id);
      const conf = r.body['conference_id'] as string;
      order.set(conf, [...(order.get(conf) ?? []), r.body['n'] as number]);
    }
    for (const conf of conferences) {
      expect(order.get(conf)).toEqual(Array.from({ length: next.get(conf)! }, (_, i) => i));
    }
  }, 110_000);
});
