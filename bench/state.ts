/**
 * `npm run bench -- state [--conferences 1000] [--participants 10] [--churn 0.05] [--rounds 5] [--mem] [--no-channel-vars] [--paged]`
 *
 * Resync cost at scale: N conferences × M participants on the simulator (src/simulator, run in a child
 * process), a real EslNodePool over TCP, and ConferenceStateSync resyncing on every `up`. Between rounds
 * the simulator changes `churn` of the participants (leave / join / mute) and then drops every socket,
 * so each warm resync has real differences to find. Printed: cold and warm resync times (api round
 * trip, parse, diff), synthesized events, and the client process's RSS (the simulator's own memory is
 * in the child, so the figure is what confmgr itself would use): its true peak (VmHWM), before
 * connecting, heap after a full GC, and the floor (a bare node JSON.parsing the same reply).
 * `--mem` prints where the memory is (file/anon RSS, V8 spaces) when each reply arrives and after each
 * resync; BENCH_HEAPSNAPSHOT=<file> writes a heap snapshot at the end.
 * Runs as an esbuild bundle under plain node by default (see runBundled); `--tsx` runs the sources.
 */
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EslNodePool } from '../src/esl/pool.js';
import { byteLength } from '../src/esl/codec.js';
import { ConferenceRegistry } from '../src/state/registry.js';
import { parseJsonList } from '../src/conference/json-list.js';
import { ConferenceStateSync, attachStateSync, type ResyncPhase, type ResyncResult } from '../src/state/node-sync.js';
import { startSimulator } from '../src/simulator/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) ? v : fallback;
}

const CONFERENCES = arg('conferences', 1000);
const PARTICIPANTS = arg('participants', 10);
const CHURN = arg('churn', 0.05);
const ROUNDS = Math.max(1, arg('rounds', 5));

// ---------------------------------------------------------------------------------------------
// The server side (a child process): the simulator, filled with CONFERENCES × PARTICIPANTS calls

let seed = 42;
const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;

async function runServer(): Promise<void> {
  const sim = await startSimulator({ port: 0, heartbeatMs: 0 });
  const engine = sim.engine;
  /** Per conference, the live calls: call id and member id. */
  const calls: { callId: string; memberId: number; muted: boolean }[][] = [];
  let callerSeq = 0;
  const join = (c: number, moderator: boolean): void => {
    const n = callerSeq++;
    const { member } = engine.originate({ conference: `conf-${c}`, callerIdNumber: String(100000 + n), callerIdName: `Caller ${n}`, moderator });
    calls[c]!.push({ callId: member.callId, memberId: member.id, muted: false });
  };
  for (let c = 0; c < CONFERENCES; c++) {
    calls.push([]);
    for (let i = 0; i < PARTICIPANTS; i++) join(c, i === 0);
  }

  /** Changes CHURN of the participants while the client is away: a third leave, a third join, a third (un)mute. */
  const churn = (): number => {
    const n = Math.round(CONFERENCES * PARTICIPANTS * CHURN);
    for (let k = 0; k < n; k++) {
      const c = Math.floor(rnd() * CONFERENCES);
      const list = calls[c]!;
      if (list.length <= 1) {
        join(c, false);
        continue;
      }
      const i = 1 + Math.floor(rnd() * (list.length - 1)); // keep the moderator: the conference stays up
      const kind = k % 3;
      if (kind === 0) engine.hangup(list.splice(i, 1)[0]!.callId);
      else if (kind === 1) join(c, false);
      else {
        const m = list[i]!;
        engine.executeApi(`conference conf-${c} ${m.muted ? 'unmute' : 'mute'} ${m.memberId} quiet`);
        m.muted = !m.muted;
      }
    }
    return n;
  };

  process.on('message', (msg: { cmd: string }) => {
    if (msg.cmd === 'drop-and-churn') {
      // In one tick: nobody is connected while the changes happen, so their events are lost, as they
      // would be with a real FreeSWITCH; the pool reconnects, `up`, and only the resync can tell.
      sim.dropConnections();
      const changed = churn();
      process.send!({ changed, participants: calls.reduce((n, list) => n + list.length, 0) });
    } else if (msg.cmd === 'exit') void sim.close().then(() => process.exit(0));
  });
  process.send!({ port: sim.port, replyBytes: byteLength(engine.executeApi('conference json_list')) });
}

// ---------------------------------------------------------------------------------------------
// The client side (this process): real pool, codec, event parser, sync and registry

type ServerMsg = { port?: number; replyBytes?: number; changed?: number; participants?: number };

