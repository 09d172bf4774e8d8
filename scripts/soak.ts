/**
 * Soak: `npm run soak [-- --minutes 10 --sample-seconds 5]`.
 *
 * The FreeSWITCH simulator + the real service (createService, HTTP API and AMQP command intake on) +
 * a RabbitMQ consumer, in this process. For N minutes: calls join and leave, conferences empty out and
 * new ones start (fresh names, so per-conference state that is never freed shows up as growth),
 * members talk, and commands run (through the executor and, every few seconds, HTTP and AMQP).
 * Every sample: RSS, heap after a forced GC, event-loop delay (perf_hooks monitorEventLoopDelay),
 * events produced/consumed, commands. Prints the curve as a table and a verdict.
 *
 * Exit 1 when memory grows without bound — heap after GC at the end > 1.5 × heap after GC at 25 %
 * of the run (and more than 8 MiB above it), or RSS over the second half rising faster than
 * --max-rss-slope MiB/min (default 3) by more than 16 MiB — or when events were lost (consumed after
 * dedupe < produced once the buffer is flushed).
 * RSS covers the whole process: service, simulator and consumer together.
 * Everything it creates (queues `soak-<pid>-<hex>.events|.commands`, exchange `soak-<pid>-<hex>`, a temp
 * dir) is removed at the end, also on failure and on SIGINT/SIGTERM (exit 130).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import amqp from 'amqplib';
import { commandRoutingKey } from '../src/bus/routing.js';
import { parseConfig } from '../src/config/index.js';
import type { ConferenceCommand } from '../src/conference/types.js';
import { createLogger, redactUrl, silentLogger } from '../src/util/log.js';
import { createService } from '../src/app/service.js';
import { startSimulator } from '../src/simulator/index.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'sample-seconds': { type: 'string', default: '5' },
    'amqp-url': { type: 'string' },
    conferences: { type: 'string', default: '6' },
    'talk-rate': { type: 'string', default: '200' },
    'max-rss-slope': { type: 'string', default: '3' },
    'log-level': { type: 'string' },
  },
});
const minutes = Number(values.minutes);
const sampleMs = Number(values['sample-seconds']) * 1000;
const amqpUrl = values['amqp-url'] ?? process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const conferenceSlots = Number(values.conferences);
const talkRate = Number(values['talk-rate']);
const maxRssSlope = Number(values['max-rss-slope']);
if (!(minutes > 0) || !(sampleMs >= 500) || !(conferenceSlots >= 1) || !(talkRate > 0)) {
  console.error('usage: npm run soak [-- --minutes 10 --sample-seconds 5 --conferences 6 --talk-rate 200 --max-rss-slope 3]');
  process.exit(2);
}

// A GC we can call: --expose-gc, or V8's flag set at run time (vm context sees `gc` afterwards).
const gc: () => void =
  (globalThis as { gc?: () => void }).gc ??
  (() => {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  })();

const MiB = 1024 * 1024;
const rand = (n: number) => Math.floor(Math.random() * n);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  t: number;
  rssMiB: number;
  heapMiB: number;
  loopP50: number;
  loopP99: number;
  loopMax: number;
  produced: number;
  consumed: number;
  commandsOk: number;
  commandsFailed: number;
  buffered: number;
  participants: number;
  conferences: number;
}

/**
 * What the soak created and how to undo it, undone in reverse order on success, on failure and on
 * SIGINT/SIGTERM: the broker objects (durable, they would outlive us), the service, the simulator,
 * the data directory.
 */
const cleanups: Array<() => unknown> = [];
let cleaning: Promise<void> | undefined;

