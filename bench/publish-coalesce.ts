/**
 * What write coalescing (`amqp.write_coalesce_ms`) saves when events arrive one per socket read, as a
 * FreeSWITCH at a steady rate sends them: the AmqpPublisher alone, fed by a child process that writes one
 * byte per event on a local TCP socket at a steady rate (one publish per byte read), into a durable queue
 * drained by a consumer (own process), persistent, confirms; for each setting, write system calls per
 * event, this process's CPU per event (socket reads included, as confmgr's ESL reads would be) and
 * RabbitMQ's (beam.smp, from /proc), and the publish → receipt latency.
 *
 * Usage: npm run bench -- publish-coalesce [--rate 5000] [--seconds 5] [--settings 0,2] [--runs 2]
 * Linux only (it reads /proc).
 */
import { execSync, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { AmqpPublisher } from '../src/bus/publisher.js';
import { AMQP_URL, arg, awaitCount, payload, resetConsumer, strArg, withQueue } from './_bus-common.js';

const rate = arg('rate', 5000);
const seconds = arg('seconds', 5);
const runs = arg('runs', 2);
const settings = (strArg('settings') ?? '0,2').split(',').map(Number);
const n = rate * seconds;

const writes = (): number => Number(/syscw: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
const beamPid = execSync('pgrep -x beam.smp | head -1').toString().trim();
/** RabbitMQ's CPU so far, µs (utime + stime, in clock ticks of 10 ms). */
const brokerCpuUs = (): number => {
  const f = readFileSync(`/proc/${beamPid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
};
const cpuUs = (): number => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

/** Child role: connects to `port` and writes one byte per event at `rate`, busy-waiting on the clock. */
async function feederMain(port: number): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((r) => socket.once('connect', r));
  const one = Buffer.from([1]);
  const t0 = performance.now();
  let i = 0;
  const step = (): void => {
    const due = Math.min(n, Math.floor(((performance.now() - t0) / 1000) * rate));
    while (i < due) {
      socket.write(one);
      i++;
    }
    if (i >= n) return void socket.end();
    setImmediate(step);
  };
  step();
}

/** Calls `each(i)` once per byte the feeder child sends (n in all), in the turn that reads it. */
async function fed(each: (i: number) => void): Promise<void> {
  let i = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const server = createServer((socket: Socket) => {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      for (let k = 0; k < chunk.length; k++) each(i++);
      if (i >= n) done();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const child = fork(process.argv[1]!, ['--role', 'feeder', '--port', String(port), '--rate', String(rate), '--seconds', String(seconds)], { execArgv: process.execArgv });
  await finished;
  child.kill();
  server.close();
}

async function main(): Promise<void> {
  if (!beamPid) throw new Error('no beam.smp process: this bench reads RabbitMQ’s CPU from /proc and needs it on this machine');
  const c0 = cpuUs();
  await fed(() => undefined);
  const readUs = (cpuUs() - c0) / n;
  console.log(`publish-coalesce bench: ${n} events at ${rate}/s, one per socket read, ~1.2 KB each, persistent, confirms, durable queue + consumer; the socket reads alone cost ${readUs.toFixed(1)} µs/event (included below)`);
  console.log('| write_coalesce_ms | run | writes per event | confmgr CPU µs/event | RabbitMQ CPU µs/event | p50 / p99 ms |');
  console.log('| ---: | ---: | ---: | ---: | ---: | --- |');
  const exchange = `bench-coalesce-${process.pid}`;
  await withQueue(exchange, async (_queue, consumer) => {
    for (let run = 1; run <= runs; run++) {
      for (const ms of settings) {
        await resetConsumer(consumer);
        const p = new AmqpPublisher({ url: AMQP_URL, exchange, writeCoalesceMs: ms });
        await p.start();
        const w0 = writes();
        const cpu0 = cpuUs();
        const b0 = brokerCpuUs();
        await fed((i) => p.publish({ event: 'start-talking', conferenceId: 'room', callId: `c${i % 10}`, timestampUs: i, payload: payload(i, 'room', `c${i % 10}`) }));
        await p.flush(60_000);
        const report = await awaitCount(consumer, n);
        const row = [
          ms,
          run,
          ((writes() - w0) / n).toFixed(2),
          ((cpuUs() - cpu0) / n).toFixed(1),
          ((brokerCpuUs() - b0) / n).toFixed(1),
          `${report.p50.toFixed(1)} / ${report.p99.toFixed(1)}`,
        ];
        console.log(`| ${row.join(' | ')} |`);
        await p.close(1000);
      }
    }
  });
}

if (strArg('role') === 'feeder') await feederMain(arg('port', 0));
else await main();
