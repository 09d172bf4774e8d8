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
 *   clients  the publish path of each client library (amqplib, @cloudamqp/amqp-client,
 *            rabbitmq-client) with the same bodies, properties, confirms and window: client CPU
 *            µs/message, messages/s and the broker's CPU µs/message; beside them confmgr's own
 *            frames (PublishFrameEncoder, one socket write per turn) (`--clients N` messages each,
 *            `--repeat R` rounds in alternating order)
 *
 * Usage: npm run bench -- bus [--events N] [--window W] [--rate R] [--seconds D] [--clients N] [--repeat R]
 *        [--only clients|publisher|flood|backlog]
 *
 * `--only backlog`: the publisher's memory for a backlog of N events with no broker reachable (all of it
 * held): RSS, V8 heap and ArrayBuffer growth, CPU and GC pauses per event.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import amqp from 'amqplib';
import { AmqpPublisher } from '../src/bus/publisher.js';
import { eventRoutingKey } from '../src/bus/routing.js';
import type { OutboundEvent } from '../src/conference/types.js';
import { AMQP_URL, arg, awaitCount, nowUs, payload, rawCeiling, strArg, withQueue, type ConsumerReport } from './_bus-common.js';
import { amqplibClient, cloudamqpClient, drive, framesClient, rabbitmqClient, type DriveResult, type PublishClient } from './_bus-clients.js';

interface OursResult {
  rate: number;
  lat: ConsumerReport;
  /** Peak RSS of this process during the phase. */
  rssMb: number;
  /** Peak V8 heap used during the phase. */
  heapMb: number;
  cpuUs: number;
  /** GC pauses (main thread, wall clock: inflated when the box is loaded) per event, µs. */
  gcUs: number;
}

/** Sums GC pause durations (main thread) until stop(). */
function gcWatch(): { stop(): number } {
  let total = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) total += e.duration;
  });
  obs.observe({ entryTypes: ['gc'] });
  return {
    stop: () => {
      obs.disconnect();
      return total;
    },
  };
}

let peakRss = 0;
let peakHeap = 0;
let rssTimer: NodeJS.Timeout | undefined;

/**
 * AmqpPublisher under a flood: all `n` events are published at once (slices of 1000 per turn),
 * so the backlog builds up in the publisher's buffer, as in a flood the broker cannot keep up with.
 */
