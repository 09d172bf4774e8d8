/**
 * Commands through AMQP under a flood: RPC messages → AmqpCommandIntake → ConferenceControl → ESL →
 * simulator → reply, measured as commands/s and publish → reply latency (p50/p99), for today's intake
 * settings and the improved ones in one run.
 *
 *   simulator  (child)  real ESL over TCP, `--conferences` conferences × `--members` members
 *   confmgr    (child)  src/app/service.ts's createService (no HTTP) + an AmqpCommandIntake with the
 *                       scenario's prefetch, on the service's executor; the node's command connections
 *                       from the scenario; a fresh process per scenario
 *   client     (this process) publishes `--commands` Kazoo mute/unmute messages at once (round-robin
 *                       over the conferences, alternating per member) with reply_to
 *                       amq.rabbitmq.reply-to, and times every reply
 *
 * Where the time goes: the confmgr child also reports its CPU per command and the executor's own time
 * per command (ESL round trip included), so queueing in the intake shows as latency minus that; and
 * each scenario is repeated without AMQP ("direct": the same commands straight into the executor, one
 * at a time per conference, all conferences at once), which is the ceiling the intake can reach.
 * Every scenario checks each conference's replies came back in the order its commands were sent.
 *
 * Usage: npm run bench -- commands [--commands 5000] [--conferences 20] [--members 5] [--warmup 500] [--no-direct] [--prof DIR]
 *   --no-direct  skip the runs without AMQP
 *   --prof DIR   run the simulator and every confmgr child with `node --cpu-prof` (profiles in DIR)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { createService } from '../src/app/service.js';
import { AmqpCommandIntake } from '../src/bus/command-intake.js';
import { commandRoutingKey } from '../src/bus/routing.js';
import { parseConfig } from '../src/config/index.js';
import type { CommandResult, ConferenceCommand } from '../src/conference/types.js';
import { silentLogger } from '../src/util/log.js';
import { startSimulator } from '../src/simulator/index.js';
import { AMQP_URL, arg, percentile, strArg } from './_bus-common.js';
import { once, type Msg } from './_child-ipc.js';

const SELF = fileURLToPath(import.meta.url);
const COMMANDS = arg('commands', 5000);
const CONFERENCES = arg('conferences', 20);
const MEMBERS = arg('members', 5);
const WARMUP = arg('warmup', 500);
const PROF = strArg('prof');
const DIRECT = !process.argv.includes('--no-direct');

interface Scenario {
  label: string;
  prefetch: number;
  connections: number;
}

/** The former settings first (prefetch 16, 2 command connections per node), then the new default and more connections. */
const SCENARIOS: Scenario[] = [
  { label: 'baseline: prefetch 16, 2 command connections', prefetch: 16, connections: 2 },
  { label: 'prefetch 64 (default), 2 command connections', prefetch: 64, connections: 2 },
  { label: 'prefetch 64, 4 command connections', prefetch: 64, connections: 4 },
  { label: 'prefetch 64, 8 command connections', prefetch: 64, connections: 8 },
];


function forkRole(role: string, args: string[] = [], extraExecArgv: string[] = []): ChildProcess {
  return fork(SELF, ['--role', role, ...args], { execArgv: [...process.execArgv, ...extraExecArgv] });
}

// -------------------------------------------------------------------------------------------------
// Simulator (child)

async function simMain(): Promise<void> {
  const sim = await startSimulator({ port: 0, host: '127.0.0.1', heartbeatMs: 0 });
  const conferences: Array<{ name: string; ids: number[] }> = [];
  for (let c = 0; c < CONFERENCES; c++) {
    const name = `bench-cmd-${c}`;
    const ids: number[] = [];
    for (let m = 0; m < MEMBERS; m++) ids.push(sim.engine.originate({ conference: name, callerIdNumber: `20${m}` }).member.id);
    conferences.push({ name, ids });
  }
  process.on('message', (m: Msg) => {
    if (m.type === 'stop') void sim.close().then(() => process.exit(0));
  });
  process.send!({ type: 'ready', port: sim.port, conferences });
}

// -------------------------------------------------------------------------------------------------
// confmgr (child)

