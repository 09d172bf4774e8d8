/**
 * The whole event path, end to end, each part in its OWN process so none steals another's event loop:
 *
 *   simulator  (child)  real ESL over TCP, flood of start/stop-talking from 10 conferences × 10 members
 *   confmgr    (child)  src/app/service.ts's createService (EslCluster → parseConferenceEvent → ConferenceStateSync
 *                       → toOutboundEvent → AmqpPublisher + event hub, records, prom-client metrics), in two variants:
 *                         narrow  no HTTP, no command intake, silent logger, SQLite in memory: the event path alone
 *                         whole   the service as `confmgr start` runs it: HTTP API + WebSocket, AMQP command intake,
 *                                 SQLite file, info logging (JSON lines to a file), default process metrics, and
 *                                 bin/confmgr's runtime profile (its V8 flags and glibc malloc settings)
 *                       a fresh process per scenario (clean heap, its own peak RSS, its own CPU profile)
 *   ws client  (child)  whole variant only: one WebSocket subscribed to the bench account's events, counting them
 *   consumer   (child)  one durable queue bound to `conference.event.#`, prefetch 2000, ack per message
 *   ceiling    (child)  raw amqplib ConfirmChannel: the SAME bodies confmgr produced (captured in a warm-up),
 *                       same routing keys, persistent, same 5000 window, same queue setup, same consumer
 *   orchestrator (this process) only forks, coordinates and prints.
 *
 * Every row's events/s is measured the same way: messages received by the consumer divided by the time
 * between its first and last receipt (for the no-broker row: events reaching the sink). Latency is
 * FreeSWITCH's Event-Date-Timestamp (raw ceiling: publish time) → consumer receipt; the bench appends it
 * as `ts_us` to each payload so the consumer can read it cheaply (bodies are ~25 bytes bigger than in
 * production; the ceiling publishes exactly these bodies). RSS is the peak (maxRSS) of the
 * process doing the publishing (confmgr, or the raw publisher for the ceiling rows).
 *
 * The broker ceiling is measured before AND after the confmgr scenarios; ratios use their mean.
 *
 * Usage: npm run bench -- pipeline [--rate 30000] [--seconds 4] [--sink-rate <rate>]
 *                                  [--latency-rate 5000] [--latency-seconds 5] [--prof DIR]
 *                                  [--variants narrow,whole] [--no-sink]
 *   --variants   which confmgr variants to run (default both, side by side)
 *   --no-sink    skip the counting-sink rows
 *   --no-broker  only the counting-sink rows, no broker needed (profiling the event path)
 *   --whole-tsx  run the whole variant under tsx like the narrow one (default: compiled by tsc into a
 *                temporary folder first and run by plain node, as `confmgr start` runs dist/)
 *   --trace      confmgr children print their publisher's confirmed/s, buffer, window and CPU every second
 *   --semi-space MB  run confmgr with `node --max-semi-space-size=MB` (V8 young generation; default V8's)
 *   --node-flags "…"  more node/V8 flags for the confmgr children (e.g. "--optimize-for-size")
 *   --prof DIR   run every confmgr child with `node --cpu-prof` (profiles in DIR/confmgr-<variant>-<sink>-<rate>/)
 *   --coalesce-ms N  the confmgr children's amqp.write_coalesce_ms (default: the config's default)
 *   --alloc-prof DIR  sample the allocations of every confmgr child over the measured window, collected
 *                objects included (DIR/confmgr-<variant>-<sink>-<rate>.heapprofile, for Chrome DevTools)
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { createRequire } from 'node:module';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import amqp from 'amqplib';
import WebSocket from 'ws';
import { fileURLToPath } from 'node:url';
import { Session } from 'node:inspector/promises';
import { createService } from '../src/app/service.js';
import { parseConfig } from '../src/config/index.js';
import { eventRoutingKey } from '../src/bus/routing.js';
import type { OutboundEvent } from '../src/conference/types.js';
import { serializedPayload } from '../src/conference/serialized-payload.js';
import { createLogger, silentLogger } from '../src/util/log.js';
import { startSimulator } from '../src/simulator/index.js';
import { AMQP_URL, arg, awaitCount, percentile, rawCeiling, resetConsumer, strArg, withQueue, type ConsumerReport } from './_bus-common.js';
import { once, type Msg } from './_child-ipc.js';

const CONFERENCES = 10;
const MEMBERS = 10;
const SELF = fileURLToPath(import.meta.url);


type Variant = 'narrow' | 'whole';

function forkRole(
  role: string,
  args: string[] = [],
  extraExecArgv: string[] = [],
  more: { env?: NodeJS.ProcessEnv; stdoutFd?: number; compiled?: string } = {},
): ChildProcess {
  // Compiled: plain node on the JavaScript tsc made, without tsx's loader (its own thread and heap).
  return fork(more.compiled ?? SELF, ['--role', role, ...args], {
    execArgv: more.compiled ? extraExecArgv : [...process.execArgv, ...extraExecArgv],
    ...(more.env ? { env: more.env } : {}),
    ...(more.stdoutFd !== undefined ? { stdio: ['ignore', more.stdoutFd, 'inherit', 'ipc'] } : {}),
  });
}

/**
 * This bench and the sources it imports compiled by tsc into a temporary folder (as `npm run build`
 * compiles src/ for `confmgr start`), for the whole variant; returns the compiled bench's path.
 */
