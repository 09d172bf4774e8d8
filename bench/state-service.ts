/**
 * `npm run bench -- state-service [--conferences 1000] [--participants 10] [--churn 0.05] [--paged] [--node-flags "--optimize-for-size"]`
 *
 * The whole confmgr process (`confmgr start`: ESL pool, registry, resync, AMQP publisher and command
 * intake on the real RabbitMQ at AMQP_URL, REST/WebSocket API, SQLite storage, metrics) with N
 * conferences × M participants on the simulator (bench/state.ts's server, in a child process). Printed,
 * from the kernel (VmRSS / VmHWM of the service process): the RSS of the same process idle (no node
 * reachable), its peak over a cold start (every participant learnt, every synthesized event confirmed by
 * RabbitMQ) and one reconnect with churn, and its RSS once settled. Goal (issue 6): < 100 MB.
 * The service runs as an esbuild bundle of src/cli.ts under plain node (as a build would run it).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { AMQP_URL, arg, strArg } from './_bus-common.js';

const CONFERENCES = arg('conferences', 1000);
const PARTICIPANTS = arg('participants', 10);
const CHURN = arg('churn', 0.05);
const NODE_FLAGS = (strArg('node-flags') ?? '').split(/\s+/).filter((f) => f.startsWith('--'));
const LISTING = process.argv.includes('--paged') ? 'paged' : 'whole';
const GOAL = 100 * 1024 * 1024;

const here = dirname(fileURLToPath(import.meta.url));
const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MB`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type ServerMsg = { port?: number; replyBytes?: number; changed?: number; participants?: number };

/** VmRSS and VmHWM of a process, in bytes. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function bundleCli(): Promise<string> {
  const { build } = await import('esbuild');
  // Inside the repo so the bundle's external packages resolve from node_modules.
  const outfile = join(here, '..', 'node_modules', '.cache', 'confmgr-bench', 'cli.mjs');
  await build({ entryPoints: [join(here, '..', 'src', 'cli.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile, logLevel: 'error' });
  return outfile;
}

interface Names {
  exchange: string;
  commandQueue: string;
}

function writeConfig(dir: string, eslPort: number, httpPort: number, names: Names): string {
  const file = join(dir, 'confmgr.yaml');
  writeFileSync(
    file,
    [
      'freeswitch:',
      '  nodes:',
      `    - { name: fs1, host: 127.0.0.1, port: ${eslPort}, password: ClueCon }`,
      '  reconnect: { base_ms: 20, cap_ms: 200 }',
      '  api_timeout_ms: 30000',
      `  resync_listing: ${LISTING}`,
      'amqp:',
      '  url_env: CONFMGR_BENCH_AMQP_URL',
      `  exchange: ${names.exchange}`,
      `  command_queue: ${names.commandQueue}`,
      'http:',
      `  listen: 127.0.0.1:${httpPort}`,
      '  tokens: [{ token: bench-token-0123456789abcdef, account_id: bench }]',
      '  default_account_id: bench',
      `storage: { path: ${JSON.stringify(join(dir, 'confmgr.sqlite'))} }`,
      'log: { level: info }',
      '',
    ].join('\n'),
  );
  return file;
}

interface ServiceLog {
  /** `conference state resynced` lines (ResyncResult) and when they were logged. */
  resyncs: Array<{ time: number; totalMs: number; synthesized: number }>;
  /** When the service logged `node down`. */
  downs: number[];
}

/** The service's JSON log lines (stdout), read for its own resync timings. */
function readLog(child: ChildProcess): ServiceLog {
  const log: ServiceLog = { resyncs: [], downs: [] };
  let rest = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (entry.msg === 'conference state resynced') {
        log.resyncs.push({ time: Number(entry.time), totalMs: Number(entry.totalMs), synthesized: Number(entry.synthesized) });
      } else if (entry.msg === 'node down') log.downs.push(Number(entry.time));
    }
  });
  return log;
}

function startService(cli: string, config: string): ChildProcess {
  const child = spawn(process.execPath, [...NODE_FLAGS, cli, 'start', '--config', config], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, CONFMGR_BENCH_AMQP_URL: AMQP_URL },
  });
  return child;
}

async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000).then(() => child.kill('SIGKILL'))]);
}

/** The service's own metrics: participants known, events confirmed by RabbitMQ, node up. */
async function scrape(httpPort: number): Promise<{ participants: number; published: number; up: boolean } | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const value = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
    let published = 0;
    for (const m of text.matchAll(/^confmgr_events_published_total\{[^}]*\} (\d+)/gm)) published += Number(m[1]);
    return {
      participants: value(/^confmgr_participants (\d+)/m),
      published,
      up: /^confmgr_freeswitch_node_state\{node="fs1",state="up"\} 1/m.test(text),
    };
  } catch {
    return undefined;
  }
}

