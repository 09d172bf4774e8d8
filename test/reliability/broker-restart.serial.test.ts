/**
 * The whole broker stopped and started under steady load, through the whole service
 * (simulator → createService → RabbitMQ → consumer). Serial phase only: it stops RabbitMQ for everyone.
 * Expectation: nothing lost (after dedupe by message_id: at-least-once), per-conference order kept.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestConsumer, delay, rabbitmqctl, uniqueName } from '../helpers/bus-amqp.js';
import { dedupeByConference, recordProduced, startRelRig, steadyLoad, waitUntil, type RelRig } from '../helpers/rel-service.js';

let rig: RelRig | undefined;
const consumers: TestConsumer[] = [];
afterEach(async () => {
  for (const c of consumers.splice(0)) await c.close();
  await rig?.close();
  rig = undefined;
});

describe('RabbitMQ stopped and started under steady load (end to end)', () => {
  it('loses no event and keeps each conference in order', async () => {
    rig = await startRelRig({ amqpReconnect: { baseMs: 100, capMs: 1000 } });
    const { sim, service } = rig;
    const queue = uniqueName('rel-restart-q');
    const first = await TestConsumer.create(rig.exchange, 'conference.event.#', queue);
    const conferences = new Map<string, number[]>();
    for (const conf of ['rel-rs-1', 'rel-rs-2']) {
      conferences.set(conf, [1, 2].map((i) => sim.engine.originate({ conference: conf, callerIdNumber: `${conf}-${i}` }).member.id));
    }
    const produced = recordProduced(service);
    await waitUntil('4 members in the registry', () => service.registry.stats().participants === 4);

    // Steady talking load while the broker goes away and comes back.
    const load = steadyLoad(rig, conferences, 100);
    try {
      await delay(800);
      await rabbitmqctl('stop_app');
      await waitUntil('publisher to notice the broker is gone', () => !service.publisher.connected, 20_000);
      await delay(1500); // events keep arriving from FreeSWITCH and wait in the buffer
      expect(service.publisher.stats().buffered).toBeGreaterThan(0);
      await rabbitmqctl('start_app');
      await rabbitmqctl('await_startup');
      await waitUntil('publisher reconnected', () => service.publisher.connected, 30_000);
      await delay(800);
    } finally {
      await load.stop();
      // Whatever happened, the broker must be running for the tests after this one.
      await rabbitmqctl('start_app').catch(() => undefined);
      await rabbitmqctl('await_startup').catch(() => undefined);
    }
    expect(await service.publisher.flush(30_000)).toBe(true);
    const stats = service.publisher.stats();
    expect(stats.dropped).toEqual({ overflow: 0, nacked: 0, shutdown: 0 });

    // The first consumer's connection died with the broker; the durable queue kept the messages.
    await first.connection.close().catch(() => undefined);
    const second = await TestConsumer.create(rig.exchange, 'conference.event.#', queue);
    consumers.push(second);
    const total = [...produced.values()].reduce((a, l) => a + l.length, 0);
    const unique = () => new Set([...first.received, ...second.received].map((r) => String(r.msg.properties.messageId)));
    await waitUntil('every produced event at the consumer', () => unique().size >= total, 30_000);
    await delay(300);

    const { got, unique: seen, duplicates } = dedupeByConference([...first.received, ...second.received]);
    for (const [conf, ids] of produced) expect(got.get(conf), conf).toEqual(ids);
    console.log(`broker stop/start: ${total} events produced, ${seen.size} unique delivered, ${duplicates} duplicates, resent ${stats.resent}, connects ${stats.connects}`);
  }, 90_000);
});