function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const undo of cleanups.splice(0).reverse()) {
      try {
        await undo();
      } catch (err) {
        console.error(`soak: cleanup step failed: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}

/** Deletes the soak's queues and exchange (the service's command queue and the consumer's queue are durable). */
export async function deleteBrokerObjects(url: string, exchange: string, queues: readonly string[]): Promise<void> {
  const conn = await amqp.connect(url, { timeout: 5_000 });
  conn.on('error', () => undefined);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    for (const q of queues) await ch.deleteQueue(q);
    // The command intake's routing exchanges, named after the exchange and its command queue.
    for (const q of queues) for (const x of [`${exchange}.${q}`, `${exchange}.${q}.unrouted`]) await ch.deleteExchange(x);
    await ch.deleteExchange(exchange);
  } finally {
    await conn.close().catch(() => undefined);
  }
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`soak: ${signal}; cleaning up (queues, exchange, service, simulator)`);
    setTimeout(() => process.exit(130), 30_000).unref(); // a cleanup that hangs must not keep us here
    void cleanUp().finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  const tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const exchange = `soak-${tag}`;
  const commandQueue = `soak-${tag}.commands`;
  const eventsQueue = `soak-${tag}.events`;
  const password = `soak-${randomBytes(6).toString('hex')}`;
  const token = `soak-token-${randomBytes(8).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'confmgr-soak-'));
  // Registered first, so undone last: after the service (whose intake would re-declare its queue) stopped.
  cleanups.push(() => deleteBrokerObjects(amqpUrl, exchange, [eventsQueue, commandQueue]));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));

  const sim = await startSimulator({ host: '127.0.0.1', port: 0, password, heartbeatMs: 20_000, verboseEvents: true });
  cleanups.push(() => sim.close());
  const config = parseConfig(
    [
      'freeswitch:',
      `  nodes: [{name: fs1, host: 127.0.0.1, port: ${sim.port}, password_env: SOAK_ESL_PASSWORD, command_connections: 2}]`,
      '  reconnect: {base_ms: 100, cap_ms: 2000}',
      '  liveness_interval_ms: 15000',
      'amqp:',
      '  url_env: SOAK_AMQP_URL',
      `  exchange: ${exchange}`,
      `  command_queue: ${commandQueue}`,
      'http:',
      '  listen: 127.0.0.1:0',
      `  tokens: [{token: ${token}, account_id: soak}]`,
      `storage: {path: ${JSON.stringify(join(dataDir, 'soak.sqlite'))}}`,
    ].join('\n'),
    'soak',
    { env: { SOAK_ESL_PASSWORD: password, SOAK_AMQP_URL: amqpUrl } },
  );
  const logger = values['log-level'] ? createLogger({ level: values['log-level'] }) : silentLogger;
  const service = await createService(config, { logger, instanceName: 'confmgr-soak' });

  // The consumer side (a durable queue, so a broker restart by someone else loses nothing; reconnects).
  cleanups.push(() => service.stop('soak cleanup'));
  const broker = new SoakBroker(amqpUrl, exchange, eventsQueue);
  cleanups.push(() => broker.close());
  await broker.start();

  let produced = 0;
  service.events.subscribe(() => void produced++);
  await service.start();
  const readyBy = Date.now() + 15_000;
  while (!(service.readiness().ready && service.sync.state('fs1') === 'synced')) {
    if (Date.now() > readyBy) throw new Error('service not ready after 15 s (is RabbitMQ running? bash scripts/ensure-rabbitmq.sh)');
    await sleep(50);
  }
  console.log(
    `soak: ${minutes} min, sample every ${sampleMs / 1000} s; simulator 127.0.0.1:${sim.port}, RabbitMQ ${redactUrl(amqpUrl)}, ` +
      `exchange ${exchange}; ${conferenceSlots} conference slots, ~${talkRate} talking events/s`,
  );

  // ---- workload ------------------------------------------------------------------------------
  let generation = 0;
  const slotName = (slot: number, gen: number) => `soak-${slot}-g${gen}`;
  const slots = Array.from({ length: conferenceSlots }, (_, i) => ({ name: slotName(i, 0), gen: 0 }));
  let commandsOk = 0;
  let commandsFailed = 0;
  let joins = 0;
  let leaves = 0;
  let recycled = 0;
  const members = (name: string) => sim.engine.conferences().find((c) => c.name === name)?.members ?? [];

  const runCommand = (cmd: ConferenceCommand) =>
    service.executor.execute(cmd).then(
      () => void commandsOk++,
      () => void commandsFailed++, // a member may leave between the pick and the command
    );

  let joinsRefused = 0;
  const joinCall = (name: string) => {
    try {
      sim.engine.originate({
        conference: name,
        callerIdNumber: String(1000 + rand(9000)),
        moderator: rand(8) === 0,
        vars: { account_id: 'soak' },
      });
      joins++;
    } catch {
      joinsRefused++; // the workload's own `lock` command: a locked conference refuses joins; unlock it
      void runCommand({ kind: 'unlock', conference: name });
    }
  };
  for (const s of slots) for (let i = 0; i < 4; i++) joinCall(s.name);

  const started = Date.now();
  const endAt = started + minutes * 60_000;
  let talkSent = 0;
  const talking = new Set<string>();

  const tick = setInterval(() => {
    const now = Date.now();
    // Talking at talkRate/s, spread over every member.
    const due = Math.floor(((now - started) * talkRate) / 1000);
    while (talkSent < due) {
      talkSent++;
      const s = slots[rand(slots.length)]!;
      const ms = members(s.name);
      if (ms.length === 0) continue;
      const m = ms[rand(ms.length)]!;
      const key = `${s.name}#${m.id}`;
      try {
        if (talking.delete(key)) sim.engine.stopTalking(s.name, m.id);
        else if (sim.engine.startTalking(s.name, m.id)) talking.add(key);
      } catch {
        talking.delete(key);
      }
    }
    // Joins and leaves (~8/s in all), keeping 2..12 members per conference.
    for (let i = 0; i < 2; i++) {
      const s = slots[rand(slots.length)]!;
      const ms = members(s.name);
      if (ms.length < 2 || (ms.length < 12 && rand(2) === 0)) joinCall(s.name);
      else {
        const m = ms[rand(ms.length)]!;
        sim.engine.hangup(m.callId);
        talking.delete(`${s.name}#${m.id}`);
        leaves++;
      }
    }
    // Commands (~10/s).
    for (let i = 0; i < 2; i++) {
      const s = slots[rand(slots.length)]!;
      const ms = members(s.name);
      const m = ms[rand(Math.max(1, ms.length))];
      const kinds = ['mute', 'unmute', 'deaf', 'undeaf', 'energy', 'count', 'json_list', 'lock', 'unlock'] as const;
      const kind = kinds[rand(kinds.length)]!;
      if (kind === 'count' || kind === 'json_list' || kind === 'lock' || kind === 'unlock') void runCommand({ kind, conference: s.name });
      else if (m && kind === 'energy') void runCommand({ kind, conference: s.name, target: m.id, value: 100 + rand(400) });
      else if (m) void runCommand({ kind, conference: s.name, target: m.id } as ConferenceCommand);
    }
  }, 50);

  // Every 20 s one conference empties (every call hangs up) and a new one starts under a new name.
  const recycle = setInterval(() => {
    const slot = rand(slots.length);
    const s = slots[slot]!;
    for (const m of members(s.name)) sim.engine.hangup(m.callId);
    s.gen = ++generation;
    s.name = slotName(slot, s.gen);
    for (let i = 0; i < 3; i++) joinCall(s.name);
    recycled++;
  }, 20_000);
  cleanups.push(() => {
    clearInterval(tick);
    clearInterval(recycle);
  });

  // Every sample: one HTTP read and one AMQP command, the paths operators and Kazoo use.
  const sideTraffic = async () => {
    const s = slots[rand(slots.length)]!;
    try {
      const res = await fetch(`${service.http!.url}/v2/accounts/soak/conferences`, { headers: { 'x-auth-token': token } });
      await res.text();
      if (res.ok) commandsOk++;
      else commandsFailed++;
    } catch {
      commandsFailed++;
    }
    broker.command(commandRoutingKey(s.name), { command: { kind: 'count' } });
  };

  // ---- sampling ------------------------------------------------------------------------------
  // The histogram records the whole interval between samples; the delay is what exceeds the resolution.
  const RESOLUTION_MS = 10;
  const loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  const lag = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  loop.enable();
  cleanups.push(() => loop.disable());
  const samples: Sample[] = [];
  const header =
    '   t(s)  rss MiB  heap MiB  loop p50 ms  loop p99 ms  loop max ms   produced   consumed  cmds ok  cmds err  buffered  parts  confs';
  console.log(header);
  const take = (): Sample => {
    gc();
    const mem = process.memoryUsage();
    const reg = service.registry.stats();
    const s: Sample = {
      t: Math.round((Date.now() - started) / 1000),
      rssMiB: mem.rss / MiB,
      heapMiB: mem.heapUsed / MiB,
      loopP50: lag(loop.percentile(50)),
      loopP99: lag(loop.percentile(99)),
      loopMax: lag(loop.max),
      produced,
      consumed: broker.consumedUnique,
      commandsOk,
      commandsFailed,
      buffered: service.publisher.stats().buffered,
      participants: reg.participants,
      conferences: reg.conferences,
    };
    loop.reset();
    broker.rotateWindow();
    return s;
  };
  const row = (s: Sample) =>
    [
      String(s.t).padStart(7),
      s.rssMiB.toFixed(1).padStart(8),
      s.heapMiB.toFixed(1).padStart(9),
      s.loopP50.toFixed(1).padStart(12),
      s.loopP99.toFixed(1).padStart(12),
      s.loopMax.toFixed(1).padStart(12),
      String(s.produced).padStart(10),
      String(s.consumed).padStart(10),
      String(s.commandsOk).padStart(8),
      String(s.commandsFailed).padStart(9),
      String(s.buffered).padStart(9),
      String(s.participants).padStart(6),
      String(s.conferences).padStart(6),
    ].join(' ');

  while (Date.now() < endAt) {
    await sleep(Math.min(sampleMs, endAt - Date.now()));
    void sideTraffic();
    const s = take();
    samples.push(s);
    console.log(row(s));
  }
  clearInterval(tick);
  clearInterval(recycle);

  // ---- drain and verdict ---------------------------------------------------------------------
  const flushed = await service.publisher.flush(30_000);
  const drainBy = Date.now() + 30_000;
  while (broker.consumedUnique < produced && Date.now() < drainBy) await sleep(100);
  await cleanUp();

  const at25 = samples[Math.max(0, Math.floor(samples.length / 4) - 1)]!;
  const last = samples[samples.length - 1]!;
  const secondHalf = samples.slice(Math.floor(samples.length / 2));
  const slope = slopePerMinute(secondHalf.map((s) => [s.t, s.rssMiB]));
  const rssRise = secondHalf.length > 0 ? secondHalf[secondHalf.length - 1]!.rssMiB - secondHalf[0]!.rssMiB : 0;
  const heapRatio = last.heapMiB / at25.heapMiB;
  const p99s = samples.map((s) => s.loopP99).sort((a, b) => a - b);
  const worstMax = Math.max(...samples.map((s) => s.loopMax));
  const stats = service.publisher.stats();

  const heapGrows = heapRatio > 1.5 && last.heapMiB - at25.heapMiB > 8;
  const rssGrows = slope > maxRssSlope && rssRise > 16;
  const lost = produced - broker.consumedUnique;
  console.log('');
  console.log(`workload: ${joins} joins (${joinsRefused} refused: conference locked), ${leaves} leaves, ${recycled} conferences recycled, ${talkSent} talking toggles, ` +
    `${commandsOk} commands ok / ${commandsFailed} failed (members leave between pick and command)`);
  console.log(`events: produced ${produced}, consumed ${broker.consumedUnique} unique + ${broker.duplicates} duplicates ` +
    `(consumer reconnects ${broker.reconnects}), lost ${lost}; ` +
    `publisher confirmed ${stats.confirmed}, dropped ${JSON.stringify(stats.dropped)}, flushed ${flushed}`);
  console.log(`heap after GC: ${at25.heapMiB.toFixed(1)} MiB at 25 % (t=${at25.t}s) → ${last.heapMiB.toFixed(1)} MiB at the end (× ${heapRatio.toFixed(2)}; limit × 1.5)`);
  console.log(`RSS: ${samples[0]!.rssMiB.toFixed(1)} → ${last.rssMiB.toFixed(1)} MiB; second-half slope ${slope.toFixed(2)} MiB/min (limit ${maxRssSlope}), rise ${rssRise.toFixed(1)} MiB`);
  console.log(`event-loop delay: median of per-sample p99 ${p99s[Math.floor(p99s.length / 2)]!.toFixed(1)} ms, worst p99 ${p99s[p99s.length - 1]!.toFixed(1)} ms, worst max ${worstMax.toFixed(1)} ms`);
  const ok = !heapGrows && !rssGrows && lost <= 0;
  console.log(
    `verdict: ${ok ? 'PASS' : 'FAIL'}` +
      (heapGrows ? ' — heap grows without bound' : '') +
      (rssGrows ? ' — RSS grows without bound' : '') +
      (lost > 0 ? ` — ${lost} events lost` : ''),
  );
  return ok ? 0 : 1;
}

