/**
 * `npm run bench -- state-service [--conferences 1000] [--participants 10] [--churn 0.05] [--paged] [--rest-s 15] [--profiles launcher,node,small] [--node-flags "…"] [--heap-snapshot]`
 *
 * The whole confmgr process (`confmgr start`: ESL pool, registry, resync, AMQP publisher and command
 * intake on the real RabbitMQ at AMQP_URL, REST/WebSocket API, SQLite storage, metrics) with N
 * conferences × M participants on the simulator (bench/state.ts's server, in a child process). Printed,
 * from the kernel (VmRSS / VmHWM of the service process): the RSS of the same process idle (no node
 * reachable), its peak over a cold start (every participant learnt, every synthesized event confirmed by
 * RabbitMQ) and one reconnect with churn, its RSS right after the reconnect, and after `rest-s` seconds
 * at rest (V8's memory reducer hands memory back ~10 s after a burst), with where that memory is
 * (file-backed, glibc's brk heap, anonymous). Goal (issue 6): < 100 MB. Each runtime profile is a fresh
 * process, side by side in one run:
 *   launcher  `bin/confmgr start`, the installed command and the Docker entrypoint, with its defaults
 *             (glibc arena and trim settings, V8 heap limits: see bin/confmgr);
 *   node      `node dist/cli.js start`: node's and glibc's own defaults, the baseline;
 *   small     the launcher plus `--optimize-for-size` (V8 favours memory over speed; see README).
 * `--node-flags` adds node/V8 flags to every profile (the launcher's CONFMGR_NODE_FLAGS; a V8 heap flag
 * given there replaces the launcher's default for it). `--heap-snapshot` writes a V8 heap snapshot of
 * each service at rest to the working directory, for Chrome DevTools' Memory tab.
 * The service runs compiled by tsc, as `npm run build` and the Docker image run it.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { AMQP_URL, arg, strArg } from './_bus-common.js';

const CONFERENCES = arg('conferences', 1000);
const PARTICIPANTS = arg('participants', 10);
const CHURN = arg('churn', 0.05);
const HEAP_SNAPSHOT = process.argv.includes('--heap-snapshot');
const NODE_FLAGS = [
  ...(strArg('node-flags') ?? '').split(/\s+/).filter((f) => f.startsWith('--')),
  ...(HEAP_SNAPSHOT ? ['--heapsnapshot-signal=SIGUSR2'] : []),
];
const LISTING = process.argv.includes('--paged') ? 'paged' : 'whole';
const REST_S = arg('rest-s', 15);

interface Profile {
  key: string;
  label: string;
  /** Started through bin/confmgr (the installed command, with its runtime defaults) or as `node cli.js`. */
  launcher: boolean;
  flags: string[];
}
const ALL_PROFILES: Profile[] = [
  { key: 'launcher', label: 'confmgr (the launcher\'s defaults)', launcher: true, flags: [] },
  { key: 'node', label: 'plain node (node\'s defaults)', launcher: false, flags: [] },
  { key: 'small', label: 'confmgr + --optimize-for-size', launcher: true, flags: ['--optimize-for-size'] },
];
const PROFILES = (strArg('profiles') ?? 'launcher,node,small').split(',').map((k) => {
  const p = ALL_PROFILES.find((x) => x.key === k.trim());
  if (!p) throw new Error(`unknown profile ${k} (known: ${ALL_PROFILES.map((x) => x.key).join(', ')})`);
  return p;
});
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

/** Where the resident memory is, from /proc/<pid>/smaps: file-backed (the node binary and shared
 * libraries), the brk heap (glibc's main arena), and anonymous mappings (V8's heap pages, other malloc
 * arenas, thread stacks). */