/** Polls until `done`; returns the time it took. (The kernel keeps the peak: VmHWM, read afterwards.) */
async function until(what: string, httpPort: number, done: (m: NonNullable<Awaited<ReturnType<typeof scrape>>>) => boolean, timeoutMs = 120_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const m = await scrape(httpPort);
    if (m && done(m)) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(m)})`);
    await sleep(50);
  }
}

/** Events confirmed so far stop growing for 1.5 s (the burst is over); returns their count. */
async function settled(httpPort: number): Promise<number> {
  let last = -1;
  let lastAt = performance.now();
  const started = performance.now();
  for (;;) {
    const n = (await scrape(httpPort))?.published ?? -1;
    if (n !== last) {
      last = n;
      lastAt = performance.now();
    } else if (performance.now() - lastAt > 1500 || performance.now() - started > 120_000) return n;
    await sleep(20);
  }
}

async function main(): Promise<void> {
  try {
    const c = await amqp.connect(AMQP_URL);
    await c.close();
  } catch (err) {
    console.log(`state-service bench skipped: no RabbitMQ at AMQP_URL (${(err as Error).message}); start one (scripts/ensure-rabbitmq.sh)`);
    return;
  }
  const cli = await bundleCli();
  const dir = mkdtempSync(join(tmpdir(), 'confmgr-bench-svc-'));
  const names: Names = { exchange: `confmgr-bench-state-${process.pid}`, commandQueue: `confmgr-bench-state-commands-${process.pid}` };
  const server = fork(join(here, 'state.ts'), ['--server', '--conferences', String(CONFERENCES), '--participants', String(PARTICIPANTS), '--churn', String(CHURN)], {
    execArgv: process.execArgv,
  });
  const ask = (cmd: string): Promise<ServerMsg> =>
    new Promise((resolve) => {
      server.once('message', (m) => resolve(m as ServerMsg));
      server.send({ cmd });
    });
  const services: ChildProcess[] = [];
  try {
    const hello = await new Promise<ServerMsg>((resolve) => server.once('message', (m) => resolve(m as ServerMsg)));
    console.log(
      `state-service bench: the whole confmgr process, ${CONFERENCES} conferences × ${PARTICIPANTS} participants ` +
        `(json_list ${mb(hello.replyBytes!)}), churn ${CHURN * 100}%, resync_listing ${LISTING}, node ${process.version}${NODE_FLAGS.length ? ` ${NODE_FLAGS.join(' ')}` : ''}`,
    );

    // 1. The same process with nothing to hold: its node is unreachable (connection refused, retrying).
    const idlePort = await freePort();
    const idleHttp = await freePort();
    const idle = startService(cli, writeConfig(dir, idlePort, idleHttp, names));
    services.push(idle);
    idle.stdout!.resume();
    await until('the idle service to answer', idleHttp, () => true, 30_000);
    await sleep(3000);
    const idleMem = memoryOf(idle.pid!);
    await stopService(idle);
    console.log(`idle (no node reachable): RSS ${mb(idleMem.rss)}, peak ${mb(idleMem.hwm)}`);

    // 2. Cold start against the full node: every participant learnt, every synthesized event confirmed.
    const http = await freePort();
    const t0 = performance.now();
    const svc = startService(cli, writeConfig(dir, hello.port!, http, names));
    services.push(svc);
    const log = readLog(svc);
    const total = CONFERENCES * PARTICIPANTS;
    await until('every participant in the registry', http, (m) => m.participants === total);
    const learntMs = performance.now() - t0;
    const confirmed = await settled(http);
    const cold = memoryOf(svc.pid!);
    const coldResync = log.resyncs[0];
    console.log(
      `cold start: ${total} participants known ${learntMs.toFixed(0)} ms after spawn (resync ${coldResync?.totalMs.toFixed(0)} ms by its own log); ` +
        `${confirmed} events confirmed by RabbitMQ; RSS now ${mb(cold.rss)}, peak so far ${mb(cold.hwm)}`,
    );

    // 3. A reconnect with churn: the node drops every socket, changes CHURN of the participants.
    const before = (await scrape(http))!;
    const { changed, participants } = await ask('drop-and-churn');
    await until('the registry to match the node again', http, (m) => m.up && m.participants === participants && m.published > before.published);
    const after = await settled(http);
    await sleep(2000);
    const warm = memoryOf(svc.pid!);
    const down = log.downs.at(-1);
    const resynced = log.resyncs.at(-1);
    const warmText =
      down !== undefined && resynced !== undefined && resynced.time >= down
        ? `node down → resynced ${resynced.time - down} ms (resync ${resynced.totalMs.toFixed(0)} ms, ${resynced.synthesized} synthesized events)`
        : 'resync not seen in the log';
    console.log(`reconnect: ${changed} changes; ${warmText}; ${after - before.published} more events confirmed; RSS now ${mb(warm.rss)}`);
    console.log('');
    console.log(
      `whole-process RSS: idle ${mb(idleMem.rss)}; with ${total} participants peak ${mb(warm.hwm)}, settled ${mb(warm.rss)} ` +
        `(goal < 100 MB: ${warm.hwm < GOAL ? 'met' : 'NOT met'}); participants' share of the peak: +${mb(warm.hwm - idleMem.rss)} over idle`,
    );
    await stopService(svc);
  } finally {
    for (const s of services) await stopService(s);
    server.send({ cmd: 'exit' });
    rmSync(dir, { recursive: true, force: true });
    try {
      const c = await amqp.connect(AMQP_URL);
      const ch = await c.createChannel();
      await ch.deleteQueue(names.commandQueue);
      await ch.deleteExchange(names.exchange);
      await c.close();
    } catch (err) {
      console.log(`cleanup: could not delete ${names.exchange} / ${names.commandQueue}: ${(err as Error).message}`);
    }
  }
}

await main();
