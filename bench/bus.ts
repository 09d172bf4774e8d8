/**
 * AMQP bus throughput: AmqpPublisher (filter → buffer → confirm channel, src/bus/publisher.ts) versus
 * the broker's own ceiling measured in the same run: raw amqplib ConfirmChannel publishes of the same
 * bytes, with the same in-flight window, persistent, to the same durable queue.
 * A consumer in a SEPARATE PROCESS drains the queue (ack per message, prefetch 2000) and measures
 * latency from the event timestamp (payload `ts_us`) to receipt.
 *
 * Phases (each on a fresh durable queue, deleted afterwards):
 *   raw      N messages, raw amqplib, window W unconfirmed           → msgs/s until all confirmed
 *   ours     N events through AmqpPublisher.publish()                → events/s until all confirmed
 *   latency  AmqpPublisher at a fixed rate (default 5000/s) for D s  → p50/p99 publish()→consumer
 *
 * Usage: npm run bench -- bus [--events N] [--window W] [--rate R] [--seconds D]
 */
import amqp from 'amqplib';
import { AmqpPublisher } from '../src/bus/publisher.js';
import { eventRoutingKey } from '../src/bus/routing.js';
import type { OutboundEvent } from '../src/conference/types.js';
import { AMQP_URL, arg, awaitCount, nowUs, payload, rawCeiling, withQueue, type ConsumerReport } from './_bus-common.js';

async function ours(n: number, window: number, conferences: string[]): Promise<{ rate: number; lat: ConsumerReport; rssMb: number }> {
  const exchange = `bench-ours-${process.pid}`;
  return withQueue(exchange, async (_queue, consumer) => {
    const publisher = new AmqpPublisher({ url: AMQP_URL, exchange, maxInFlight: window, bufferSize: n + 1 });
    await publisher.start();
    // Payload objects are built before the clock starts (the conference layer's job, not the bus's).
    const payloads = Array.from({ length: n }, (_, k) => payload(k, conferences[k % conferences.length]!, `call-${k % 97}`));
    const consumed = awaitCount(consumer, n);
    const t0 = performance.now();
    // Feed in slices of 1000 per event-loop turn, like a stream of ESL frames would.
    let i = 0;
    await new Promise<void>((resolve) => {
      const feed = (): void => {
        const end = Math.min(n, i + 1000);
        for (; i < end; i++) {
          const p = payloads[i]!;
          const ts = nowUs();
          p['ts_us'] = ts;
          publisher.publish({ event: 'start-talking', conferenceId: p['conference_id'] as string, callId: p['call_id'] as string, timestampUs: ts, payload: p });
        }
        if (i < n) setImmediate(feed);
        else resolve();
      };
      feed();
    });
    const flushed = await publisher.flush(120_000);
    const sec = (performance.now() - t0) / 1000;
    const rssMb = process.memoryUsage().rss / 1e6;
    if (!flushed) throw new Error('not flushed');
    const lat = await consumed;
    await publisher.close(1000);
    return { rate: n / sec, lat, rssMb };
  });
}

async function latencyAtRate(rate: number, seconds: number, conferences: string[], raw: boolean): Promise<ConsumerReport & { cpuUs: number }> {
  const exchange = `bench-lat-${process.pid}`;
  return withQueue(exchange, async (_queue, consumer) => {
    let publisher: { publish(e: OutboundEvent): unknown; flush(ms: number): Promise<unknown>; close(ms: number): Promise<unknown>; start(): Promise<void> };
    if (raw) {
      const conn = await amqp.connect(AMQP_URL);
      const ch = await conn.createConfirmChannel();
      let unconfirmed = 0;
      let idle: (() => void) | undefined;
      publisher = {
        start: async () => undefined,
        publish: (e) => {
          unconfirmed++;
          ch.publish(exchange, eventRoutingKey(e.conferenceId, e.callId), Buffer.from(JSON.stringify(e.payload)), { persistent: true, contentType: 'application/json' }, () => {
            if (--unconfirmed === 0) idle?.();
          });
        },
        flush: () => (unconfirmed === 0 ? Promise.resolve() : new Promise<void>((r) => (idle = r))),
        close: () => conn.close(),
      };
    } else {
      publisher = new AmqpPublisher({ url: AMQP_URL, exchange });
    }
    await publisher.start();
    const total = Math.round(rate * seconds);
    const consumed = awaitCount(consumer, total);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let i = 0;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const due = Math.min(total, Math.round(((performance.now() - t0) / 1000) * rate));
        for (; i < due; i++) {
          const conference = conferences[i % conferences.length]!;
          const call = `call-${i % 97}`;
          publisher.publish({ event: 'start-talking', conferenceId: conference, callId: call, timestampUs: nowUs(), payload: payload(i, conference, call) });
        }
        if (i >= total) {
          clearInterval(tick);
          resolve();
        }
      }, 2);
    });
    await publisher.flush(60_000);
    // This process's CPU (payload building included, same for both): the consumer is another process.
    const cpu = process.cpuUsage(cpu0);
    const report = await consumed;
    await publisher.close(1000);
    return { ...report, cpuUs: (cpu.user + cpu.system) / total };
  });
}

async function main(): Promise<void> {
  const n = arg('events', 100_000);
  const window = arg('window', 5000);
  const rate = arg('rate', 5000);
  const seconds = arg('seconds', 5);
  const conferences = Array.from({ length: 20 }, (_, i) => `bench-room-${i}`);
  const samples = Array.from({ length: 64 }, (_, i) => payload(i, conferences[i % 20]!, `call-${i}`));
  const bodies = samples.map((p) => Buffer.from(JSON.stringify(p)));
  const keys = samples.map((p) => p['routing_key'] as string);
  const avg = Math.round(bodies.reduce((s, b) => s + b.length, 0) / bodies.length);
  console.log(`bus bench: ${n} messages of ~${avg} B, persistent, durable queue, window ${window}, ${AMQP_URL.replace(/:[^:@/]+@/, ':***@')}`);

  const raw = await rawCeiling(n, window, bodies, keys);
  console.log(`raw amqplib confirm channel : ${Math.round(raw.rate).toLocaleString()} msg/s (consumer p50 ${raw.lat.p50.toFixed(1)} ms)`);
  const o = await ours(n, window, conferences);
  console.log(`AmqpPublisher               : ${Math.round(o.rate).toLocaleString()} events/s  (${((o.rate / raw.rate) * 100).toFixed(0)} % of raw), RSS ${o.rssMb.toFixed(0)} MB`);
  const rawLat = await latencyAtRate(rate, seconds, conferences, true);
  console.log(`raw latency at ${rate}/s, ${seconds}s : p50 ${rawLat.p50.toFixed(1)} ms, p99 ${rawLat.p99.toFixed(1)} ms, max ${rawLat.max.toFixed(1)} ms (${rawLat.count} msgs), publisher CPU ${rawLat.cpuUs.toFixed(1)} µs/msg`);
  const lat = await latencyAtRate(rate, seconds, conferences, false);
  console.log(`our latency at ${rate}/s, ${seconds}s : p50 ${lat.p50.toFixed(1)} ms, p99 ${lat.p99.toFixed(1)} ms, max ${lat.max.toFixed(1)} ms (publish() → consumer receipt, ${lat.count} events), publisher CPU ${lat.cpuUs.toFixed(1)} µs/event`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