const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;
const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MB`;

/**
 * Peak RSS of this process from /proc (VmHWM). Not process.resourceUsage().maxRSS: Linux carries
 * ru_maxrss over fork+exec, so a child spawned by a big parent reports the parent's peak.
 */
function peakRssOfThisProcess(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * What this machine's node needs at least for such a reply: a fresh `node` (no flags) that reads the
 * same reply into a string and JSON.parses it whole, nothing else. Its peak RSS is the floor our
 * client is compared with.
 */
async function parseFloor(reply: string): Promise<{ before: number; peak: number } | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'confmgr-bench-'));
  const file = join(dir, 'json_list.json');
  writeFileSync(file, reply);
  const script = [
    `const s = require('fs').readFileSync(${JSON.stringify(file)}, 'utf8');`,
    `const before = process.memoryUsage().rss;`,
    `const v = JSON.parse(s);`,
    // VmHWM, not resourceUsage().maxRSS (which a spawned child inherits from its parent on Linux).
    `const hwm = /VmHWM:\\s+(\\d+) kB/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'));`,
    `process.stdout.write(JSON.stringify({ before, peak: hwm ? Number(hwm[1]) * 1024 : process.resourceUsage().maxRSS * 1024, n: v.length }));`,
  ].join('\n');
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`floor probe exited with ${code}`))));
    });
    return JSON.parse(out) as { before: number; peak: number };
  } catch (err) {
    console.log(`floor probe failed: ${(err as Error).message}`);
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Where the RSS is: file-backed (node's own binary and libraries) vs anonymous, and V8's spaces. */
function memoryLine(): string {
  const m = process.memoryUsage();
  let rssSplit = '';
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024;
    rssSplit = ` (file ${mb(kb('RssFile'))} + anon ${mb(kb('RssAnon'))})`;
  } catch {
    // not Linux
  }
  const spaces = getHeapSpaceStatistics()
    .filter((x) => x.physical_space_size > 512 * 1024)
    .map((x) => `${x.space_name.replace(/_space$/, '')} ${(x.space_used_size / 2 ** 20).toFixed(0)}/${(x.physical_space_size / 2 ** 20).toFixed(0)}`)
    .join(', ');
  return `rss ${mb(m.rss)}${rssSplit}, external ${mb(m.external)}; V8 used/committed MB: ${spaces}`;
}

async function runClient(): Promise<void> {
  const verbose = process.argv.includes('--mem') || Boolean(process.env.BENCH_MEM);
  const child = fork(fileURLToPath(import.meta.url), ['--server', ...process.argv.slice(2)], { execArgv: process.execArgv });
  const ask = (cmd: string): Promise<ServerMsg> =>
    new Promise((resolve) => {
      child.once('message', (m) => resolve(m as ServerMsg));
      child.send({ cmd });
    });
  const hello = await new Promise<ServerMsg>((resolve) => child.once('message', (m) => resolve(m as ServerMsg)));

  const rssBefore = process.memoryUsage().rss;
  console.log(`state bench: ${CONFERENCES} conferences × ${PARTICIPANTS} participants, churn ${CHURN * 100}% per reconnect, ${ROUNDS} reconnects`);
  console.log(
    `json_list reply size: ${mb(hello.replyBytes!)}; client RSS before connecting: ${mb(rssBefore)} ` +
      `(${process.env.CONFMGR_BENCH_BUNDLED ? 'bundled, plain node' : 'under tsx'}${process.execArgv.length > 0 ? `, node flags: ${process.execArgv.join(' ')}` : ''})`,
  );
  if (verbose) console.log(`  before connecting: ${memoryLine()}`);

  const registry = new ConferenceRegistry();
  const pool = new EslNodePool({
    name: 'fs1',
    host: '127.0.0.1',
    port: hello.port!,
    password: 'ClueCon',
    events: ['CUSTOM', 'conference::maintenance'],
    commandConnections: 1,
    apiTimeoutMs: 30_000,
    livenessIntervalMs: 0,
    reconnect: { baseMs: 5, capMs: 20 },
  });
  const api = (_node: string, cmd: string): Promise<string> => pool.api(cmd);
  // The sync's own step hook: where the memory is as each step of a resync ends.
  const onPhase = verbose
    ? (_node: string, phase: ResyncPhase, ms: number): void => console.log(`  ${`${phase} (${fmt(ms)}):`.padEnd(28)} ${memoryLine()}`)
    : undefined;
  // `--no-channel-vars`: no uuid_dump of newcomers (to tell how much of the memory their variables cost).
  const channelVars = process.argv.includes('--no-channel-vars') ? false : undefined;
  // The service's listing (one `conference json_list`); `--paged`: list summary + json_list per conference.
  const listing = process.argv.includes('--paged') ? 'paged' : 'whole';
  console.log(`listing: ${listing}`);
  const sync = new ConferenceStateSync({ registry, api, nodes: ['fs1'], downGraceMs: 60_000, onPhase, channelVars, listing });
  let delivered = 0;
  sync.on('event', () => delivered++);
  attachStateSync(pool, sync);

  const nextResync = (): Promise<{ result: ResyncResult; wallMs: number }> => {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      sync.once('resynced', (result) => {
        resolve({ result, wallMs: performance.now() - started });
      });
      sync.once('resync-failed', (_node, err) => reject(err));
    });
  };

  const cold = nextResync();
  pool.start();
  const first = await cold;
  const peakAfterCold = peakRssOfThisProcess();
  console.log(
    `cold resync: total ${fmt(first.result.totalMs)} (api ${fmt(first.result.apiMs)}, parse ${fmt(first.result.parseMs)}, ` +
      `uuid_dump ${fmt(first.result.channelVarsMs)} for ${first.result.channelVarsFetched + first.result.channelVarsFailed} newcomers, diff ${fmt(first.result.diffMs)}), ` +
      `${first.result.synthesized} synthesized events, registry ${JSON.stringify(registry.stats())}; peak RSS so far ${mb(peakAfterCold)}`,
  );

  const warm: ResyncResult[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    delivered = 0;
    const next = nextResync();
    const { changed } = await ask('drop-and-churn');
    const { result, wallMs } = await next;
    warm.push(result);
    console.log(
      `reconnect ${r + 1}: resync total ${fmt(result.totalMs)} (api ${fmt(result.apiMs)}, parse ${fmt(result.parseMs)}, ` +
        `uuid_dump ${fmt(result.channelVarsMs)} for ${result.channelVarsFetched + result.channelVarsFailed}, diff ${fmt(result.diffMs)}); ` +
        `drop→resynced ${fmt(wallMs)}; ${changed} changes → ${result.synthesized} synthesized events (${delivered} delivered); RSS ${mb(process.memoryUsage().rss)}`,
    );
  }

  // The kernel's high-water mark (VmHWM): the true peak, including moments between our samples.
  // Taken before the check below, whose own json_list and key sets are the bench's, not confmgr's.
  const peakRss = peakRssOfThisProcess();

  // The point of it all: after the last resync, the registry says what FreeSWITCH says.
  const reply = await pool.api('conference json_list');
  const listed = parseJsonList(reply);
  const want = new Set(listed.flatMap((c) => c.members.map((m) => `${c.name}|${c.uuid}|${m.memberId}|${m.callId}|${m.speak}`)));
  const got = registry.conferences().flatMap((c) =>
    registry.participants(c.name).map((p) => `${c.name}|${c.uuid}|${p.memberId}|${p.callId}|${p.speak}`),
  );
  const matches = got.length === want.size && got.every((k) => want.has(k));
  console.log(`registry equals json_list after the last resync: ${matches ? 'yes' : 'NO'} (${got.length} participants)`);

  const totals = warm.map((w) => w.totalMs).sort((a, b) => a - b);
  (globalThis as { gc?: () => void }).gc?.();
  const heapAfterGc = process.memoryUsage().heapUsed;
  if (process.env.BENCH_HEAPSNAPSHOT) writeHeapSnapshot(process.env.BENCH_HEAPSNAPSHOT);
  const floor = await parseFloor(reply);
  console.log('');
  console.log(
    `resync time (${totals.length} reconnects): p50 ${fmt(totals[Math.floor(totals.length / 2)]!)}, max ${fmt(totals.at(-1)!)} ` +
      `(goal < 1000 ms: ${totals.at(-1)! < 1000 ? 'met' : 'NOT met'}); cold ${fmt(first.result.totalMs)}`,
  );
  console.log(
    `client RSS: before connecting ${mb(rssBefore)}, peak ${mb(peakRss)} (after the cold resync ${mb(peakAfterCold)}) ` +
      `(goal < 100 MB: ${peakRss < 100 * 1024 * 1024 ? 'met' : 'NOT met'}); heap used after a full GC ${mb(heapAfterGc)}`,
  );
  if (floor) {
    console.log(
      `floor: a bare \`node\` that only JSON.parses this ${mb(byteLength(reply))} reply peaks at ${mb(floor.peak)} RSS (${mb(floor.before)} before the parse); ` +
        `confmgr's peak is ${(peakRss / floor.peak).toFixed(2)}x that (+${mb(peakRss - floor.peak)})`,
    );
  }
  console.log(`now: ${memoryLine()}`);

  sync.close();
  await pool.close();
  child.send({ cmd: 'exit' });
}

