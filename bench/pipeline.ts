/**
 * The whole event path, end to end:
 *   simulator (child process, real ESL over TCP) flood of start/stop-talking
 *     → EslNodePool → parseConferenceEvent → ConferenceStateSync/registry → toOutboundEvent
 *     → AmqpPublisher (filter, buffer, confirms; persistent, durable queue)
 *     → a consumer (child process, ack per message)
 * and, in the same run, the broker's own ceiling: raw amqplib ConfirmChannel publishes of
 * same-size messages with the same window (bench/_bus-common.ts).
 *
 * Prints sustained events/s (as the consumer receives them), latency p50/p99 from FreeSWITCH's
 * Event-Date-Timestamp to consumer receipt, and confmgr's RSS. The bench adds `ts_us` (the event
 * timestamp) at the front of each payload so the consumer can read it cheaply.
 *
 * Usage: npm run bench -- pipeline [--rate 30000] [--seconds 4] [--latency-rate 5000] [--latency-seconds 5]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AmqpPublisher } from '../src/bus/publisher.js';
import { EventFilter } from '../src/bus/filter.js';
import { parseConferenceEvent } from '../src/conference/events.js';
import { toOutboundEvent, type PayloadContext } from '../src/conference/payload.js';
import { ConferenceRegistry } from '../src/conference/registry.js';
import { ConferenceStateSync } from '../src/conference/resync.js';
import type { ConferenceEvent } from '../src/conference/types.js';
import { EslNodePool } from '../src/esl/pool.js';
import { startSimulator } from '../src/simulator/index.js';
import { AMQP_URL, arg, awaitCount, payload, rawCeiling, withQueue, type ConsumerReport } from './_bus-common.js';

const CONFERENCES = 10;
const MEMBERS = 10;

// -------------------------------------------------------------------------------------------------
// Simulator (child process)

async function simMain(): Promise<void> {
  const sim = await startSimulator({ port: 0, host: '127.0.0.1' });
  const names = Array.from({ length: CONFERENCES }, (_, i) => `bench-conf-${i}`);
  for (const conference of names) {
    for (let m = 0; m < MEMBERS; m++) sim.engine.originate({ conference, callerIdNumber: `10${m}`, callerIdName: `Bench ${m}` });
  }
  for (let i = 0; i < 200; i++) {
    if (names.every((n) => (sim.engine.conference(n)?.members.length ?? 0) >= MEMBERS)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  process.on('message', (m: { type: string; rate?: number; seconds?: number }) => {
    if (m.type === 'flood') {
      const perConf = m.rate! / names.length;
      void Promise.all(
        names.map((conference) => sim.engine.flood({ conference, members: MEMBERS, eventsPerSecond: perConf, durationMs: m.seconds! * 1000 })),
      ).then((r) => process.send!({ type: 'flooded', sent: r.reduce((s, x) => s + x.sent, 0) }));
    } else if (m.type === 'stop') void sim.close().then(() => process.exit(0));
  });
  process.send!({ type: 'ready', port: sim.port });
}

function startSim(): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['--sim'], { execArgv: process.execArgv });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (m: { port: number }) => resolve({ child, port: m.port }));
  });
}

function flood(child: ChildProcess, rate: number, seconds: number): Promise<number> {
  return new Promise((resolve) => {
    const onMsg = (m: { type: string; sent?: number }): void => {
      if (m.type !== 'flooded') return;
      child.off('message', onMsg);
      resolve(m.sent!);
    };
    child.on('message', onMsg);
    child.send({ type: 'flood', rate, seconds });
  });
}

// -------------------------------------------------------------------------------------------------

interface Pipeline {
  publisher: AmqpPublisher;
  close(): Promise<void>;
}

/** The confmgr side, wired like src/main.ts (without HTTP/storage). */
async function startPipeline(port: number, exchange: string): Promise<Pipeline> {
  const pool = new EslNodePool({ name: 'fs1', host: '127.0.0.1', port, password: 'ClueCon' });
  const registry = new ConferenceRegistry();
  const sync = new ConferenceStateSync({ registry, api: (_node, command) => pool.api(command), nodes: ['fs1'] });
  const publisher = new AmqpPublisher({
    url: AMQP_URL,
    exchange,
    bufferSize: 1_000_000,
    filter: new EventFilter(['start-talking', 'stop-talking']),
  });
  const ctx: PayloadContext = { appName: 'confmgr', appVersion: '0.1.0', nodeName: 'confmgr@bench' };
  pool.on('event', (node, raw) => {
    const event = parseConferenceEvent(raw, node);
    if (event) sync.handleEvent(event);
  });
  pool.on('up', (node) => void sync.nodeUp(node));
  pool.on('down', (node, reason) => sync.nodeDown(node, reason));
  sync.on('event', (event: ConferenceEvent) => {
    const out = toOutboundEvent(ctx, event);
    // `ts_us` first: the consumer reads it with a regex on the first bytes.
    publisher.publish({ ...out, payload: { ts_us: out.timestampUs, ...out.payload } });
  });
  await publisher.start();
  pool.start();
  await pool.waitUntilUp(10_000);
  await new Promise((r) => setTimeout(r, 500)); // let the resync finish
  return {
    publisher,
    close: async () => {
      await publisher.close(5000);
      await pool.close();
    },
  };
}