function compileBench(): { file: string; dir: string } {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'confmgr-bench-pipeline-'));
  const tsconfig = join(dir, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: { noEmit: false, rootDir: root, outDir: join(dir, 'out'), sourceMap: false, declaration: false, incremental: false, typeRoots: [join(root, 'node_modules', '@types')] },
      include: [],
      files: [SELF],
    }),
  );
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', tsconfig], { stdio: 'inherit' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`tsc failed (${r.status}) compiling the bench for the whole variant`);
  }
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(join(dir, 'out', 'package.json'), JSON.stringify({ type: 'module', version: pkg.version }));
  symlinkSync(join(root, 'node_modules'), join(dir, 'out', 'node_modules'));
  return { file: join(dir, 'out', 'bench', 'pipeline.js'), dir };
}

/** The compiled bench the whole variant's confmgr runs from (set by main unless --whole-tsx). */
let compiled: string | undefined;

/** bin/confmgr's runtime profile (the whole variant runs under it, as `confmgr start` does). */
const LAUNCHER_FLAGS = ['--max-old-space-size=1024', '--max-semi-space-size=8'];
const LAUNCHER_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_TRIM_THRESHOLD_: '131072', MALLOC_MMAP_THRESHOLD_: '33554432' };

/** The whole variant's API token and account (its WebSocket client subscribes with them). */
const WS_TOKEN = 'bench-pipeline-websocket-token';
const WS_ACCOUNT = 'bench';

/** This process's read and write system calls so far (Linux /proc/self/io; zeros elsewhere). */
function syscalls(): { reads: number; writes: number } {
  try {
    const io = readFileSync('/proc/self/io', 'utf8');
    return { reads: Number(/syscr: (\d+)/.exec(io)?.[1] ?? 0), writes: Number(/syscw: (\d+)/.exec(io)?.[1] ?? 0) };
  } catch {
    return { reads: 0, writes: 0 };
  }
}

// -------------------------------------------------------------------------------------------------
// CPU accounting from /proc (Linux): who used the two cores during a scenario.

const CLK_TCK = 100;

/** utime and stime (s) of a process (/proc/PID/stat fields 14, 15; NaN elsewhere). */
function cpuTimes(pid: number | undefined): { user: number; sys: number } {
  if (pid === undefined) return { user: NaN, sys: NaN };
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(f[11]) / CLK_TCK, sys: Number(f[12]) / CLK_TCK };
  } catch {
    return { user: NaN, sys: NaN };
  }
}

function cpuSeconds(pid: number | undefined): number {
  const t = cpuTimes(pid);
  return t.user + t.sys;
}

/** utime, stime (s) and the main thread's voluntary / involuntary context switches of a process (Linux /proc; NaN elsewhere). */
function procCounters(pid: number | undefined): { user: number; sys: number; vcsw: number; ivcsw: number } {
  const times = cpuTimes(pid);
  let status = '';
  try {
    status = pid === undefined ? '' : readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    // gone or not Linux: the switches are NaN
  }
  const num = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { ...times, vcsw: num('voluntary_ctxt_switches'), ivcsw: num('nonvoluntary_ctxt_switches') };
}

/**
 * The box's own cost of waking a process: CPU µs billed to a bare Node process (an empty timer
 * callback every `periodMs`, nothing else) per wake-up, from getrusage (the scheduler's runtime agrees).
 * On this VM a process is billed for every wake-up far more than the callback's work: the steady rows
 * compare confmgr's wake-ups with it.
 */
function bareWakeUpUs(periodMs: number, seconds = 1.5): number {
  const n = Math.max(20, Math.round((seconds * 1000) / periodMs));
  const script =
    `let i = 0; const c0 = process.cpuUsage(); const t = setInterval(() => { if (++i >= ${n}) { clearInterval(t); ` +
    `const c = process.cpuUsage(c0); console.log((c.user + c.system) / ${n}); } }, ${periodMs});`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

function brokerPid(): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'latin1').trim() === 'beam.smp') return Number(d);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

/** Snapshot of CPU seconds per named process; `.since()` gives % of one core over the elapsed wall time. */
function cpuMeter(pids: Record<string, number | undefined>): { since(): Record<string, number>; seconds(name: string): number } {
  const t0 = performance.now();
  const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  let last: Record<string, number> = {};
  return {
    since() {
      const wall = (performance.now() - t0) / 1000;
      last = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid) - start[k]!]));
      return Object.fromEntries(Object.entries(last).map(([k, v]) => [k, (v / wall) * 100]));
    },
    /** CPU seconds of `name` up to the last since(). */
    seconds: (name) => last[name] ?? NaN,
  };
}

const fmtCpu = (c: Record<string, number>): string =>
  Object.entries(c)
    .filter(([, v]) => Number.isFinite(v))
    .map(([k, v]) => `${k} ${v.toFixed(0)}%`)
    .join(', ');

// -------------------------------------------------------------------------------------------------
// Simulator (child)

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
      const t0 = performance.now();
      void Promise.all(
        names.map((conference) => sim.engine.flood({ conference, members: MEMBERS, eventsPerSecond: perConf, durationMs: m.seconds! * 1000 })),
      ).then((r) => process.send!({ type: 'flooded', sent: r.reduce((s, x) => s + x.sent, 0), ms: performance.now() - t0 }));
    } else if (m.type === 'stop') void sim.close().then(() => process.exit(0));
  });
  process.send!({ type: 'ready', port: sim.port });
}

// -------------------------------------------------------------------------------------------------
// confmgr (child): the real wiring from src/app/service.ts. Sinks:
//   amqp   the real AmqpPublisher; `ts_us` is appended to each payload for the consumer's latency
//   count  bench-only harness replacing AmqpPublisher.publish: does the same per-event CPU work before
//          the broker (filter check, routing key, JSON → Buffer), then counts and discards

