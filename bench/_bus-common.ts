/**
 * Shared pieces of the AMQP benchmarks (bench/bus.ts, bench/pipeline.ts): a consumer in a separate
 * process with latency percentiles, a participant-event-like payload, and the broker's own ceiling
 * (raw amqplib ConfirmChannel publishes). Run as a child with `--consumer <queue>`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { eventRoutingKey } from '../src/bus/routing.js';

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

export function strArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** `q`-quantile of an ascending array (NaN when empty). */
export function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

// -------------------------------------------------------------------------------------------------
// Consumer (child process): counts messages on a queue, reports latency percentiles on request.

export interface ConsumerReport {
  count: number;
  /** Wall-clock ms of the first and last message received. */
  firstAt: number;
  lastAt: number;
  p50: number;
  p99: number;
  max: number;
}

export async function consumerMain(queue: string): Promise<void> {
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createChannel();
  await ch.prefetch(2000);
  let count = 0;
  let firstAt = 0;
  let lastAt = 0;
  const lat: number[] = [];
  let target = Infinity;
  const maybeDone = (): void => {
    if (count >= target) {
      lat.sort((a, b) => a - b);
      process.send!({ type: 'report', report: { count, firstAt, lastAt, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), max: lat.at(-1) ?? NaN } });
      target = Infinity;
    }
  };
  await ch.consume(queue, (msg) => {
    if (!msg) return;
    const nowMs = Date.now();
    const nowUs = nowMs * 1000;
    if (count === 0) firstAt = nowMs;
    lastAt = nowMs;
    // The timestamp sits at a fixed place in the body (last key, or first): parse only what is needed.
    const c = msg.content;
    const m = /"ts_us":(\d+)\}$/.exec(c.toString('latin1', Math.max(0, c.length - 40))) ?? /"ts_us":(\d+)/.exec(c.toString('latin1', 0, 200));
    if (m) lat.push((nowUs - Number(m[1])) / 1000);
    count++;
    ch.ack(msg);
    maybeDone();
  });
  process.on('message', (m: { type: string; n?: number }) => {
    if (m.type === 'await') {
      target = m.n!;
      maybeDone();
    } else if (m.type === 'reset') {
      // Forget what was received so far (a warm-up), so rates and percentiles cover the measurement only.
      count = 0;
      firstAt = 0;
      lastAt = 0;
      lat.length = 0;
      process.send!({ type: 'reset' });
    } else if (m.type === 'stop') void conn.close().then(() => process.exit(0));
  });
  process.send!({ type: 'ready' });
}

// -------------------------------------------------------------------------------------------------

export function startConsumer(queue: string): Promise<ChildProcess> {
  const child = fork(fileURLToPath(import.meta.url), ['--consumer', queue], { execArgv: process.execArgv });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', () => resolve(child));
  });
}

export function awaitCount(child: ChildProcess, n: number): Promise<ConsumerReport> {
  return new Promise((resolve) => {
    const onMsg = (m: { type: string; report?: ConsumerReport }): void => {
      if (m.type !== 'report') return;
      child.off('message', onMsg);
      resolve(m.report!);
    };
    child.on('message', onMsg);
    child.send({ type: 'await', n });
  });
}

/** Zeroes the consumer's counters and latencies (after a warm-up). */
export function resetConsumer(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    const onMsg = (m: { type: string }): void => {
      if (m.type !== 'reset') return;
      child.off('message', onMsg);
      resolve();
    };
    child.on('message', onMsg);
    child.send({ type: 'reset' });
  });
}

/** Wall clock in µs (Date-based: comparable across processes and with FreeSWITCH's Event-Date-Timestamp). */
export const nowUs = (): number => Date.now() * 1000;

/**
 * A participant_event payload as the conference layer builds it for a Kazoo leg (~1.2 KB JSON: the
 * channel's custom variables make most of it), `ts_us` first so the consumer finds it fast.
 */