function fmt(r: ConsumerReport): string {
  return `p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms`;
}

async function phase(port: number, sim: ChildProcess, rate: number, seconds: number): Promise<{ sent: number; report: ConsumerReport; rssMb: number; stats: ReturnType<AmqpPublisher['stats']> }> {
  const exchange = `bench-pipe-${process.pid}-${rate}`;
  return withQueue(exchange, async (_queue, consumer) => {
    const p = await startPipeline(port, exchange);
    try {
      const sent = await flood(sim, rate, seconds);
      await p.publisher.flush(120_000);
      const rssMb = process.memoryUsage().rss / 1e6;
      const report = await Promise.race([
        awaitCount(consumer, sent),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`consumer did not get ${sent} events`)), 120_000)),
      ]);
      return { sent, report, rssMb, stats: p.publisher.stats() };
    } finally {
      await p.close();
    }
  });
}

async function main(): Promise<void> {
  const rate = arg('rate', 30_000);
  const seconds = arg('seconds', 4);
  const latRate = arg('latency-rate', 5000);
  const latSeconds = arg('latency-seconds', 5);
  const { child: sim, port } = await startSim();
  try {
    const sample = Array.from({ length: 64 }, (_, i) => payload(i, `bench-conf-${i % 10}`, `call-${i}`));
    const bodies = sample.map((x) => Buffer.from(JSON.stringify(x)));
    const keys = sample.map((x) => x['routing_key'] as string);
    console.log(`pipeline bench: simulator (${CONFERENCES}×${MEMBERS} members) → ESL → conference → AmqpPublisher → RabbitMQ (confirms, persistent, durable queue) → consumer`);

    const raw = await rawCeiling(Math.min(100_000, rate * seconds), 5000, bodies, keys);
    console.log(`broker ceiling (raw amqplib, ~${bodies[0]!.length} B msgs): ${Math.round(raw.rate).toLocaleString()} msg/s`);

    const t = await phase(port, sim, rate, seconds);
    const sustained = t.report.count / Math.max(0.001, (t.report.lastAt - t.report.firstAt) / 1000);
    console.log(
      `flood ${rate}/s for ${seconds}s: simulator sent ${t.sent}, consumer got ${t.report.count}; sustained ${Math.round(sustained).toLocaleString()} events/s ` +
        `(${((sustained / raw.rate) * 100).toFixed(0)} % of the broker ceiling); latency under saturation ${fmt(t.report)}; RSS ${t.rssMb.toFixed(0)} MB; dropped ${JSON.stringify(t.stats.dropped)}`,
    );

    const l = await phase(port, sim, latRate, latSeconds);
    console.log(`steady ${latRate}/s for ${latSeconds}s: ${l.report.count}/${l.sent} events, Event-Date-Timestamp → consumer ${fmt(l.report)}; RSS ${l.rssMb.toFixed(0)} MB`);
  } finally {
    sim.send({ type: 'stop' });
  }
}

if (process.argv.includes('--sim')) {
  void simMain();
} else {
  main()
    .then(() => process.exit(0))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
