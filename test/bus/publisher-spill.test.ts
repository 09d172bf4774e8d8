import { join } from 'node:path';
import { tmpdir } from 'node:os';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { OutboundEvent } from '../../src/conference/types.js';
import { AmqpPublisher } from '../../src/bus/publisher.js';
import { AMQP_URL, deleteAll, TestConsumer, uniqueName } from '../helpers/bus-amqp.js';
import { TcpProxy } from '../helpers/rel-proxy.js';

const PAD = 'p'.repeat(600);

function ev(conferenceId: string, n: number): OutboundEvent {
  return { event: 'start-talking', conferenceId, callId: `call-${n % 7}`, timestampUs: Date.now() * 1000, payload: { conference_id: conferenceId, n, msg_id: `m-${conferenceId}-${n}`, pad: PAD } };
}

interface Spill {
  spillCounts: { written: number; read: number; failed: number };
  bytesHeld: number;
}
const backlogOf = (p: AmqpPublisher): Spill => (p as unknown as { backlog: Spill }).backlog;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

describe('AmqpPublisher with its buffer over bufferMemoryBytes (real RabbitMQ)', () => {
  it('spills the buffer to its file and still delivers every event, exact and in order, across a forced reconnect', async () => {
    const exchange = uniqueName('t-conf');
    const connectionName = uniqueName('t-pub');
    const consumer = await TestConsumer.create(exchange, '#');
    // Through a proxy, to cut the publisher's connection at once while most of the buffer waits.
    const u = new URL(AMQP_URL);
    const proxy = await TcpProxy.start(Number(u.port || 5672), u.hostname);
    cleanups.push(() => proxy.close());
    u.hostname = '127.0.0.1';
    u.port = String(proxy.port);
    const memory = 4 * 2 ** 20;
    const publisher = new AmqpPublisher({ url: u.toString(), exchange, connectionName, reconnect: { baseMs: 50, capMs: 300 }, bufferMemoryBytes: memory, maxInFlight: 500 });
    cleanups.push(() => deleteAll([exchange]));
    cleanups.push(() => consumer.close());
    cleanups.push(() => publisher.close(2000));
    await publisher.start();
    const conferences = ['alpha', 'beta', 'gamma'];
    const total = 15_000; // ~11 MB encoded: most of it in the spill file
    for (let i = 0; i < total; i++) publisher.publish(ev(conferences[i % 3]!, Math.floor(i / 3)));
    const backlog = backlogOf(publisher);
    expect(backlog.spillCounts.written).toBeGreaterThan(3);
    expect(backlog.bytesHeld).toBeLessThanOrEqual(memory);
    await consumer.waitFor(1000);
    expect(publisher.stats().confirmed).toBeLessThan(total / 2);
    proxy.dropAll();
    expect(await publisher.flush(30_000)).toBe(true);
    const s = publisher.stats();
    expect(s.connects).toBeGreaterThanOrEqual(2);
    expect(s.resent).toBeGreaterThan(0);
    expect(s.confirmed).toBe(total);
    expect(s.dropped).toEqual({ overflow: 0, nacked: 0, shutdown: 0 });
    expect(backlog.spillCounts.read).toBeGreaterThan(3);
    expect(backlog.spillCounts.failed).toBe(0);

    // At-least-once: after dedupe by message_id every event arrived, byte for byte, and per
    // conference the first occurrences are in publish order.
    await consumer.waitForDistinct(total, 30_000);
    const seen = new Set<string>();
    const order = new Map<string, number[]>();
    for (const r of consumer.received) {
      const id = r.msg.properties.messageId as string;
      if (seen.has(id)) continue;
      seen.add(id);
      const conf = r.body['conference_id'] as string;
      expect(r.body).toEqual(ev(conf, r.body['n'] as number).payload);
      order.set(conf, [...(order.get(conf) ?? []), r.body['n'] as number]);
    }
    expect(seen.size).toBe(total);
    for (const conf of conferences) expect(order.get(conf)).toEqual(Array.from({ length: total / 3 }, (_, i) => i));
  }, 60_000);

  it('with no spill file to write, holds the buffer in memory instead, logs it, and loses nothing', async () => {
    const exchange = uniqueName('t-conf');
    const consumer = await TestConsumer.create(exchange, '#');
    const lines: Array<{ msg: string; totalFailed?: number }> = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as { msg: string }) });
    const publisher = new AmqpPublisher({
      url: AMQP_URL,
      exchange,
      connectionName: uniqueName('t-pub'),
      bufferMemoryBytes: 4 * 2 ** 20,
      bufferSpillDir: join(tmpdir(), uniqueName('no-such-folder')),
      logger,
    });
    cleanups.push(() => deleteAll([exchange]));
    cleanups.push(() => consumer.close());
    cleanups.push(() => publisher.close(2000));
    const total = 9000;
    for (let i = 0; i < total; i++) publisher.publish(ev('alpha', i)); // buffered before the connection
    expect(backlogOf(publisher).spillCounts.failed).toBeGreaterThan(0);
    expect(backlogOf(publisher).bytesHeld).toBeGreaterThan(4 * 2 ** 20);
    expect(lines.filter((l) => l.msg.includes('could not spill'))).toHaveLength(1);
    await publisher.start();
    expect(await publisher.flush(30_000)).toBe(true);
    expect(publisher.stats()).toMatchObject({ confirmed: total, dropped: { overflow: 0, nacked: 0, shutdown: 0 } });
    await consumer.waitForDistinct(total, 30_000);
  }, 60_000);
});