interface SinkReport extends ConsumerReport {
  rssMb: number;
  /** RSS when the measured flood began (after start-up and the warm-up). */
  rssBeginMb: number;
  /** read / write system calls of the confmgr process per event over the measured window (/proc/self/io). */
  readsPerEvent: number;
  writesPerEvent: number;
}

async function confmgrMain(port: number, exchange: string, sink: 'amqp' | 'count', variant: Variant): Promise<void> {
  const whole = variant === 'whole';
  const dbFile = join(tmpdir(), `confmgr-bench-${process.pid}.sqlite`);
  const yaml = [
    'app_name: confmgr',
    'freeswitch:',
    '  nodes:',
    `    - { name: fs1, host: 127.0.0.1, port: ${port}, password: ClueCon }`,
    'amqp:',
    `  url: ${AMQP_URL}`,
    `  exchange: ${exchange}`,
    '  buffer_size: 1000000',
    ...(strArg('coalesce-ms') !== undefined ? [`  write_coalesce_ms: ${Number(strArg('coalesce-ms'))}`] : []),
    ...(whole
      ? [
          `  command_queue: ${exchange}.commands`,
          'http:',
          '  listen: 127.0.0.1:0',
          `  tokens: [{ token: ${WS_TOKEN}, account_id: ${WS_ACCOUNT} }]`,
          `  default_account_id: ${WS_ACCOUNT}`,
          'log: { level: info, pretty: false }',
          `storage: { path: '${dbFile}' }`,
        ]
      : ['log: { level: silent }', "storage: { path: ':memory:' }"]),
    'publish_participant_event: [start-talking, stop-talking]',
  ].join('\n');
  const config = parseConfig(yaml, 'bench');
  const service = whole
    ? await createService(config, { defaultMetrics: true, logger: createLogger({ level: 'info', pretty: false }), instanceName: 'confmgr@bench' })
    : await createService(config, { http: false, commandIntake: false, logger: silentLogger, instanceName: 'confmgr@bench' });
  const publisher = service.publisher;
  const realPublish = publisher.publish.bind(publisher);
  const samples: { body: string; key: string }[] = [];
  let counting = false;
  let count = 0;
  let firstAt = 0;
  let lastAt = 0;
  let lat: number[] = [];
  let rssBeginMb = NaN;
  let ioBegin = syscalls();
  if (sink === 'amqp') {
    publisher.publish = (out: OutboundEvent) => {
      // The payload object is fresh per event: appending the key costs next to nothing (a spread copy
      // to put it first cost ~2 µs/event, charged to confmgr).
      (out.payload as Record<string, unknown>)['ts_us'] = out.timestampUs;
      if (counting) {
        count++; // events that reached the publisher (the consumer must get exactly these)
        if (samples.length < 64) samples.push({ body: JSON.stringify(out.payload), key: eventRoutingKey(out.conferenceId, out.callId) });
      }
      return realPublish(out);
    };
  } else {
    publisher.publish = (out: OutboundEvent) => {
      if (!service.filter.check(out.event)) return 'filtered';
      const key = eventRoutingKey(out.conferenceId, out.callId);
      (out.payload as Record<string, unknown>)['ts_us'] = out.timestampUs;
      const body = Buffer.from(serializedPayload(out));
      if (!counting || key.length === 0 || body.length === 0) return 'queued';
      const now = Date.now();
      if (count === 0) firstAt = now;
      lastAt = now;
      count++;
      lat.push(now - out.timestampUs / 1000);
      return 'queued';
    };
  }
  const resynced = new Promise<void>((resolve) => service.sync.once('resynced', () => resolve()));
  await service.start();
  if (sink === 'amqp') await publisher.start();
  await resynced;
  await publisher.flush(10_000);

  if (process.argv.includes('--trace')) {
    // Once a second: how the publisher's buffer and window evolve (diagnosis of where the time goes).
    let last = publisher.stats().confirmed;
    let lastCpu = process.cpuUsage();
    setInterval(() => {
      const st = publisher.stats();
      const cpu = process.cpuUsage(lastCpu);
      lastCpu = process.cpuUsage();
      console.error(`[confmgr ${sink}] confirmed +${st.confirmed - last}/s buffered ${st.buffered} inFlight ${st.inFlight} cpu ${((cpu.user + cpu.system) / 1e4).toFixed(0)}% count ${count}`);
      last = st.confirmed;
      if (mem.n > 0) {
        const mb = (x: number): string => (x / 1e6).toFixed(1);
        const at = mem.atPeak;
        console.error(
          `[confmgr ${sink}] mem peak of the second: rss ${mb(at.rss)} (anon ${mb(at.anon)} file ${mb(at.file)}) heapUsed ${mb(at.heapUsed)} heapTotal ${mb(at.heapTotal)} ` +
            `external ${mb(at.external)} arrayBuffers ${mb(at.arrayBuffers)} backlog ${mb(at.backlog)} spilled ${mb(at.spilled)} slots ${at.slots}`,
        );
        mem.n = 0;
        mem.atPeak.rss = 0;
      }
    }, 1000).unref();
    // Every 100 ms: where the process's memory is (the sample with the second's highest RSS is printed).
    const mem = { n: 0, atPeak: { rss: 0, anon: 0, file: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0, backlog: 0, spilled: 0, slots: 0 } };
    const backlog = (publisher as unknown as { backlog?: { bytesHeld: number; bytesSpilled?: number; slots: number } }).backlog;
    setInterval(() => {
      const u = process.memoryUsage();
      mem.n++;
      if (u.rss <= mem.atPeak.rss) return;
      const status = readFileSync('/proc/self/status', 'utf8');
      const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
      mem.atPeak = { rss: u.rss, anon: kb('RssAnon'), file: kb('RssFile'), heapUsed: u.heapUsed, heapTotal: u.heapTotal, external: u.external, arrayBuffers: u.arrayBuffers, backlog: backlog?.bytesHeld ?? 0, spilled: backlog?.bytesSpilled ?? 0, slots: backlog?.slots ?? 0 };
    }, 100).unref();
  }
  process.on('message', (m: { type: string; expected?: number }) => {
    if (m.type === 'warmed') {
      // The warm-up flood was sent: wait until it is all confirmed (ESL, parse and publish paths are JIT-compiled).
      void (async () => {
        await new Promise((r) => setTimeout(r, 300));
        await publisher.flush(60_000);
        process.send!({ type: 'flushed', confirmed: publisher.stats().confirmed });
      })();
    } else if (m.type === 'begin') {
      counting = true;
      rssBeginMb = process.memoryUsage.rss() / 1e6;
      ioBegin = syscalls();
      void startAllocationSampling().then(() => process.send!({ type: 'begun' }));
    } else if (m.type === 'finish') {
      void (async () => {
        // Until all arrived, or nothing more for 3 s (the simulator drops events for, and then
        // disconnects, a reader that falls too far behind — as FreeSWITCH does).
        let seen = -1;
        for (let idle = 0; count < m.expected! && idle < 30; idle = count === seen ? idle + 1 : 0) {
          seen = count;
          await new Promise((r) => setTimeout(r, 100));
        }
        if (sink === 'amqp') await publisher.flush(120_000);
        await stopAllocationSampling(`confmgr-${variant}-${sink}-${strArg('rate') ?? ''}`);
        lat.sort((a, b) => a - b);
        const report: SinkReport = {
          count,
          firstAt,
          lastAt,
          p50: percentile(lat, 0.5),
          p99: percentile(lat, 0.99),
          max: lat.at(-1) ?? NaN,
          rssMb: (process.resourceUsage().maxRSS * 1024) / 1e6,
          rssBeginMb,
          readsPerEvent: (syscalls().reads - ioBegin.reads) / Math.max(1, count),
          writesPerEvent: (syscalls().writes - ioBegin.writes) / Math.max(1, count),
        };
        lat = [];
        process.send!({ type: 'finished', report, stats: publisher.stats(), samples });
      })();
    } else if (m.type === 'stop') {
      void service.stop('bench').then(() => {
        if (whole) for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) rmSync(f, { force: true });
        process.exit(0);
      });
    }
  });
  process.send!({ type: 'ready', ...(service.http ? { url: service.http.url } : {}) });
}