/**
 * The soak's RabbitMQ client: a consumer on a durable queue counting unique message ids, and a
 * channel for AMQP commands. Survives the broker being restarted by someone else (reconnects).
 * Ids are remembered for a few sample windows only (bounded memory; redeliveries arrive soon).
 */
class SoakBroker {
  consumedUnique = 0;
  duplicates = 0;
  reconnects = -1;
  private windows: Array<Set<string>> = [new Set()];
  private conn: amqp.ChannelModel | undefined;
  private cmd: amqp.Channel | undefined;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly exchange: string,
    private readonly queue: string,
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    while (!this.closed) {
      try {
        const conn = await amqp.connect(this.url);
        conn.on('error', () => undefined);
        conn.on('close', () => {
          this.conn = undefined;
          this.cmd = undefined;
          if (!this.closed) setTimeout(() => void this.connect(), 500);
        });
        const ch = await conn.createChannel();
        await ch.assertExchange(this.exchange, 'topic', { durable: true });
        await ch.assertQueue(this.queue, { durable: true, autoDelete: false });
        await ch.bindQueue(this.queue, this.exchange, 'conference.event.#');
        await ch.prefetch(2000);
        await ch.consume(this.queue, (msg) => {
          if (!msg) return;
          this.seen(String(msg.properties.messageId));
          ch.ack(msg);
        });
        const cmd = await conn.createChannel();
        await cmd.consume('amq.rabbitmq.reply-to', () => undefined, { noAck: true });
        this.conn = conn;
        this.cmd = cmd;
        this.reconnects++;
        return;
      } catch {
        await sleep(500);
      }
    }
  }

  private seen(id: string): void {
    if (this.windows.some((w) => w.has(id))) this.duplicates++;
    else {
      this.windows[0]!.add(id);
      this.consumedUnique++;
    }
  }

  rotateWindow(): void {
    this.windows.unshift(new Set());
    this.windows.length = Math.min(this.windows.length, 4);
  }

  command(routingKey: string, body: unknown): void {
    try {
      this.cmd?.publish(this.exchange, routingKey, Buffer.from(JSON.stringify(body)), {
        replyTo: 'amq.rabbitmq.reply-to',
        correlationId: String(Date.now()),
      });
    } catch {
      // channel closing with the broker: the next sample sends another
    }
  }

  /** Stops consuming; the queue and exchange are deleted by the soak's cleanup (deleteBrokerObjects). */
  async close(): Promise<void> {
    this.closed = true;
    await this.conn?.close().catch(() => undefined);
  }
}

/** Least-squares slope of [seconds, MiB] points, in MiB per minute. */
export function slopePerMinute(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}

main().then(
  (code) => {
    if (!interrupted) process.exit(code);
  },
  (err) => {
    if (interrupted) return; // the signal handler cleans up and exits 130
    console.error(`soak failed: ${(err as Error).stack ?? String(err)}`);
    void cleanUp().finally(() => process.exit(1));
  },
);
