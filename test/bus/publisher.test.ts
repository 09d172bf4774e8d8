import amqp from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import type { OutboundEvent } from '../../src/conference/types.js';
import { EventFilter } from '../../src/bus/filter.js';
import { AmqpPublisher, type PublisherCounter } from '../../src/bus/publisher.js';
import { publishingHealth } from '../../src/bus/publishing-health.js';
import { AMQP_URL, closeConnectionsNamed, deleteAll, delay, TestConsumer, uniqueName } from '../helpers/bus-amqp.js';
import { TcpProxy } from '../helpers/rel-proxy.js';

function ev(event: string, conferenceId: string, callId: string | undefined, n: number): OutboundEvent {
  return {
    event,
    conferenceId,
    callId,
    timestampUs: Date.now() * 1000,
    payload: { event, conference_id: conferenceId, call_id: callId, n, msg_id: `m-${conferenceId}-${n}` },
  };
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function setup(opts: Partial<ConstructorParameters<typeof AmqpPublisher>[0]> = {}, pattern = '#') {
  const exchange = uniqueName('t-conf');
  const connectionName = uniqueName('t-pub');
  const consumer = await TestConsumer.create(exchange, pattern);
  const publisher = new AmqpPublisher({ url: AMQP_URL, exchange, connectionName, reconnect: { baseMs: 50, capMs: 500 }, ...opts });
  cleanups.push(() => deleteAll([exchange]));
  cleanups.push(() => consumer.close());
  cleanups.push(() => publisher.close(2000));
  await publisher.start();
  return { exchange, connectionName, consumer, publisher };
}

describe('AmqpPublisher (real RabbitMQ)', () => {
  it('publishes with the right routing keys, properties and bodies', async () => {
    const { consumer, publisher } = await setup({ appId: 'confmgr-test' });
    expect(publisher.publish(ev('add-member', 'room.1', 'call*#', 1))).toBe('queued');
    expect(publisher.publish(ev('conference-create', 'room.1', undefined, 2))).toBe('queued');
    const noMsgId: OutboundEvent = { event: 'del-member', conferenceId: 'r é', callId: 'c 1', timestampUs: 1, payload: { x: 1 } };
    publisher.publish(noMsgId);
    await consumer.waitFor(3);
    expect(await publisher.flush(5000)).toBe(true);

    const [a, b, c] = consumer.received;
    expect(a!.routingKey).toBe('conference.event.room%2E1.call%2A%23');
    expect(a!.body).toEqual({ event: 'add-member', conference_id: 'room.1', call_id: 'call*#', n: 1, msg_id: 'm-room.1-1' });
    const p = a!.msg.properties;
    expect(p.contentType).toBe('application/json');
    expect(p.deliveryMode).toBe(2);
    expect(p.messageId).toBe('m-room.1-1');
    expect(p.appId).toBe('confmgr-test');
    expect(p.type).toBe('add-member');
    expect(Math.abs(Number(p.timestamp) - Date.now() / 1000)).toBeLessThan(120);
    expect(b!.routingKey).toBe('conference.event.room%2E1.room%2E1');
    expect(c!.routingKey).toBe('conference.event.r+%C3%A9.c+1');
    expect(c!.msg.properties.messageId).toMatch(/^[0-9a-f]{12}-/);

    const s = publisher.stats();
    expect(s).toMatchObject({ accepted: 3, confirmed: 3, buffered: 0, inFlight: 0, connected: true });
    expect(s.byEvent['add-member']).toMatchObject({ accepted: 1, confirmed: 1 });
  });

  it('applies the filter and its reload (update) without a restart', async () => {
    const filter = new EventFilter(['mute-member']);
    const counted: Array<[PublisherCounter, string, number]> = [];
    const { consumer, publisher } = await setup({ filter, metrics: (c, e, n) => counted.push([c, e, n]) });
    expect(publisher.publish(ev('mute-member', 'c1', 'a', 1))).toBe('queued');
    expect(publisher.publish(ev('start-talking', 'c1', 'a', 2))).toBe('filtered');
    filter.update(['start-talking']);
    expect(publisher.publish(ev('mute-member', 'c1', 'a', 3))).toBe('filtered');
    expect(publisher.publish(ev('start-talking', 'c1', 'a', 4))).toBe('queued');
    filter.update([]);
    expect(publisher.publish(ev('start-talking', 'c1', 'a', 5))).toBe('filtered');
    await consumer.waitFor(2);
    await publisher.flush(5000);
    await delay(200); // nothing else may arrive
    expect(consumer.received.map((r) => r.body['n'])).toEqual([1, 4]);
    const s = publisher.stats();
    expect(s.filtered).toBe(3);
    expect(s.byEvent['start-talking']).toMatchObject({ filtered: 2, accepted: 1, confirmed: 1 });
    expect(s.byEvent['mute-member']).toMatchObject({ filtered: 1, accepted: 1, confirmed: 1 });
    expect(counted.filter(([c]) => c === 'filtered').length).toBe(3);
    expect(counted.filter(([c]) => c === 'confirmed').length).toBe(2);
  });

  it('drops the oldest on overflow, counted exactly; the newest go out in order', async () => {
    const { consumer, publisher } = await setup({ bufferSize: 100 });
    // All 250 are queued in the same tick, before the sender runs: 150 oldest must be dropped.
    for (let i = 0; i < 250; i++) publisher.publish(ev('add-member', 'c1', `call-${i}`, i));
    const s = publisher.stats();
    expect(s.dropped.overflow).toBe(150);
    expect(s.buffered).toBe(100);
    await consumer.waitFor(100);
    expect(await publisher.flush(5000)).toBe(true);
    await delay(200);
    expect(consumer.received.map((r) => r.body['n'])).toEqual(Array.from({ length: 100 }, (_, i) => 150 + i));
    expect(publisher.stats().byEvent['add-member']).toMatchObject({ accepted: 250, dropped: 150, confirmed: 100 });
  });

  it('buffers while the broker is unreachable, never blocking publish()', async () => {
    const publisher = new AmqpPublisher({ url: 'amqp://guest:guest@127.0.0.1:1', bufferSize: 10, reconnect: { baseMs: 20, capMs: 50 } });
    void publisher.start();
    cleanups.push(() => publisher.close(10));
    const t0 = performance.now();
    for (let i = 0; i < 25; i++) expect(publisher.publish(ev('add-member', 'c', 'x', i))).toBe('queued');
    expect(performance.now() - t0).toBeLessThan(1000);
    await delay(150);
    expect(publisher.stats()).toMatchObject({ connected: false, buffered: 10, dropped: { overflow: 15, nacked: 0, shutdown: 0 } });
    expect(await publisher.flush(50)).toBe(false);
    const closed = await publisher.close(10);
    expect(closed).toEqual({ flushed: false, dropped: 10, unconfirmed: 0 });
    expect(publisher.stats().dropped.shutdown).toBe(10);
    expect(publisher.publish(ev('add-member', 'c', 'x', 99))).toBe('closed');
    expect(publisher.stats().dropped.shutdown).toBe(11); // late events are counted too
  });

  it('whenBufferedBelow: waits for the broker to take the buffer down, at once when there is no broker', async () => {
    const { consumer, publisher } = await setup({ maxInFlight: 50, batchSize: 50 });
    const n = 3000;
    for (let i = 0; i < n; i++) publisher.publish(ev('add-member', 'c', `x${i}`, i));
    expect(publisher.stats().buffered).toBe(n); // publish() only queues; the sender runs later
    const t0 = performance.now();
    await publisher.whenBufferedBelow(100, 30_000);
    expect(publisher.stats().buffered).toBeLessThan(100);
    expect(performance.now() - t0).toBeLessThan(30_000);
    await consumer.waitForDistinct(n);
    expect(consumer.distinctCount()).toBe(n);

    // Its bound: never longer than maxWaitMs, even while the buffer stays full.
    const stalled = new AmqpPublisher({ url: 'amqp://guest:guest@127.0.0.1:1', reconnect: { baseMs: 20, capMs: 50 } });
    void stalled.start();
    cleanups.push(() => stalled.close(10));
    for (let i = 0; i < 50; i++) stalled.publish(ev('add-member', 'c', 'x', i));
    const t1 = performance.now();
    await stalled.whenBufferedBelow(10, 60_000); // not connected: the buffer is there to fill
    expect(performance.now() - t1).toBeLessThan(1000);
    expect(stalled.stats()).toMatchObject({ connected: false, buffered: 50 });
  });

  it('a forced close of its connection under steady load loses nothing and keeps per-conference order', async () => {
    const { consumer, publisher, connectionName } = await setup({ maxInFlight: 200 });
    const conferences = ['alpha', 'beta', 'gamma.delta'];
    const seq = new Map(conferences.map((c) => [c, 0]));
    let total = 0;
    let running = true;
    const producer = (async () => {
      while (running) {
        for (let k = 0; k < 50; k++) {
          const conf = conferences[total % conferences.length]!;
          const n = seq.get(conf)!;
          seq.set(conf, n + 1);
          publisher.publish(ev('start-talking', conf, `call-${n % 7}`, n));
          total++;
        }
        await delay(5);
      }
    })();
    await consumer.waitFor(500);
    expect(await closeConnectionsNamed(connectionName)).toBe(1);
    await delay(300);
    expect(await closeConnectionsNamed(connectionName)).toBeGreaterThanOrEqual(0); // second blow if reconnected
    await delay(300);
    running = false;
    await producer;
    expect(await publisher.flush(20_000)).toBe(true);
    const s = publisher.stats();
    expect(s.connects).toBeGreaterThanOrEqual(2);
    expect(s.confirmed).toBe(total);
    expect(s.dropped).toEqual({ overflow: 0, nacked: 0, shutdown: 0 });

    // At-least-once: re-sent messages may be duplicated; after dedupe by message_id all arrive,
    // and per conference the first occurrences are in order.
    await consumer.waitForDistinct(total);
    const firstSeen = new Map<string, number[]>();
    const ids = new Set<string>();
    for (const r of consumer.received) {
      const id = r.msg.properties.messageId as string;
      if (ids.has(id)) continue;
      ids.add(id);
      const conf = r.body['conference_id'] as string;
      firstSeen.set(conf, [...(firstSeen.get(conf) ?? []), r.body['n'] as number]);
    }
    expect(ids.size).toBe(total);
    for (const conf of conferences) {
      const ns = firstSeen.get(conf)!;
      expect(ns).toEqual(Array.from({ length: seq.get(conf)! }, (_, i) => i));
    }
  }, 60_000);

  it('counts broker returns as unroutable when mandatory is on', async () => {
    const { consumer, publisher } = await setup({ mandatory: true }, 'conference.event.bound.*');
    publisher.publish(ev('add-member', 'bound', 'a', 1));
    publisher.publish(ev('add-member', 'nobody-listens', 'a', 2));
    await consumer.waitFor(1);
    expect(await publisher.flush(5000)).toBe(true);
    const s = publisher.stats();
    expect(s.unroutable).toBe(1);
    expect(s.confirmed).toBe(2);
    expect(s.byEvent['add-member']!.unroutable).toBe(1);
  });

  it('retries nacked messages, then counts them as dropped (nacked)', async () => {
    // A queue that holds one message and refuses the rest makes RabbitMQ nack them (reject-publish).
    const exchange = uniqueName('t-conf-nack');
    const queue = uniqueName('t-q-nack');
    const admin = await amqp.connect(AMQP_URL);
    const ch = await admin.createChannel();
    await ch.assertExchange(exchange, 'topic', { durable: true });
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    await ch.bindQueue(queue, exchange, '#');
    cleanups.push(async () => {
      await deleteAll([exchange], [queue]);
      await admin.close();
    });
    const publisher = new AmqpPublisher({ url: AMQP_URL, exchange, maxNackRetries: 2, maxInFlight: 1 });
    cleanups.push(() => publisher.close(1000));
    await publisher.start();
    for (let i = 0; i < 4; i++) publisher.publish(ev('add-member', 'c', 'x', i));
    expect(await publisher.flush(10_000)).toBe(true);
    const s = publisher.stats();
    expect(s.confirmed).toBe(1);
    expect(s.dropped.nacked).toBe(3);
    expect(s.nacked).toBe(9); // 3 messages × (1 try + 2 retries)
    const q = await ch.checkQueue(queue);
    expect(q.messageCount).toBe(1);
    const first = await ch.get(queue, { noAck: true });
    expect(first && JSON.parse(first.content.toString()).n).toBe(0);
  });

  it('close() flushes everything buffered before closing', async () => {
    const { consumer, publisher } = await setup();
    for (let i = 0; i < 2000; i++) publisher.publish(ev('stop-talking', 'c9', `call-${i % 5}`, i));
    expect(await publisher.close(15_000)).toEqual({ flushed: true, dropped: 0, unconfirmed: 0 });
    await consumer.waitFor(2000);
    expect(consumer.received.map((r) => r.body['n'])).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(publisher.stats()).toMatchObject({ confirmed: 2000, buffered: 0, inFlight: 0 });
  });

  it('close(): only events never sent are dropped; sent-but-unconfirmed ones are reported apart, and the broker has them', async () => {
    const { proxy, url } = await proxied();
    const exchange = uniqueName('t-conf-close');
    const consumer = await TestConsumer.create(exchange);
    cleanups.push(() => deleteAll([exchange]));
    cleanups.push(() => consumer.close());
    const metrics: PublisherCounter[] = [];
    const publisher = new AmqpPublisher({ url, exchange, maxInFlight: 100, batchSize: 100, reconnect: { baseMs: 50, capMs: 200 }, metrics: (c) => metrics.push(c) });
    cleanups.push(() => publisher.close(100));
    await publisher.start();
    // The broker stops reading (as when it blocks publishing): 100 go onto the wire, 200 wait.
    proxy.pause();
    for (let i = 0; i < 300; i++) publisher.publish(ev('add-member', 'c-close', `x${i}`, i));
    for (let i = 0; i < 100 && publisher.stats().inFlight < 100; i++) await delay(10);
    expect(publisher.stats()).toMatchObject({ inFlight: 100, buffered: 200 });
    // It reads again shortly after the flush deadline, before the connection's close completes.
    setTimeout(() => proxy.resume(), 400);
    const t0 = performance.now();
    const result = await publisher.close(200);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(result).toEqual({ flushed: false, dropped: 200, unconfirmed: 100 });
    const s = publisher.stats();
    expect(s.dropped.shutdown).toBe(200);
    expect(s.unconfirmedAtClose).toBe(100);
    expect(metrics.filter((c) => c === 'unconfirmed')).toHaveLength(100);
    // What was sent arrives: counting it as lost was wrong.
    await consumer.waitFor(100);
    await delay(200);
    expect(consumer.received.map((r) => r.body['n'])).toEqual(Array.from({ length: 100 }, (_, i) => i));
  }, 20_000);

  it('close() does not hang on a broker that never answers connection.close', async () => {
    const { proxy, url } = await proxied();
    const publisher = new AmqpPublisher({ url, exchange: uniqueName('t-conf-stall'), maxInFlight: 10, reconnect: { baseMs: 50, capMs: 200 } });
    await publisher.start();
    proxy.pause(); // stalled for good
    for (let i = 0; i < 20; i++) publisher.publish(ev('add-member', 'c-stall', 'x', i));
    for (let i = 0; i < 100 && publisher.stats().inFlight < 10; i++) await delay(10);
    const t0 = performance.now();
    expect(await publisher.close(100)).toEqual({ flushed: false, dropped: 10, unconfirmed: 10 });
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('stats().blocked follows connection.blocked / unblocked; publishingHealth says why publishing is unhealthy', async () => {
    const { proxy, url } = await proxied();
    const exchange = uniqueName('t-conf-blocked');
    const consumer = await TestConsumer.create(exchange);
    cleanups.push(() => deleteAll([exchange]));
    cleanups.push(() => consumer.close());
    const publisher = new AmqpPublisher({ url, exchange, reconnect: { baseMs: 50, capMs: 200 } });
    cleanups.push(() => publisher.close(1000));
    await publisher.start();
    expect(publisher.stats().blocked).toBe(false);
    expect(publishingHealth(publisher.stats(), 5)).toEqual({ ok: true });
    // What RabbitMQ sends on a memory or disk alarm (connection.blocked, then connection.unblocked).
    proxy.toClients(amqpMethodFrame(10, 60, shortstr('low on memory')));
    for (let i = 0; i < 100 && !publisher.stats().blocked; i++) await delay(10);
    expect(publisher.stats().blocked).toBe(true);
    expect(publishingHealth(publisher.stats(), 5)).toEqual({ ok: false, reason: 'broker blocked' });
    for (let i = 0; i < 10; i++) publisher.publish(ev('add-member', 'c-blocked', 'x', i));
    await delay(100);
    expect(publisher.stats()).toMatchObject({ buffered: 10, inFlight: 0 }); // nothing sent while blocked
    proxy.toClients(amqpMethodFrame(10, 61, Buffer.alloc(0)));
    expect(await publisher.flush(5000)).toBe(true);
    expect(publisher.stats().blocked).toBe(false);
    await consumer.waitFor(10);
  });
});

describe('publishingHealth', () => {
  const base = { connected: true, blocked: false, buffered: 0 };
  it.each([
    [base, { ok: true }],
    [{ ...base, connected: false }, { ok: false, reason: 'broker not connected' }],
    [{ ...base, blocked: true }, { ok: false, reason: 'broker blocked' }],
    [{ ...base, buffered: 1000 }, { ok: true }],
    [{ ...base, buffered: 1001 }, { ok: false, reason: 'buffer above 1000' }],
    [{ ...base, blocked: true, buffered: 5000 }, { ok: false, reason: 'broker blocked' }],
  ])('%j', (stats, expected) => {
    expect(publishingHealth(stats, 1000)).toEqual(expected);
  });
});

/** A TCP proxy in front of RabbitMQ, closed after the test. */
async function proxied(): Promise<{ proxy: TcpProxy; url: string }> {
  const u = new URL(AMQP_URL);
  const proxy = await TcpProxy.start(Number(u.port || 5672), u.hostname);
  cleanups.push(() => proxy.close());
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return { proxy, url: u.toString() };
}

function shortstr(text: string): Buffer {
  return Buffer.concat([Buffer.from([Buffer.byteLength(text)]), Buffer.from(text)]);
}

/** An AMQP 0-9-1 method frame on channel 0. */
function amqpMethodFrame(classId: number, methodId: number, args: Buffer): Buffer {
  const payload = Buffer.concat([Buffer.from([classId >> 8, classId & 0xff, methodId >> 8, methodId & 0xff]), args]);
  const header = Buffer.alloc(7);
  header.writeUInt8(1, 0);
  header.writeUInt16BE(0, 1);
  header.writeUInt32BE(payload.length, 3);
  return Buffer.concat([header, payload, Buffer.from([0xce])]);
}