// Allocation sampling (--alloc-prof): every allocation sampled, also of objects already collected.
let allocSession: Session | undefined;

async function startAllocationSampling(): Promise<void> {
  if (!strArg('alloc-prof')) return;
  allocSession = new Session();
  allocSession.connect();
  await allocSession.post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
}

async function stopAllocationSampling(name: string): Promise<void> {
  const dir = strArg('alloc-prof');
  if (!allocSession || !dir) return;
  const { profile } = await allocSession.post('HeapProfiler.stopSampling');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.heapprofile`), JSON.stringify(profile));
  allocSession.disconnect();
  allocSession = undefined;
}

// -------------------------------------------------------------------------------------------------
// WebSocket client (child, whole variant): subscribed to every event of the bench account, counting.

async function wsMain(url: string): Promise<void> {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/v2/websocket`, { headers: { 'X-Auth-Token': WS_TOKEN } });
  let count = 0;
  let subscribed = false;
  socket.on('message', (data) => {
    if (subscribed) {
      count++;
      return;
    }
    const m = JSON.parse(String(data)) as { action?: string; status?: string };
    if (m.action !== 'reply') return;
    if (m.status !== 'success') throw new Error(`websocket subscribe refused: ${String(data)}`);
    subscribed = true;
    process.send!({ type: 'ready' });
  });
  socket.once('open', () => socket.send(JSON.stringify({ action: 'subscribe', request_id: 'bench', account_id: WS_ACCOUNT })));
  socket.once('close', (code) => {
    if (code !== 1001 && code !== 1000) console.error(`[ws] closed ${code}`);
  });
  process.on('message', (m: { type: string }) => {
    if (m.type === 'reset') {
      count = 0;
      process.send!({ type: 'reset' });
    } else if (m.type === 'count') process.send!({ type: 'count', count });
    else if (m.type === 'stop') {
      socket.close();
      process.exit(0);
    }
  });
}

// -------------------------------------------------------------------------------------------------
// Broker ceiling (child): raw amqplib publishes of confmgr's own bodies.

async function ceilingMain(): Promise<void> {
  process.once('message', (m: { n: number; window: number; bodies: string[]; keys: string[] }) => {
    void (async () => {
      const bodies = m.bodies.map((b) => Buffer.from(b));
      const r = await rawCeiling(m.n, m.window, bodies, m.keys);
      process.send!({ type: 'done', confirmRate: r.rate, report: r.lat, rssMb: (process.resourceUsage().maxRSS * 1024) / 1e6 });
      setTimeout(() => process.exit(0), 50);
    })();
  });
  process.send!({ type: 'ready' });
}

/**
 * A reader of the simulator's events that discards their bytes: with it, the simulator floods as it does
 * for confmgr, so a ceiling measured meanwhile is the broker's with FreeSWITCH's stand-in at work too.
 */