async function ours(n: number, window: number, conferences: string[]): Promise<OursResult> {
  const exchange = `bench-ours-${process.pid}`;
  peakRss = process.memoryUsage().rss;
  peakHeap = process.memoryUsage().heapUsed;
  rssTimer = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 50);
  return withQueue(exchange, async (_queue, consumer) => {
    const publisher = new AmqpPublisher({ url: AMQP_URL, exchange, maxInFlight: window, bufferSize: n + 1 });
    await publisher.start();
    // A few payload objects built before the clock starts (the conference layer's job, not the bus's),
    // reused with a fresh msg_id and ts_us per event: the flood's memory is then the publisher's.
    const payloads = Array.from({ length: 97 }, (_, k) => payload(k, conferences[k % conferences.length]!, `call-${k}`));
    const consumed = awaitCount(consumer, n);
    const gc = gcWatch();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    // Feed in slices of 1000 per event-loop turn, like a stream of ESL frames would.
    let i = 0;
    await new Promise<void>((resolve) => {
      const feed = (): void => {
        const end = Math.min(n, i + 1000);
        for (; i < end; i++) {
          const p = payloads[i % payloads.length]!;
          const ts = nowUs();
          p['ts_us'] = ts;
          p['msg_id'] = `m-${i}`;
          publisher.publish({ event: 'start-talking', conferenceId: p['conference_id'] as string, callId: p['call_id'] as string, timestampUs: ts, payload: p });
        }
        if (i < n) setImmediate(feed);
        else resolve();
      };
      feed();
    });
    const flushed = await publisher.flush(120_000);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const gcMs = gc.stop();
    if (!flushed) throw new Error('not flushed');
    const lat = await consumed;
    await publisher.close(1000);
    clearInterval(rssTimer);
    return { rate: n / (ms / 1000), lat, rssMb: peakRss / 1e6, heapMb: peakHeap / 1e6, cpuUs: (cpu.user + cpu.system) / n, gcUs: (gcMs * 1000) / n };
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

async function backlogOnly(n: number, conferences: string[]): Promise<void> {
  const publisher = new AmqpPublisher({ url: 'amqp://guest:guest@127.0.0.1:1', bufferSize: n + 1, reconnect: { baseMs: 60_000, capMs: 60_000 } });
  void publisher.start();
  const payloads = Array.from({ length: 97 }, (_, k) => payload(k, conferences[k % conferences.length]!, `call-${k}`));
  const m0 = process.memoryUsage();
  const gc = gcWatch();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const p = payloads[i % payloads.length]!;
    p['msg_id'] = `m-${i}`;
    publisher.publish({ event: 'start-talking', conferenceId: p['conference_id'] as string, callId: p['call_id'] as string, timestampUs: 1, payload: p });
  }
  const cpu = process.cpuUsage(cpu0);
  const m1 = process.memoryUsage();
  await new Promise((r) => setTimeout(r, 50)); // GC entries are delivered asynchronously
  const gcMs = gc.stop();
  const mb = (x: number): string => (x / 1e6).toFixed(0);
  console.log(
    `backlog of ${n} events (no broker): RSS +${mb(m1.rss - m0.rss)} MB (${mb(m1.rss)} MB), V8 heap +${mb(m1.heapUsed - m0.heapUsed)} MB, ArrayBuffers +${mb(m1.arrayBuffers - m0.arrayBuffers)} MB; publish() CPU ${((cpu.user + cpu.system) / n).toFixed(1)} µs/event, GC pauses ${((gcMs * 1000) / n).toFixed(1)} µs/event`,
  );
  await publisher.close(0);
}

async function clients(n: number, window: number, repeat: number, bodies: Buffer[], keys: string[]): Promise<void> {
  const makers: Array<(exchange: string) => Promise<PublishClient>> = [amqplibClient, cloudamqpClient, rabbitmqClient, framesClient];
  const results = new Map<string, DriveResult[]>();
  for (let r = 0; r < repeat; r++) {
    const order = r % 2 === 0 ? makers : [...makers].reverse();
    for (const make of order) {
      const exchange = `bench-client-${process.pid}`;
      const result = await withQueue(exchange, async (_queue, consumer) => {
        const client = await make(exchange);
        try {
          const warm = Math.min(5000, n);
          const warmed = awaitCount(consumer, warm);
          await drive(client, warm, window, bodies, keys);
          await warmed;
          const consumed = awaitCount(consumer, warm + n);
          const res = await drive(client, n, window, bodies, keys);
          await consumed;
          return { name: client.name, res };
        } finally {
          await client.close();
        }
      });
      const list = results.get(result.name) ?? [];
      list.push(result.res);
      results.set(result.name, list);
      console.log(`  ${result.name.padEnd(24)} ${Math.round(result.res.rate).toLocaleString().padStart(7)} msg/s  client ${result.res.cpuUs.toFixed(1).padStart(5)} µs/msg  broker ${result.res.brokerUs.toFixed(1)} µs/msg`);
    }
  }
  const range = (xs: number[], digits: number): string => {
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    return lo.toFixed(digits) === hi.toFixed(digits) ? lo.toFixed(digits) : `${lo.toFixed(digits)}–${hi.toFixed(digits)}`;
  };
  console.log(`\n| client | client CPU µs/msg | msg/s | broker CPU µs/msg |\n| --- | ---: | ---: | ---: |`);
  for (const [name, list] of results) {
    console.log(`| ${name} | ${range(list.map((x) => x.cpuUs), 1)} | ${range(list.map((x) => x.rate), 0)} | ${range(list.map((x) => x.brokerUs), 0)} |`);
  }
}

async function main(): Promise<void> {
  const n = arg('events', 100_000);
  const window = arg('window', 5000);
  const rate = arg('rate', 5000);
  const seconds = arg('seconds', 5);
  const only = strArg('only');
  const conferences = Array.from({ length: 20 }, (_, i) => `bench-room-${i}`);
  const samples = Array.from({ length: 64 }, (_, i) => payload(i, conferences[i % 20]!, `call-${i}`));
  const bodies = samples.map((p) => Buffer.from(JSON.stringify(p)));
  const keys = samples.map((p) => p['routing_key'] as string);
  const avg = Math.round(bodies.reduce((s, b) => s + b.length, 0) / bodies.length);
  console.log(`bus bench: ${n} messages of ~${avg} B, persistent, durable queue, window ${window}, ${AMQP_URL.replace(/:[^:@/]+@/, ':***@')}`);

  if (only === undefined || only === 'clients') {
    console.log(`client libraries, publish path (${arg('clients', 50_000)} messages each, confirms, window ${window}):`);
    await clients(arg('clients', 50_000), window, arg('repeat', 2), bodies, keys);
    if (only === 'clients') return;
  }
  if (only === 'backlog') {
    await backlogOnly(n, conferences);
    return;
  }
  if (only === 'flood') {
    // A fresh process with the flood alone: its peak RSS is the publisher's, not what earlier phases left.
    const o = await ours(n, window, conferences);
    console.log(`AmqpPublisher (flood)       : ${Math.round(o.rate).toLocaleString()} events/s, CPU ${o.cpuUs.toFixed(1)} µs/event, GC pauses ${o.gcUs.toFixed(1)} µs/event, peak RSS ${o.rssMb.toFixed(0)} MB, peak V8 heap ${o.heapMb.toFixed(0)} MB`);
    return;
  }
  const raw = await rawCeiling(n, window, bodies, keys);
  console.log(`raw amqplib confirm channel : ${Math.round(raw.rate).toLocaleString()} msg/s (consumer p50 ${raw.lat.p50.toFixed(1)} ms)`);
  const o = await ours(n, window, conferences);
  console.log(`AmqpPublisher (flood)       : ${Math.round(o.rate).toLocaleString()} events/s  (${((o.rate / raw.rate) * 100).toFixed(0)} % of raw), CPU ${o.cpuUs.toFixed(1)} µs/event, GC pauses ${o.gcUs.toFixed(1)} µs/event, peak RSS ${o.rssMb.toFixed(0)} MB, peak V8 heap ${o.heapMb.toFixed(0)} MB`);
  const rawLat = await latencyAtRate(rate, seconds, conferences, true);
  console.log(`raw latency at ${rate}/s, ${seconds}s : p50 ${rawLat.p50.toFixed(1)} ms, p99 ${rawLat.p99.toFixed(1)} ms, max ${rawLat.max.toFixed(1)} ms (${rawLat.count} msgs), publisher CPU ${rawLat.cpuUs.toFixed(1)} µs/msg`);
  const lat = await latencyAtRate(rate, seconds, conferences, false);
  console.log(`our latency at ${rate}/s, ${seconds}s : p50 ${lat.p50.toFixed(1)} ms, p99 ${lat.p99.toFixed(1)} ms, max ${lat.max.toFixed(1)} ms (publish() → consumer receipt, ${lat.count} events), publisher CPU ${lat.cpuUs.toFixed(1)} µs/event`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