async function confmgrMain(port: number, exchange: string, queue: string, prefetch: number, connections: number): Promise<void> {
  const yaml = [
    'app_name: confmgr',
    'freeswitch:',
    '  nodes:',
    `    - { name: fs1, host: 127.0.0.1, port: ${port}, password: ClueCon, command_connections: ${connections} }`,
    '  max_queued_commands: 100000',
    'amqp:',
    `  url: ${AMQP_URL}`,
    `  exchange: ${exchange}`,
    `  command_queue: ${queue}`,
    'log: { level: silent }',
  ].join('\n');
  const config = parseConfig(yaml, 'bench');
  // Socket writes (one syscall each) per peer: the cost that does not show as JavaScript in a profile.
  const writes = { amqp: 0, esl: 0 };
  const amqpPort = Number(new URL(AMQP_URL).port || 5672);
  const socketWrite = Socket.prototype.write;
  Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
    if (this.remotePort === amqpPort) writes.amqp++;
    else if (this.remotePort === port) writes.esl++;
    return (socketWrite as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof socketWrite;
  const service = await createService(config, { http: false, commandIntake: false, logger: silentLogger, instanceName: 'confmgr@bench' });
  // The executor timed: what one command costs once the intake hands it over (ESL round trip included).
  let execMs: number[] = [];
  const executor = {
    execute: async (command: ConferenceCommand): Promise<CommandResult> => {
      const t0 = performance.now();
      try {
        return await service.executor.execute(command);
      } finally {
        execMs.push(performance.now() - t0);
      }
    },
  };
  const intake = new AmqpCommandIntake({ url: AMQP_URL, executor, exchange, queue, prefetch, logger: silentLogger });
  const resynced = new Promise<void>((resolve) => service.sync.once('resynced', () => resolve()));
  await service.start();
  await intake.start();
  await resynced;
  let cpu0 = process.cpuUsage();
  process.on('message', (m: Msg) => {
    if (m.type === 'begin') {
      execMs = [];
      writes.amqp = 0;
      writes.esl = 0;
      cpu0 = process.cpuUsage();
      process.send!({ type: 'begun' });
    } else if (m.type === 'report') {
      const cpu = process.cpuUsage(cpu0);
      const sorted = [...execMs].sort((a, b) => a - b);
      process.send!({
        type: 'report',
        cpuUsPerCommand: (cpu.user + cpu.system) / Math.max(1, execMs.length),
        execP50: percentile(sorted, 0.5),
        execP99: percentile(sorted, 0.99),
        executed: execMs.length,
        amqpWrites: writes.amqp / Math.max(1, execMs.length),
        eslWrites: writes.esl / Math.max(1, execMs.length),
      });
    } else if (m.type === 'direct') {
      // The same flood straight into the executor: one command at a time per conference, all at once.
      void (async () => {
        const conferences = m.conferences as Array<{ name: string; ids: number[] }>;
        const n = m.n as number;
        const perConference = conferences.map(() => [] as ConferenceCommand[]);
        for (let i = 0; i < n; i++) {
          const c = conferences[i % conferences.length]!;
          const seq = Math.floor(i / conferences.length);
          const target = c.ids[seq % c.ids.length]!;
          perConference[i % conferences.length]!.push({ kind: Math.floor(seq / c.ids.length) % 2 === 0 ? 'mute' : 'unmute', conference: c.name, target });
        }
        let errors = 0;
        const cpu = process.cpuUsage();
        const t0 = performance.now();
        await Promise.all(
          perConference.map(async (list) => {
            for (const command of list) await service.executor.execute(command).catch(() => errors++);
          }),
        );
        const used = process.cpuUsage(cpu);
        process.send!({ type: 'direct', rate: n / ((performance.now() - t0) / 1000), cpuUs: (used.user + used.system) / n, errors });
      })();
    } else if (m.type === 'stop') {
      void (async () => {
        await intake.close(1000);
        await service.stop('bench');
        process.exit(0);
      })();
    }
  });
  process.send!({ type: 'ready' });
}

// -------------------------------------------------------------------------------------------------
// Client (orchestrator)

interface Flood {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
  outOfOrder: number;
}

async function flood(ch: amqp.Channel, exchange: string, conferences: Array<{ name: string; ids: number[] }>, n: number, pending: Map<string, (at: number, ok: boolean) => void>): Promise<Flood> {
  const lat: number[] = [];
  let errors = 0;
  let outOfOrder = 0;
  const lastSeq = new Map<string, number>();
  const runId = randomBytes(3).toString('hex');
  const t0 = performance.now();
  let last = t0;
  await new Promise<void>((resolve) => {
    let done = 0;
    let i = 0;
    const feed = (): void => {
      const end = Math.min(n, i + 500);
      for (; i < end; i++) {
        const conf = conferences[i % conferences.length]!;
        const seq = Math.floor(i / conferences.length);
        const member = conf.ids[seq % conf.ids.length]!;
        const app = Math.floor(seq / conf.ids.length) % 2 === 0 ? 'mute_participant' : 'unmute_participant';
        const id = `${runId}-${i}`;
        const sentAt = performance.now();
        pending.set(id, (at, ok) => {
          lat.push(at - sentAt);
          if (!ok) errors++;
          // Per conference, replies must come back in the order the commands were sent.
          if ((lastSeq.get(conf.name) ?? -1) > seq) outOfOrder++;
          lastSeq.set(conf.name, seq);
          last = at;
          if (++done === n) resolve();
        });
        const body = { 'Event-Category': 'conference', 'Event-Name': 'command', 'Application-Name': app, 'Conference-ID': conf.name, 'Participant-ID': member, 'Msg-ID': id };
        ch.publish(exchange, commandRoutingKey(conf.name), Buffer.from(JSON.stringify(body)), { replyTo: 'amq.rabbitmq.reply-to', correlationId: id, contentType: 'application/json' });
      }
      if (i < n) setImmediate(feed);
    };
    feed();
  });
  lat.sort((a, b) => a - b);
  return { rate: n / ((last - t0) / 1000), p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), errors, outOfOrder };
}