function drainMain(port: number): void {
  const socket = connect(port, '127.0.0.1');
  let state: 'auth' | 'login' | 'subscribe' | 'draining' = 'auth';
  let text = '';
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => {
    if (state === 'draining') {
      bytes += chunk.length;
      return;
    }
    text += chunk.toString('latin1');
    if (state === 'auth' && text.includes('auth/request')) {
      [text, state] = ['', 'login'];
      socket.write('auth ClueCon\n\n');
    } else if (state === 'login' && text.includes('+OK accepted')) {
      [text, state] = ['', 'subscribe'];
      socket.write('event json CUSTOM conference::maintenance\n\n');
    } else if (state === 'subscribe' && text.includes('+OK event listener enabled')) {
      state = 'draining';
      process.send!({ type: 'ready' });
    }
  });
  socket.on('error', (err) => console.error(`[drain] ${err.message}`));
  process.on('message', (m: { type: string }) => {
    if (m.type !== 'stop') return;
    process.send!({ type: 'stopped', bytes });
    socket.destroy();
    setTimeout(() => process.exit(0), 50);
  });
}

// -------------------------------------------------------------------------------------------------
// Orchestrator

interface Row {
  scenario: string;
  rate: number;
  /** CPU µs per event of the publishing process (confmgr / raw publisher). */
  cpuUs: number;
  ratio: boolean;
  p50: number;
  p99: number;
  rssMb: number;
  note: string;
}

const consumerRate = (r: ConsumerReport): number => r.count / Math.max(0.001, (r.lastAt - r.firstAt) / 1000);

type CeilingResult = { rate: number; confirmRate: number; report: ConsumerReport; rssMb: number; cpu: Record<string, number>; cpuUs: number };

/**
 * The broker's ceiling: raw amqplib publishing confmgr's bodies. With `simLoad`, the simulator floods
 * `rate` events a second for `seconds` at a reader that discards them, from the publisher's start, as it
 * floods confmgr in the flood rows: the broker's ceiling on this box with FreeSWITCH's stand-in doing
 * the same work at the same time.
 */
async function ceiling(
  n: number,
  bodies: string[],
  keys: string[],
  simLoad?: { sim: ChildProcess; port: number; rate: number; seconds: number },
): Promise<CeilingResult> {
  const child = forkRole('ceiling');
  await once(child, 'ready');
  let drain: ChildProcess | undefined;
  let flooded: Promise<unknown> | undefined;
  if (simLoad) {
    drain = forkRole('drain', ['--port', String(simLoad.port)]);
    await once(drain, 'ready');
    flooded = floodSim(simLoad.sim, simLoad.rate, simLoad.seconds);
  }
  const meter = cpuMeter({ publisher: child.pid, broker: brokerPid(), simulator: simLoad?.sim.pid, drain: drain?.pid });
  child.send({ n, window: 5000, bodies, keys });
  const done = await once<Msg & { confirmRate: number; report: ConsumerReport; rssMb: number }>(child, 'done');
  const cpu = meter.since();
  if (drain) {
    await flooded;
    drain.send({ type: 'stop' });
    await once(drain, 'stopped');
  }
  return { rate: consumerRate(done.report), confirmRate: done.confirmRate, report: done.report, rssMb: done.rssMb, cpu, cpuUs: (meter.seconds('publisher') * 1e6) / n };
}

interface PhaseResult {
  sent: number;
  /** Events that reached confmgr's publisher (fewer than `sent` if the simulator dropped a slow reader's). */
  received: number;
  floodMs: number;
  report: ConsumerReport;
  rssMb: number;
  rssBeginMb: number;
  /** confmgr's read / write system calls per event. */
  syscalls: { reads: number; writes: number };
  /** confmgr's CPU split per event (user / kernel µs) and its main thread's context switches per event (voluntary: waits for I/O or timers, i.e. event-loop wake-ups; involuntary: preempted). */
  proc: { userUs: number; sysUs: number; wakeups: number; preempted: number };
  stats: { dropped: Record<string, number>; confirmed: number; resent: number };
  samples: { body: string; key: string }[];
  cpu: Record<string, number>;
  /** confmgr CPU µs per event received. */
  cpuUs: number;
  /** Events the WebSocket client received (whole variant). */
  wsGot?: number | undefined;
}

/** Deletes what a confmgr child declared on the broker (its exchange; the whole variant's command intake). */
async function deleteBrokerObjects(exchange: string): Promise<void> {
  const conn = await amqp.connect(AMQP_URL).catch(() => undefined);
  if (!conn) return;
  try {
    const ch = await conn.createChannel();
    const queue = `${exchange}.commands`;
    await ch.deleteQueue(queue).catch(() => undefined);
    for (const x of [`${exchange}.${queue}`, `${exchange}.${queue}.unrouted`, exchange]) await ch.deleteExchange(x).catch(() => undefined);
  } finally {
    await conn.close().catch(() => undefined);
  }
}

function wsCount(ws: ChildProcess): Promise<number> {
  const p = once<Msg & { count: number }>(ws, 'count');
  ws.send({ type: 'count' });
  return p.then((m) => m.count);
}