function breakdownOf(pid: number): string {
  const smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  let file = 0;
  let brk = 0;
  let anon = 0;
  let name = '';
  for (const line of smaps.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      name = head[1]!;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (!rss) continue;
    const b = Number(rss[1]) * 1024;
    if (name === '[heap]') brk += b;
    else if (name === '' || name.startsWith('[')) anon += b;
    else file += b;
  }
  return `file-backed ${mb(file)}, malloc brk heap ${mb(brk)}, anonymous ${mb(anon)}`;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Compiles src/ with the build's tsconfig (what `npm run build` and the Docker image run): separate ES
 * modules, so the service's lazy imports (PostgreSQL, the demo, the simulator) stay unloaded, as in production. */
async function buildCli(): Promise<{ cli: string; launcher: string }> {
  // Inside the repo so the compiled modules resolve their packages from node_modules. Laid out like the
  // package (bin/, dist/, package.json) so bin/confmgr runs this build.
  const root = join(here, '..', 'node_modules', '.cache', 'confmgr-bench');
  const outDir = join(root, 'dist');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'bin'), { recursive: true });
  for (const f of ['confmgr', 'confmgr.js']) copyFileSync(join(here, '..', 'bin', f), join(root, 'bin', f));
  chmodSync(join(root, 'bin', 'confmgr'), 0o755);
  copyFileSync(join(here, '..', 'package.json'), join(root, 'package.json'));
  const tsc = join(here, '..', 'node_modules', '.bin', 'tsc');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(tsc, ['-p', join(here, '..', 'tsconfig.build.json'), '--outDir', outDir, '--sourceMap', 'false'], { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tsc exited with ${code}`))));
  });
  return { cli: join(outDir, 'cli.js'), launcher: join(root, 'bin', 'confmgr') };
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

function startService(build: Build, config: string, profile: Profile): ChildProcess {
  const env = { ...process.env, CONFMGR_BENCH_AMQP_URL: AMQP_URL };
  const flags = [...profile.flags, ...NODE_FLAGS];
  const args = ['start', '--config', config];
  // The launcher puts CONFMGR_NODE_FLAGS on node's command line; it execs node, so the pid is the service's.
  return profile.launcher
    ? spawn(build.launcher, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...env, CONFMGR_NODE_FLAGS: flags.join(' ') } })
    : spawn(process.execPath, [...flags, build.cli, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env });
}
type Build = Awaited<ReturnType<typeof buildCli>>;

async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000).then(() => child.kill('SIGKILL'))]);
}

/** Asks the service (started with --heapsnapshot-signal=SIGUSR2) for a heap snapshot; waits until it is written. */
async function heapSnapshot(child: ChildProcess): Promise<string> {
  const before = new Set(readdirSync('.'));
  child.kill('SIGUSR2');
  for (let lastSize = -1; ; await sleep(500)) {
    const file = readdirSync('.').find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (file === undefined) continue;
    const size = statSync(file).size;
    if (size > 0 && size === lastSize) return join(process.cwd(), file);
    lastSize = size;
  }
}

/** The service's own metrics: participants known, events confirmed by RabbitMQ, node up. */
async function scrape(httpPort: number): Promise<{ participants: number; published: number; up: boolean } | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const value = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
    let published = 0;
    for (const m of text.matchAll(/^confmgr_events_published_total\{[^}]*\} (\d+)/gm)) published += Number(m[1]);
    noteHeap({
      heapTotal: value(/^confmgr_nodejs_heap_size_total_bytes (\d+)/m),
      heapUsed: value(/^confmgr_nodejs_heap_size_used_bytes (\d+)/m),
      external: value(/^confmgr_nodejs_external_memory_bytes (\d+)/m),
    });
    return {
      participants: value(/^confmgr_participants (\d+)/m),
      published,
      up: /^confmgr_freeswitch_node_state\{node="fs1",state="up"\} 1/m.test(text),
    };
  } catch {
    return undefined;
  }
}

interface HeapSample {
  heapTotal: number;
  heapUsed: number;
  external: number;
}
/** The largest V8 figures seen by any scrape (prom-client's default metrics, updated on each scrape). */
const heapPeak: HeapSample = { heapTotal: 0, heapUsed: 0, external: 0 };
let heapLast: HeapSample = { ...heapPeak };
function noteHeap(h: HeapSample): void {
  heapLast = h;
  for (const k of Object.keys(heapPeak) as Array<keyof HeapSample>) if (h[k] > heapPeak[k]) heapPeak[k] = h[k];
}
const heapText = (h: HeapSample): string => `V8 heap ${mb(h.heapTotal)} (used ${mb(h.heapUsed)}), external ${mb(h.external)}`;

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

interface ProfileResult {
  profile: Profile;
  idle: number;
  peak: number;
  afterReconnect: number;
  rested: number;
  coldResyncMs: number | undefined;
  reconnectMs: number | undefined;
  participantsAfter: number;
}

interface ProfileRun {
  build: Build;
  dir: string;
  names: Names;
  profile: Profile;
  /** The simulator's ESL port. */
  port: number;
  /** Participants the simulator holds now. */
  expected: number;
  ask: (cmd: string) => Promise<ServerMsg>;
  services: ChildProcess[];
}

async function runProfile({ build, dir, names, profile, port, expected, ask, services }: ProfileRun): Promise<ProfileResult> {
  // 1. The same process with nothing to hold: its node is unreachable (connection refused, retrying).
  const idlePort = await freePort();
  const idleHttp = await freePort();
  const idle = startService(build, writeConfig(dir, idlePort, idleHttp, names), profile);
  services.push(idle);
  idle.stdout!.resume();
  await until('the idle service to answer', idleHttp, () => true, 30_000);
  await sleep(3000);
  await scrape(idleHttp);
  const idleMem = memoryOf(idle.pid!);
  const idleHeap = heapLast;
  const idleBreakdown = breakdownOf(idle.pid!);
  await stopService(idle);
  console.log(`idle (no node reachable): RSS ${mb(idleMem.rss)}, peak ${mb(idleMem.hwm)}; ${heapText(idleHeap)}; ${idleBreakdown}`);
  Object.assign(heapPeak, { heapTotal: 0, heapUsed: 0, external: 0 });

  // 2. Cold start against the full node: every participant learnt, every synthesized event confirmed.
  const http = await freePort();
  const t0 = performance.now();
  const svc = startService(build, writeConfig(dir, port, http, names), profile);
  services.push(svc);
  const log = readLog(svc);
  await until('every participant in the registry', http, (m) => m.participants === expected);
  const learntMs = performance.now() - t0;
  const confirmed = await settled(http);
  const cold = memoryOf(svc.pid!);
  const coldResync = log.resyncs[0];
  console.log(
    `cold start: ${expected} participants known ${learntMs.toFixed(0)} ms after spawn (resync ${coldResync?.totalMs.toFixed(0)} ms by its own log); ` +
      `${confirmed} events confirmed by RabbitMQ; RSS now ${mb(cold.rss)}, peak so far ${mb(cold.hwm)}`,
  );

  // 3. A reconnect with churn: the node drops every socket, changes CHURN of the participants.
  const before = (await scrape(http))!;
  const { changed, participants } = await ask('drop-and-churn');
  await until('the registry to match the node again', http, (m) => m.up && m.participants === participants && m.published > before.published);
  const after = await settled(http);
  await sleep(2000);
  await scrape(http);
  const warm = memoryOf(svc.pid!);
  const warmHeap = heapLast;
  const down = log.downs.at(-1);
  const resynced = log.resyncs.at(-1);
  const reconnectMs = down !== undefined && resynced !== undefined && resynced.time >= down ? resynced.time - down : undefined;
  const warmText =
    reconnectMs !== undefined
      ? `node down → resynced ${reconnectMs} ms (resync ${resynced!.totalMs.toFixed(0)} ms, ${resynced!.synthesized} synthesized events)`
      : 'resync not seen in the log';
  console.log(`reconnect: ${changed} changes; ${warmText}; ${after - before.published} more events confirmed; RSS now ${mb(warm.rss)}`);
  console.log(`V8 after the reconnect: ${heapText(warmHeap)}; largest seen while polling: ${heapText(heapPeak)}`);
  // At rest V8's memory reducer runs full GCs and hands pages back; how far RSS falls, and when.
  const restTrail: string[] = [];
  for (let t = 0; t < REST_S; t += 5) {
    await sleep(5000);
    restTrail.push(`${t + 5}s ${mb(memoryOf(svc.pid!).rss)}`);
  }
  await scrape(http);
  const rested = memoryOf(svc.pid!);
  if (REST_S > 0) console.log(`at rest: RSS ${restTrail.join(', ')}; ${heapText(heapLast)}; ${breakdownOf(svc.pid!)}`);
  if (HEAP_SNAPSHOT) console.log(`heap snapshot: ${await heapSnapshot(svc)}`);
  await stopService(svc);
  return {
    profile,
    idle: idleMem.rss,
    peak: rested.hwm,
    afterReconnect: warm.rss,
    rested: rested.rss,
    coldResyncMs: coldResync?.totalMs,
    reconnectMs,
    participantsAfter: participants!,
  };
}

async function main(): Promise<void> {
  try {
    const c = await amqp.connect(AMQP_URL);
    await c.close();
  } catch (err) {
    console.log(`state-service bench skipped: no RabbitMQ at AMQP_URL (${(err as Error).message}); start one (scripts/ensure-rabbitmq.sh)`);
    return;
  }
  const build = await buildCli();
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

    const results: ProfileResult[] = [];
    let expected = CONFERENCES * PARTICIPANTS;
    for (const profile of PROFILES) {
      console.log(`\n— ${profile.label}`);
      const r = await runProfile({ build, dir, names, profile, port: hello.port!, expected, ask, services });
      expected = r.participantsAfter;
      results.push(r);
    }
    console.log('');
    console.log('| profile | idle RSS | peak RSS (cold start + reconnect) | RSS after reconnect | RSS at rest | cold resync | node down → resynced |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const r of results) {
      console.log(
        `| ${r.profile.label} | ${mb(r.idle)} | ${mb(r.peak)} | ${mb(r.afterReconnect)} | ${REST_S > 0 ? `${mb(r.rested)} (${REST_S} s)` : '—'} | ` +
          `${r.coldResyncMs?.toFixed(0) ?? '?'} ms | ${r.reconnectMs ?? '?'} ms |`,
      );
    }
    const best = Math.min(...results.map((r) => r.peak));
    console.log(`goal: whole process < 100 MB — peak ${best < GOAL ? 'met' : 'NOT met'} by the best profile (${mb(best)}); resync after a reconnect < 1 s — ${results.every((r) => r.reconnectMs !== undefined && r.reconnectMs < 1000) ? 'met' : 'NOT met'} in every profile`);
  } finally {
    for (const s of services) await stopService(s);
    server.send({ cmd: 'exit' });
    rmSync(dir, { recursive: true, force: true });
    try {
      const c = await amqp.connect(AMQP_URL);
      const ch = await c.createChannel();
      await ch.deleteQueue(names.commandQueue);
      for (const x of [`${names.exchange}.${names.commandQueue}`, `${names.exchange}.${names.commandQueue}.unrouted`]) await ch.deleteExchange(x);
      await ch.deleteExchange(names.exchange);
      await c.close();
    } catch (err) {
      console.log(`cleanup: could not delete ${names.exchange} / ${names.commandQueue}: ${(err as Error).message}`);
    }
  }
}

await main();