async function main(): Promise<void> {
  const sim = forkRole('sim', [], PROF ? ['--cpu-prof', '--cpu-prof-dir', `${PROF}/simulator`] : []);
  const simReady = await once<Msg & { port: number; conferences: Array<{ name: string; ids: number[] }> }>(sim, 'ready');
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createChannel();
  const pending = new Map<string, (at: number, ok: boolean) => void>();
  await ch.consume(
    'amq.rabbitmq.reply-to',
    (msg) => {
      if (!msg) return;
      const id = String(msg.properties.correlationId);
      const done = pending.get(id);
      pending.delete(id);
      done?.(performance.now(), (JSON.parse(msg.content.toString()) as { status: string }).status === 'success');
    },
    { noAck: true },
  );
  console.log(
    `commands bench: ${COMMANDS} Kazoo mute/unmute messages at once over ${CONFERENCES} conferences × ${MEMBERS} members ` +
      `(warm-up ${WARMUP}); load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
  );
  const rows: Array<Scenario & Flood & { cpuUs: number; execP50: number; execP99: number; direct: number; directCpuUs: number; amqpWrites: number; eslWrites: number }> = [];
  for (const s of SCENARIOS) {
    const exchange = `bench-cmd-${process.pid}-${randomBytes(3).toString('hex')}`;
    const queue = `${exchange}.commands`;
    await ch.assertExchange(exchange, 'topic', { durable: true });
    const prof = PROF ? ['--cpu-prof', '--cpu-prof-dir', `${PROF}/prefetch${s.prefetch}-conn${s.connections}`] : [];
    const child = forkRole('confmgr', [String(simReady.port), exchange, queue, String(s.prefetch), String(s.connections)], prof);
    await once(child, 'ready');
    await flood(ch, exchange, simReady.conferences, WARMUP, pending);
    child.send({ type: 'begin' });
    await once(child, 'begun');
    const r = await flood(ch, exchange, simReady.conferences, COMMANDS, pending);
    child.send({ type: 'report' });
    const rep = await once<Msg & { cpuUsPerCommand: number; execP50: number; execP99: number; amqpWrites: number; eslWrites: number }>(child, 'report');
    let direct = { rate: NaN, cpuUs: NaN };
    if (DIRECT) {
      child.send({ type: 'direct', n: COMMANDS, conferences: simReady.conferences });
      direct = await once<Msg & { rate: number; cpuUs: number; errors: number }>(child, 'direct');
    }
    child.send({ type: 'stop' });
    await new Promise((res) => child.once('exit', res));
    await ch.deleteQueue(queue).catch(() => undefined);
    await ch.deleteQueue(`${queue}.dead`).catch(() => undefined);
    for (const x of [`${exchange}.${queue}`, `${exchange}.${queue}.unrouted`]) await ch.deleteExchange(x).catch(() => undefined);
    await ch.deleteExchange(exchange).catch(() => undefined);
    rows.push({ ...s, ...r, cpuUs: rep.cpuUsPerCommand, execP50: rep.execP50, execP99: rep.execP99, direct: direct.rate, directCpuUs: direct.cpuUs, amqpWrites: rep.amqpWrites, eslWrites: rep.eslWrites });
    console.log(`  ${s.label}: ${r.rate.toFixed(0)} commands/s (direct ${direct.rate.toFixed(0)}/s)`);
  }
  console.log('');
  console.log('| settings | commands/s | p50 ms | p99 ms | executor p50 / p99 ms | confmgr CPU µs/command | socket writes/command AMQP, ESL | direct (no AMQP): commands/s, CPU µs/command | errors | out of order |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(
      `| ${r.label} | ${r.rate.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.execP50.toFixed(2)} / ${r.execP99.toFixed(2)} | ${r.cpuUs.toFixed(0)} | ${r.amqpWrites.toFixed(2)}, ${r.eslWrites.toFixed(2)} | ${r.direct.toFixed(0)}, ${r.directCpuUs.toFixed(0)} | ${r.errors} | ${r.outOfOrder} |`,
    );
  }
  sim.send({ type: 'stop' });
  await conn.close();
}

const role = process.argv.includes('--role') ? process.argv[process.argv.indexOf('--role') + 1] : undefined;
const rest = process.argv.slice(process.argv.indexOf('--role') + 2);
if (role === 'sim') void simMain();
else if (role === 'confmgr') void confmgrMain(Number(rest[0]), rest[1]!, rest[2]!, Number(rest[3]), Number(rest[4]));
else
  void main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