/**
 * RSS is the point of this bench, and tsx's loader alone costs ~50 MB; so by default the bench bundles
 * itself with esbuild (tsx's own dependency) and runs the bundle under plain node. `--tsx` skips that.
 */
async function runBundled(): Promise<number> {
  const { build } = await import('esbuild');
  const here = fileURLToPath(import.meta.url);
  // Inside the repo so the bundle's external packages (pino, p-queue…) resolve from node_modules.
  const outfile = join(dirname(here), '..', 'node_modules', '.cache', 'confmgr-bench', 'state.mjs');
  await build({ entryPoints: [here], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile, logLevel: 'error' });
  // CONFMGR_BENCH_NODE_FLAGS: V8 flags for the client, e.g. "--max-old-space-size=48 --max-semi-space-size=1".
  const flags = (process.env.CONFMGR_BENCH_NODE_FLAGS ?? '').split(/\s+/).filter((f) => f.startsWith('--'));
  const child = spawn(process.execPath, ['--expose-gc', ...flags, outfile, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, CONFMGR_BENCH_BUNDLED: '1' },
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}

if (process.argv.includes('--server')) await runServer();
else if (process.env.CONFMGR_BENCH_BUNDLED || process.argv.includes('--tsx')) await runClient();
else process.exitCode = await runBundled();