/** One scenario: a fresh confmgr child, a flood from the simulator, measured at the consumer (or sink). */
async function phase(
  port: number,
  sim: ChildProcess,
  sink: 'amqp' | 'count',
  rate: number,
  seconds: number,
  prof: string | undefined,
  variant: Variant,
  warmup = true,
): Promise<PhaseResult> {
  const exchange = `bench-pipe-${process.pid}-${variant}-${sink}-${rate}`;
  const whole = variant === 'whole';
  const run = async (consumer: ChildProcess | undefined): Promise<PhaseResult> => {
    // One folder per scenario: node writes one profile per thread (the main thread is the big one).
    const execArgv = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}/confmgr-${variant}-${sink}-${rate}`] : [];
    if (whole) execArgv.push(...LAUNCHER_FLAGS);
    const semi = arg('semi-space', 0);
    if (semi > 0) execArgv.push(`--max-semi-space-size=${semi}`);
    execArgv.push(...(strArg('node-flags') ?? '').split(/\s+/).filter((f) => f.startsWith('--')));
    const trace = process.argv.includes('--trace') ? ['--trace'] : [];
    // The whole variant logs JSON lines as `confmgr start` does, to a file (as when stdout is redirected).
    const logFile = join(tmpdir(), `${exchange}.log`);
    const logFd = whole ? openSync(logFile, 'w') : undefined;
    const child = forkRole(
      'confmgr',
      ['--port', String(port), '--exchange', exchange, '--sink', sink, '--variant', variant, '--rate', String(rate), ...trace, ...(strArg('alloc-prof') ? ['--alloc-prof', strArg('alloc-prof')!] : []), ...(strArg('coalesce-ms') !== undefined ? ['--coalesce-ms', strArg('coalesce-ms')!] : [])],
      execArgv,
      whole ? { env: { ...process.env, ...LAUNCHER_ENV }, stdoutFd: logFd!, ...(compiled ? { compiled } : {}) } : {},
    );
    if (logFd !== undefined) closeSync(logFd);
    let ws: ChildProcess | undefined;
    try {
      const ready = await once<Msg & { url?: string }>(child, 'ready');
      if (whole) {
        ws = forkRole('ws', ['--url', ready.url!]);
        await once(ws, 'ready');
      }
      // A fresh process is cold: hit at once by a flood, its interpreted code falls behind and the
      // simulator (like FreeSWITCH) drops it as a slow reader. Production processes are warm, so
      // each scenario starts with a warm-up flood that is left out of the figures.
      if (warmup) {
        const before = consumer ? await awaitCount(consumer, 0) : undefined;
        const w = await floodSim(sim, 5000, 1);
        child.send({ type: 'warmed' });
        await once(child, 'flushed');
        if (consumer) {
          await awaitCount(consumer, before!.count + w.sent);
          await resetConsumer(consumer);
        }
      }
      if (ws) {
        // The warm-up's last frames may still be on their way to the client: counted out once they stop.
        for (let seen = -1, now = await wsCount(ws); now !== seen; now = await wsCount(ws)) {
          seen = now;
          await new Promise((r) => setTimeout(r, 200));
        }
        ws.send({ type: 'reset' });
        await once(ws, 'reset');
      }
      child.send({ type: 'begin' });
      await once(child, 'begun');
      const meter = cpuMeter({ confmgr: child.pid, simulator: sim.pid, consumer: consumer?.pid, broker: consumer ? brokerPid() : undefined, ws: ws?.pid });
      const counters0 = procCounters(child.pid);
      const t0 = performance.now();
      const flooded = await floodSim(sim, rate, seconds);
      const floodMs = performance.now() - t0;
      child.send({ type: 'finish', expected: flooded.sent });
      const fin = await once<Msg & { report: SinkReport; stats: PhaseResult['stats']; samples: PhaseResult['samples'] }>(child, 'finished');
      // confmgr must deliver every event it got; what the simulator dropped never reached it.
      const got = fin.report.count;
      const report = consumer
        ? await Promise.race([
            awaitCount(consumer, got),
            new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`consumer did not get the ${got} events confmgr took`)), 120_000)),
          ])
        : fin.report;
      // The WebSocket client gets every event too (a little after the broker's consumer, at most).
      let wsGot: number | undefined;
      if (ws) {
        for (let idle = 0, seen = -1; idle < 20; ) {
          wsGot = await wsCount(ws);
          if (wsGot >= got) break;
          idle = wsGot === seen ? idle + 1 : 0;
          seen = wsGot;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const cpu = meter.since();
      const cpuUs = (meter.seconds('confmgr') * 1e6) / Math.max(1, report.count);
      const counters1 = procCounters(child.pid);
      const per = (k: 'user' | 'sys' | 'vcsw' | 'ivcsw', scale: number): number => ((counters1[k] - counters0[k]) * scale) / Math.max(1, report.count);
      const proc = { userUs: per('user', 1e6), sysUs: per('sys', 1e6), wakeups: per('vcsw', 1), preempted: per('ivcsw', 1) };
      return { sent: flooded.sent, received: got, floodMs, report, rssMb: fin.report.rssMb, rssBeginMb: fin.report.rssBeginMb, syscalls: { reads: fin.report.readsPerEvent, writes: fin.report.writesPerEvent }, proc, stats: fin.stats, samples: fin.samples, cpu, cpuUs, wsGot };
    } finally {
      ws?.send({ type: 'stop' });
      child.send({ type: 'stop' });
      await new Promise((r) => child.once('exit', r));
      if (whole) rmSync(logFile, { force: true });
    }
  };
  try {
    return sink === 'amqp' ? await withQueue(exchange, (_q, consumer) => run(consumer)) : await run(undefined);
  } finally {
    await deleteBrokerObjects(exchange);
  }
}

function floodSim(child: ChildProcess, rate: number, seconds: number): Promise<{ sent: number; ms: number }> {
  const p = once<Msg & { sent: number; ms: number }>(child, 'flooded');
  child.send({ type: 'flood', rate, seconds });
  return p;
}

function printTable(rows: Row[], ceilingRate: number): void {
  const head = ['scenario', 'events/s', 'ratio to ceiling', 'p50 ms', 'p99 ms', 'peak RSS MB', 'CPU µs/event', 'notes'];
  const body = rows.map((r) => [
    r.scenario,
    Math.round(r.rate).toLocaleString('en-US'),
    r.ratio ? `${((r.rate / ceilingRate) * 100).toFixed(0)} %` : '—',
    r.p50.toFixed(1),
    r.p99.toFixed(1),
    r.rssMb.toFixed(0),
    r.cpuUs.toFixed(1),
    r.note,
  ]);
  console.log(`| ${head.join(' | ')} |`);
  console.log(`| ${head.map(() => '---').join(' | ')} |`);
  for (const b of body) console.log(`| ${b.join(' | ')} |`);
}

async function main(): Promise<void> {
  const rate = arg('rate', 30_000);
  const seconds = arg('seconds', 4);
  const sinkRate = arg('sink-rate', rate);
  const latRate = arg('latency-rate', 5000);
  const latSeconds = arg('latency-seconds', 5);
  const prof = strArg('prof');
  const variants = (strArg('variants') ?? 'narrow,whole').split(',').filter((v): v is Variant => v === 'narrow' || v === 'whole');
  // --only flood,sink,steady: the rows to run (the ceiling rows always run).
  const only = new Set((strArg('only') ?? 'flood,sink,steady').split(','));
  const sinkRows = !process.argv.includes('--no-sink') && only.has('sink');
  // Only the counting-sink rows, no broker at all (profiling the event path; --variants still applies).
  const brokerless = process.argv.includes('--no-broker');
  const build = variants.includes('whole') && !process.argv.includes('--whole-tsx') ? compileBench() : undefined;
  compiled = build?.file;
  const sim = forkRole('sim');
  const { port } = await once<Msg & { port: number }>(sim, 'ready');
  try {
    console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (2 cores, shared)`);
    console.log(
      `pipeline bench: simulator (${CONFERENCES}×${MEMBERS} members, own process) → ESL → confmgr (own process) → RabbitMQ ` +
        `(confirms, persistent, durable queue) → consumer (own process); variants: ${variants.join(', ')}` +
        `${compiled ? ' (whole: compiled by tsc, plain node)' : ''}${prof ? `; CPU profiles in ${prof}` : ''}`,
    );
    const offered = (r: PhaseResult): string => `offered ${Math.round(r.sent / (r.floodMs / 1000)).toLocaleString('en-US')}/s`;
    const lost = (r: PhaseResult): string =>
      (r.received < r.sent ? `simulator dropped ${r.sent - r.received} for a slow reader; ` : '') +
      (r.report.count === r.received ? 'nothing lost by confmgr' : `confmgr LOST ${r.received - r.report.count}`) +
      (r.wsGot !== undefined ? `, WebSocket got ${r.wsGot}` : '');
    const row = (scenario: string, r: PhaseResult, ratio: boolean, note: string): Row => ({
      scenario,
      rate: consumerRate(r.report),
      cpuUs: r.cpuUs,
      ratio,
      p50: r.report.p50,
      p99: r.report.p99,
      rssMb: r.rssMb,
      note: `${note}; RSS ${r.rssBeginMb.toFixed(0)} MB when the flood began; system calls per event: ${r.syscalls.reads.toFixed(2)} reads, ${r.syscalls.writes.toFixed(2)} writes; CPU µs/event user ${r.proc.userUs.toFixed(1)} + kernel ${r.proc.sysUs.toFixed(1)}; main-thread wake-ups per event ${r.proc.wakeups.toFixed(3)} (preempted ${r.proc.preempted.toFixed(3)})`,
    });
    const cpuLines: string[] = [];

    if (brokerless) {
      const rows: Row[] = [];
      for (const v of variants) {
        const r = await phase(port, sim, 'count', sinkRate, seconds, prof, v);
        rows.push(row(`${v}: confmgr without broker ${sinkRate}/s × ${seconds}s`, r, false, `${r.sent} events, ${offered(r)}, ${lost(r)} (counting sink)`));
        cpuLines.push(`  ${v} no broker: ${fmtCpu(r.cpu)}`);
      }
      printTable(rows, NaN);
      console.log('CPU (% of one core, over each scenario; the box has 2 cores):');
      for (const l of cpuLines) console.log(l);
      return;
    }

    // Warm-up: JIT, broker queue creation, and a sample of confmgr's real bodies for the ceiling.
    const warm = await phase(port, sim, 'amqp', 5000, 1, undefined, 'narrow', false);
    const bodies = warm.samples.map((s) => s.body);
    const keys = warm.samples.map((s) => s.key);
    const avg = Math.round(bodies.reduce((s, b) => s + Buffer.byteLength(b), 0) / Math.max(1, bodies.length));
    console.log(`warm-up: ${warm.report.count}/${warm.sent} events; confmgr bodies ~${avg} B`);
    const n = Math.min(120_000, rate * seconds);

    const c1 = await ceiling(n, bodies, keys);
    const measured: Row[] = [];
    const floodRates: { variant: Variant; rate: number }[] = [];
    const dropped: string[] = [];
    for (const v of variants) {
      const flood = only.has('flood') ? await phase(port, sim, 'amqp', rate, seconds, prof, v) : undefined;
      if (flood) {
        floodRates.push({ variant: v, rate: consumerRate(flood.report) });
        measured.push(row(`${v}: pipeline flood ${rate}/s × ${seconds}s`, flood, true, `${flood.sent} events, ${offered(flood)}, ${lost(flood)}, resent ${flood.stats.resent}`));
        cpuLines.push(`  ${v} flood:     ${fmtCpu(flood.cpu)}`);
      }
      if (sinkRows) {
        const noBroker = await phase(port, sim, 'count', sinkRate, seconds, prof, v);
        measured.push(row(`${v}: confmgr without broker ${sinkRate}/s × ${seconds}s`, noBroker, true, `${noBroker.sent} events, ${offered(noBroker)}, ${lost(noBroker)} (counting sink)`));
        cpuLines.push(`  ${v} no broker: ${fmtCpu(noBroker.cpu)}`);
      }
      const steady = only.has('steady') ? await phase(port, sim, 'amqp', latRate, latSeconds, prof, v) : undefined;
      if (steady) {
        measured.push(row(`${v}: pipeline steady ${latRate}/s × ${latSeconds}s`, steady, false, `${steady.sent} events, ${lost(steady)}`));
        cpuLines.push(`  ${v} steady:    ${fmtCpu(steady.cpu)}`);
        // The same number of wake-ups by a process doing nothing else, on this box, in this run.
        const wakeupsPerSecond = steady.proc.wakeups * latRate;
        const period = Math.max(1, Math.round(1000 / Math.max(1, wakeupsPerSecond)));
        const bare = bareWakeUpUs(period);
        cpuLines.push(
          `  ${v} steady: ${steady.proc.wakeups.toFixed(3)} wake-ups per event (~${Math.round(wakeupsPerSecond)}/s); a bare Node process waking every ${period} ms ` +
            `is billed ${bare.toFixed(0)} µs of CPU per wake-up here: at confmgr's rate, waking alone is ${(bare * steady.proc.wakeups).toFixed(1)} of its ${steady.cpuUs.toFixed(1)} µs/event ` +
            '(a lower bound: a wake-up after a longer sleep is billed more, and work done right after one runs slower: `npm run bench -- burst-cost`)',
        );
      }
      dropped.push(`${v} ${JSON.stringify(flood?.stats.dropped ?? '-')} ${JSON.stringify(steady?.stats.dropped ?? '-')}`);
    }
    const c2 = await ceiling(n, bodies, keys);
    const ceilingRate = (c1.rate + c2.rate) / 2;
    // The same ceiling with the simulator flooding a discarding reader meanwhile (the flood rows' other load).
    const c3 = floodRates.length > 0 ? await ceiling(n, bodies, keys, { sim, port, rate, seconds }) : undefined;
    const rows: Row[] = [
      { scenario: 'broker ceiling, before (raw amqplib)', rate: c1.rate, cpuUs: c1.cpuUs, ratio: true, p50: c1.report.p50, p99: c1.report.p99, rssMb: c1.rssMb, note: `${n} msgs, confirms ${Math.round(c1.confirmRate).toLocaleString('en-US')}/s` },
      ...measured,
      { scenario: 'broker ceiling, after (raw amqplib)', rate: c2.rate, cpuUs: c2.cpuUs, ratio: true, p50: c2.report.p50, p99: c2.report.p99, rssMb: c2.rssMb, note: `${n} msgs, confirms ${Math.round(c2.confirmRate).toLocaleString('en-US')}/s` },
      ...(c3
        ? [{ scenario: `broker ceiling with the simulator flooding ${rate}/s × ${seconds}s at a discarding reader`, rate: c3.rate, cpuUs: c3.cpuUs, ratio: true, p50: c3.report.p50, p99: c3.report.p99, rssMb: c3.rssMb, note: `${n} msgs, confirms ${Math.round(c3.confirmRate).toLocaleString('en-US')}/s` }]
        : []),
    ];
    console.log(`ceiling used for ratios: mean of before/after = ${Math.round(ceilingRate).toLocaleString('en-US')} msg/s (consumer receipt rate)`);
    console.log('narrow = the event path alone (no HTTP, no intake, silent log, SQLite in memory); whole = as `confmgr start` runs it (HTTP API, one subscribed WebSocket, command intake, SQLite file, info log, process metrics, launcher flags)');
    printTable(rows, ceilingRate);
    console.log('CPU (% of one core, over each scenario; the box has 2 cores):');
    console.log(`  ceiling before: ${fmtCpu(c1.cpu)} (consumer not metered: forked by the publisher child)`);
    for (const l of cpuLines) console.log(l);
    console.log(`  ceiling after:  ${fmtCpu(c2.cpu)}`);
    if (c3) {
      console.log(`  ceiling with the simulator's load: ${fmtCpu(c3.cpu)}`);
      const ratios = floodRates.map((f) => `${f.variant} ${((f.rate / c3.rate) * 100).toFixed(0)} %`).join(', ');
      console.log(`flood ÷ the ceiling with the simulator's load (this box's broker limit with FreeSWITCH's stand-in at work): ${ratios}`);
    }
    console.log(`publisher drops (flood, steady): ${dropped.join('; ')}`);
  } finally {
    sim.send({ type: 'stop' });
    if (build) rmSync(build.dir, { recursive: true, force: true });
  }
}

const role = strArg('role');
if (role === 'sim') void simMain();
else if (role === 'confmgr') void confmgrMain(arg('port', 0), strArg('exchange')!, strArg('sink') === 'count' ? 'count' : 'amqp', strArg('variant') === 'whole' ? 'whole' : 'narrow');
else if (role === 'ws') void wsMain(strArg('url')!);
else if (role === 'ceiling') void ceilingMain();
else if (role === 'drain') drainMain(arg('port', 0));
else {
  main()
    .then(() => process.exit(0))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