export function payload(i: number, conference: string, call: string): Record<string, unknown> {
  return {
    ts_us: nowUs(),
    custom_channel_vars: {
      account_id: 'a0e2b5d4c3f1e6d7a8b9c0d1e2f3a4b5',
      authorizing_id: 'b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2',
      authorizing_type: 'device',
      owner_id: 'c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6',
      realm: 'bench.example.com',
      username: 'user_bench1000',
      call_interaction_id: `63812345678-${call}`,
      channel_authorized: 'true',
      global_resource: 'false',
      inception: 'on-net',
      fetch_id: 'f0e1d2c3-b4a5-4968-8776-655443322110',
      media_name: 'conference',
      bridge_id: call,
      ecallmgr_node: 'ecallmgr@bench',
    },
    channel_presence_id: `1000@bench.example.com`,
    caller_id_number: '1000',
    caller_id_name: 'Bench Caller',
    mute_detect: false,
    video: false,
    energy_level: 100,
    current_energy: 42,
    talking: i % 2 === 0,
    speak: true,
    hear: true,
    floor: false,
    participant_id: (i % 50) + 1,
    instance_id: 'e9d8c7b6-a5f4-4e3d-8c2b-1a0f9e8d7c6b',
    conference_id: conference,
    focus: 'freeswitch@bench',
    call_id: call,
    event: i % 2 === 0 ? 'start-talking' : 'stop-talking',
    node: 'fs1',
    msg_id: `${randomBytes(6).toString('hex')}-${i}`,
    event_name: 'participant_event',
    event_category: 'conference',
    app_name: 'confmgr',
    app_version: '0.1.0',
    routing_key: eventRoutingKey(conference, call),
    is_moderator: false,
  };
}

export async function withQueue<T>(exchange: string, fn: (queue: string, consumer: ChildProcess) => Promise<T>): Promise<T> {
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createChannel();
  const queue = `bench-bus-${process.pid}-${randomBytes(3).toString('hex')}`;
  await ch.assertExchange(exchange, 'topic', { durable: true });
  await ch.assertQueue(queue, { durable: true });
  await ch.bindQueue(queue, exchange, 'conference.event.#');
  const consumer = await startConsumer(queue);
  try {
    return await fn(queue, consumer);
  } finally {
    consumer.send({ type: 'stop' });
    await ch.deleteQueue(queue).catch(() => undefined);
    await ch.deleteExchange(exchange).catch(() => undefined);
    await conn.close();
  }
}

const TS_KEY = Buffer.from('"ts_us":');

/**
 * A copy of `body` whose `"ts_us":<16 digits>` (first or last key) carries the current time: bodies
 * are captured once, so without this the consumer would measure their age, not publish → receipt.
 */
function stamped(body: Buffer): Buffer {
  const at = body.lastIndexOf(TS_KEY);
  if (at < 0) return body;
  const copy = Buffer.from(body);
  const ts = String(nowUs());
  const end = at + TS_KEY.length + ts.length;
  if (copy[end] === 0x2c /* , */ || copy[end] === 0x7d /* } */) copy.write(ts, at + TS_KEY.length, 'latin1');
  return copy;
}

/**
 * The broker's ceiling: raw amqplib ConfirmChannel, `window` unconfirmed at most, persistent,
 * to a fresh durable queue drained by the consumer child. `rate` counts confirms; the consumer
 * report gives the receipt rate (the figure the pipeline is compared on).
 */
export async function rawCeiling(n: number, window: number, bodies: Buffer[], keys: string[]): Promise<{ rate: number; lat: ConsumerReport }> {
  const exchange = `bench-raw-${process.pid}`;
  return withQueue(exchange, async (_queue, consumer) => {
    const conn = await amqp.connect(AMQP_URL);
    const ch = await conn.createConfirmChannel();
    const consumed = awaitCount(consumer, n);
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      let sent = 0;
      let confirmed = 0;
      let inflight = 0;
      const pump = (): void => {
        while (inflight < window && sent < n) {
          const i = sent++;
          inflight++;
          const ok = ch.publish(exchange, keys[i % keys.length]!, stamped(bodies[i % bodies.length]!), {
            persistent: true,
            contentType: 'application/json',
            messageId: String(i),
            timestamp: Math.floor(Date.now() / 1000),
            appId: 'bench',
            type: 'start-talking',
          }, (err: unknown) => {
            if (err) return reject(err as Error);
            inflight--;
            if (++confirmed === n) resolve();
            else if (!scheduled) {
              scheduled = true;
              setImmediate(() => ((scheduled = false), pump()));
            }
          });
          if (!ok) {
            ch.once('drain', pump);
            return;
          }
        }
      };
      let scheduled = false;
      pump();
    });
    const confirmSec = (performance.now() - t0) / 1000;
    const lat = await consumed;
    await conn.close();
    return { rate: n / confirmSec, lat };
  });
}


if (process.argv.includes('--consumer') && process.argv[1] === fileURLToPath(import.meta.url)) {
  void consumerMain(process.argv[process.argv.indexOf('--consumer') + 1]!);
}
