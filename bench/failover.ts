/**
 * Failover of instances sharing one node list: 3 real `confmgr start` processes (ha.enabled) × 3 simulated
 * FreeSWITCH nodes under a steady event stream, each instance SIGKILLed in turn and restarted, then one
 * SIGTERMed: takeover time, events lost and doubled, and the commands sent meanwhile.
 *
 *   simulators   (child)  three simulators, one conference each (`--members`, the last one only takes
 *                         commands); start/stop-talking at `--rate` events/s in all
 *   confmgr × 3  (children) bin/confmgr.js start, the same node list, ha.enabled, their own HTTP port and
 *                         command queue
 *   this process          ESL taps on every simulator (what FreeSWITCH really sent, by Core-UUID +
 *                         Event-Sequence), a consumer of everything published on the exchange, the
 *                         command sender, the kills and restarts
 *
 * Takeover: from the signal to the first event of each of the victim's nodes published by another
 * instance. Lost: sent by a simulator while measuring, never published; doubled: published more than
 * once (both judged by Core-UUID + Event-Sequence). Commands: from the signal until every node of the
 * victim is served again and `--after` ms more, a Kazoo mute/unmute every `--cmd-interval` ms to each
 * conference of the victim's nodes (exchange `conference` JSON, reply_to): answered, errors (by
 * code), unanswered after 10 s, reply latency.
 *
 * Usage: npm run bench -- failover [--rate 1000] [--members 4] [--kills 3] [--no-term] [--after 2000]
 *                                   [--cmd-interval 50] [--settle 2000] [--takeover-ms 1000] [--heartbeat-s 1]
 *   --kills N      SIGKILL rounds (instances in turn; default 3: each once)
 *   --no-term      skip the SIGTERM round
 *   --settle MS    steady time after the cluster is balanced again, before the next round
 *   --takeover-ms  the instances' ha.takeover_ms
 *   --heartbeat-s  the instances' ha.heartbeat_s (their lease connections' AMQP heartbeat)
 *   --verbose      print the instances' lease log lines at the end
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import type { ConsumeMessage } from 'amqplib';
import { commandRoutingKey } from '../src/bus/routing.js';
import { startSimulator, type Simulator } from '../src/simulator/index.js';
import { AMQP_URL, EslClient, deleteBrokerObjects, freePort, spawnCli, tempDir, writeConfig, type CliProcess } from '../test/helpers/acc-harness.js';
import { arg, percentile } from './_bus-common.js';
import { once, type Msg } from './_child-ipc.js';

const SELF = fileURLToPath(import.meta.url);
const NODES = 3;
const INSTANCES = 3;
const RATE = arg('rate', 1000);
const MEMBERS = Math.max(2, arg('members', 4));
const KILLS = arg('kills', INSTANCES);
const TERM = !process.argv.includes('--no-term');
const AFTER_MS = arg('after', 2000);
const CMD_INTERVAL_MS = arg('cmd-interval', 50);
const SETTLE_MS = arg('settle', 2000);
const TAKEOVER_MS = arg('takeover-ms', 1000);
const HEARTBEAT_S = arg('heartbeat-s', 1);
const VERBOSE = process.argv.includes('--verbose');
const AUDITED = new Set(['start-talking', 'stop-talking', 'mute-member', 'unmute-member']);
const GOAL_TAKEOVER_MS = 5000;


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// -------------------------------------------------------------------------------------------------
// Simulators (child): three nodes, one conference each; the flood talks with every member but the last.

interface SimInfo {
  port: number;
  conference: string;
  /** The member commands go to (not flooded). */
  commandMember: number;
}

async function simMain(): Promise<void> {
  const sims: Simulator[] = [];
  const infos: SimInfo[] = [];
  const tag = randomBytes(3).toString('hex');
  for (let i = 0; i < NODES; i++) {
    const sim = await startSimulator({ port: 0, host: '127.0.0.1' });
    const conference = `fo-${tag}-room${i}`;
    for (let m = 0; m < MEMBERS; m++) sim.engine.originate({ conference, callerIdNumber: `10${m}`, callerIdName: `M${m}` });
    for (let k = 0; k < 200 && (sim.engine.conference(conference)?.members.length ?? 0) < MEMBERS; k++) await sleep(50);
    const members = sim.engine.conference(conference)!.members;
    sims.push(sim);
    infos.push({ port: sim.port, conference, commandMember: members[members.length - 1]!.id });
  }
  let flooding = false;
  const floods: Array<Promise<void>> = [];
  process.on('message', (m: Msg) => {
    if (m.type === 'flood') {
      flooding = true;
      sims.forEach((sim, i) => {
        floods.push(
          (async () => {
            while (flooding) await sim.engine.flood({ conference: infos[i]!.conference, members: MEMBERS - 1, eventsPerSecond: RATE / NODES, durationMs: 1000 });
          })(),
        );
      });
      process.send!({ type: 'flooding' });
    } else if (m.type === 'halt') {
      flooding = false;
      void Promise.all(floods).then(() => process.send!({ type: 'halted' }));
    } else if (m.type === 'stop') {
      void Promise.all(sims.map((s) => s.close())).then(() => process.exit(0));
    }
  });
  process.send!({ type: 'ready', sims: infos });
}

// -------------------------------------------------------------------------------------------------
// The orchestrator

interface Instance {
  app: string;
  httpPort: number;
  config: string;
  commandQueue: string;
  proc: CliProcess | undefined;
  /** Lease log lines of earlier runs of this instance. */
  log: string[];
}

interface Published {
  count: number;
  by: string;
  at: number;
}

interface CommandStats {
  sent: number;
  answered: number;
  ok: number;
  errors: Map<string, number>;
  /** One message per error code. */
  errorSample: Map<string, string>;
  unanswered: number;
  /** Replies beyond the first to one command. */
  extraReplies: number;
  latencies: number[];
}

interface Round {
  label: string;
  signal: 'SIGKILL' | 'SIGTERM' | 'none';
  victim: string;
  nodes: string[];
  at: number;
  /** node → ms from the signal to the first event of that node published by another instance. */
  takeover: Map<string, number>;
  servedAgainMs: number;
  commands: CommandStats;
  end: number;
}

class Cluster {
  readonly exchange = `bench-fo-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly nodeNames = Array.from({ length: NODES }, (_, i) => `fo${i}-${randomBytes(2).toString('hex')}`);
  readonly tmp = tempDir('confmgr-failover-');
  readonly instances: Instance[] = [];
  /** Core-UUID/Event-Sequence → what the consumer saw. */
  readonly published = new Map<string, Published>();
  /** Core-UUID/Event-Sequence → node index and FreeSWITCH time (ms), of what the simulators sent while measuring. */
  readonly sent = new Map<string, { node: number; at: number }>();
  /** node name → publications in arrival order (by, at), for takeover times. */
  readonly byNode = new Map<string, Array<{ by: string; at: number }>>();
  measuring = false;
  private conn: amqp.ChannelModel | undefined;
  private ch: amqp.Channel | undefined;
  private taps: EslClient[] = [];
  private tapTimer: NodeJS.Timeout | undefined;
  /** Command id → the stats it counts in (replies after the first are counted there). */
  private readonly answeredBy = new Map<string, CommandStats>();
  private readonly pending = new Map<string, (at: number, status: string, code: string | undefined, message: string | undefined) => void>();

  constructor(readonly sims: SimInfo[]) {}

  async open(): Promise<void> {
    this.conn = await amqp.connect(AMQP_URL);
    const ch = (this.ch = await this.conn.createChannel());
    await ch.assertExchange(this.exchange, 'topic', { durable: true });
    const q = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(q.queue, this.exchange, 'conference.event.#');
    await ch.consume(q.queue, (msg) => this.onEvent(msg), { noAck: true });
    await ch.consume('amq.rabbitmq.reply-to', (msg) => this.onReply(msg), { noAck: true });
    for (const n of this.nodeNames) this.byNode.set(n, []);
    for (const s of this.sims) {
      const tap = await EslClient.connect(s.port);
      await tap.send('event plain CUSTOM conference::maintenance');
      this.taps.push(tap);
    }
    this.tapTimer = setInterval(() => this.drainTaps(), 100);
    for (let i = 0; i < INSTANCES; i++) {
      const app = `fo${i + 1}`;
      const httpPort = await freePort();
      // One config for all: the same command queue (the routing exchange and the queue of commands nobody serves are shared).
      const commandQueue = `${this.exchange}-cmd`;
      const nodes = this.sims
        .map((s, k) => `    - {name: ${this.nodeNames[k]}, host: 127.0.0.1, port: ${s.port}, password: ClueCon, command_connections: 1}`)
        .join('\n');
      const yaml = `app_name: ${app}
freeswitch:
  nodes:
${nodes}
  reconnect: {base_ms: 100, cap_ms: 1000}
amqp:
  url: ${AMQP_URL}
  exchange: ${this.exchange}
  command_queue: ${commandQueue}
  reconnect: {base_ms: 100, cap_ms: 1000}
http:
  listen: 127.0.0.1:${httpPort}
storage:
  path: ${join(this.tmp.dir, `${app}.sqlite`)}
ha:
  enabled: true
  takeover_ms: ${TAKEOVER_MS}
  heartbeat_s: ${HEARTBEAT_S}
`;
      this.instances.push({ app, httpPort, commandQueue, config: writeConfig(this.tmp.dir, `${app}.yaml`, yaml), proc: undefined, log: [] });
    }
  }

  private onEvent(msg: ConsumeMessage | null): void {
    if (!msg) return;
    const at = Date.now();
    const h = msg.properties.headers ?? {};
    const node = String(h['x-confmgr-node'] ?? '');
    const body = JSON.parse(msg.content.toString()) as { node?: string; event?: string };
    const by = String(body.node ?? '').split('@')[0]!;
    const sequence = Number(h['x-event-sequence']);
    if (sequence > 0) this.byNode.get(node)?.push({ by, at });
    if (!AUDITED.has(body.event ?? '') || !(sequence > 0)) return;
    const id = `${String(h['x-core-uuid'])}/${sequence}`;
    const p = this.published.get(id);
    if (p) p.count++;
    else this.published.set(id, { count: 1, by, at });
  }

  private drainTaps(): void {
    this.taps.forEach((tap, node) => {
      const frames = tap.events.splice(0);
      if (!this.measuring) return;
      for (const f of frames) {
        const h: Record<string, string> = {};
        for (const line of f.body.split('\n')) {
          const i = line.indexOf(':');
          if (i > 0) h[line.slice(0, i)] = decodeURIComponent(line.slice(i + 1).trim());
        }
        if (!AUDITED.has(h['Action'] ?? '')) continue;
        this.sent.set(`${h['Core-UUID']}/${h['Event-Sequence']}`, { node, at: Math.floor(Number(h['Event-Date-Timestamp']) / 1000) });
      }
    });
  }

  async startInstance(i: Instance): Promise<void> {
    if (i.proc) i.log.push(...leaseLines(i.proc.output));
    const p = spawnCli(['start', '--config', i.config]);
    i.proc = p;
    await p.waitForOutput(/lease connection up/, 60_000);
  }

  /** node → the instances that say they are active for it (running ones only). */
  async layout(): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>(this.nodeNames.map((n) => [n, []]));
    await Promise.all(
      this.instances
        .filter((i) => i.proc?.running)
        .map(async (i) => {
          const r = (await fetch(`http://127.0.0.1:${i.httpPort}/readyz`, { signal: AbortSignal.timeout(5000) })
            .then((x) => x.json())
            .catch(() => undefined)) as { nodes?: Record<string, { lease?: string }> } | undefined;
          for (const n of this.nodeNames) if (r?.nodes?.[n]?.lease === 'active') out.get(n)!.push(i.app);
        }),
    );
    return out;
  }

  /** Every node served by exactly one instance, none over ceil(nodes / running instances) (or only "served", `balanced` false). */
  async waitServed(balanced: boolean, timeoutMs = 30_000): Promise<Map<string, string[]>> {
    const deadline = Date.now() + timeoutMs;
    const running = this.instances.filter((i) => i.proc?.running).map((i) => i.app);
    const max = Math.ceil(NODES / running.length);
    for (;;) {
      const l = await this.layout();
      const once = [...l.values()].every((a) => a.length === 1);
      const fair = running.every((app) => [...l.values()].filter((a) => a[0] === app).length <= max);
      if (once && (!balanced || fair)) return l;
      if (Date.now() > deadline) throw new Error(`not ${balanced ? 'balanced' : 'served'} within ${timeoutMs} ms: ${fmtLayout(l)}`);
      await sleep(100);
    }
  }

  /** Mute/unmute every CMD_INTERVAL_MS to the conferences of `nodes` until stopped. */
  commander(nodes: string[]): { stop(): Promise<CommandStats> } {
    const stats: CommandStats = { sent: 0, answered: 0, ok: 0, errors: new Map(), errorSample: new Map(), unanswered: 0, extraReplies: 0, latencies: [] };
    const targets = nodes.map((n) => this.sims[this.nodeNames.indexOf(n)]!);
    const outstanding = new Set<string>();
    let k = 0;
    const timer = setInterval(() => {
      for (const s of targets) {
        const id = `fo-${randomBytes(6).toString('hex')}`;
        const app = k % 2 === 0 ? 'mute_participant' : 'unmute_participant';
        const sentAt = performance.now();
        outstanding.add(id);
        this.answeredBy.set(id, stats);
        this.pending.set(id, (at, status, code, message) => {
          outstanding.delete(id);
          stats.answered++;
          stats.latencies.push(at - sentAt);
          if (status === 'success') stats.ok++;
          else {
            const key = code ?? status;
            stats.errors.set(key, (stats.errors.get(key) ?? 0) + 1);
            if (!stats.errorSample.has(key)) stats.errorSample.set(key, message ?? '');
          }
        });
        const body = { 'Event-Category': 'conference', 'Event-Name': 'command', 'Application-Name': app, 'Conference-ID': s.conference, 'Participant-ID': s.commandMember, 'Msg-ID': id };
        this.ch!.publish(this.exchange, commandRoutingKey(s.conference), Buffer.from(JSON.stringify(body)), { replyTo: 'amq.rabbitmq.reply-to', correlationId: id, contentType: 'application/json' });
        stats.sent++;
      }
      k++;
    }, CMD_INTERVAL_MS);
    return {
      stop: async () => {
        clearInterval(timer);
        const deadline = Date.now() + 10_000;
        while (outstanding.size > 0 && Date.now() < deadline) await sleep(50);
        stats.unanswered = outstanding.size;
        for (const id of outstanding) this.pending.delete(id);
        return stats;
      },
    };
  }

  private onReply(msg: ConsumeMessage | null): void {
    if (!msg) return;
    const id = String(msg.properties.correlationId);
    const done = this.pending.get(id);
    this.pending.delete(id);
    if (!done) {
      const owner = this.answeredBy.get(id);
      if (owner) owner.extraReplies++;
      return;
    }
    let status = 'unparsable';
    let code: string | undefined;
    let message: string | undefined;
    try {
      const r = JSON.parse(msg.content.toString()) as { status?: string; error?: { code?: string; message?: string }; 'Error-Message'?: string };
      status = String(r.status ?? 'unknown');
      code = r.error?.code;
      message = r.error?.message ?? r['Error-Message'];
    } catch {
      /* counted as unparsable */
    }
    done?.(performance.now(), status, code, message);
  }

  async round(label: string, signal: 'SIGKILL' | 'SIGTERM', victim: Instance): Promise<Round> {
    const layout = await this.layout();
    const nodes = [...layout].filter(([, a]) => a[0] === victim.app).map(([n]) => n);
    const at = Date.now();
    const cmd = this.commander(nodes);
    victim.proc!.kill(signal);
    const takeover = new Map<string, number>();
    const deadline = at + 30_000;
    while (takeover.size < nodes.length && Date.now() < deadline) {
      for (const n of nodes) {
        if (takeover.has(n)) continue;
        const first = this.byNode.get(n)!.find((p) => p.at >= at && p.by !== victim.app);
        if (first) takeover.set(n, first.at - at);
      }
      await sleep(20);
    }
    await this.waitServed(false);
    const servedAgainMs = Date.now() - at;
    await sleep(AFTER_MS);
    const commands = await cmd.stop();
    await victim.proc!.exited;
    await this.startInstance(victim);
    await this.waitServed(true);
    await sleep(SETTLE_MS);
    return { label, signal, victim: victim.app, nodes, at, takeover, servedAgainMs, commands, end: Date.now() };
  }

  async close(): Promise<void> {
    clearInterval(this.tapTimer);
    for (const i of this.instances) if (i.proc?.running) i.proc.kill('SIGKILL');
    await Promise.all(this.instances.map((i) => i.proc?.exited));
    for (const t of this.taps) t.close();
    await this.conn?.close().catch(() => undefined);
    await deleteBrokerObjects(
      this.exchange,
      [...new Set(this.instances.flatMap((i) => [i.commandQueue, `${i.commandQueue}.dead`]))],
    );
    this.tmp.remove();
  }
}

function leaseLines(output: string): string[] {
  const out: string[] = [];
  for (const line of output.split('\n')) {
    if (!/lease|took over|rebalance|AMQP connection error/.test(line)) continue;
    try {
      const j = JSON.parse(line) as { time?: number; msg?: string; node?: string; released?: number; err?: { message?: string } };
      out.push(`${j.time} ${j.msg}${j.node ? ` ${j.node}` : ''}${j.released !== undefined ? ` released=${j.released}` : ''}${j.err?.message ? ` (${j.err.message})` : ''}`);
    } catch {
      /* not a log line */
    }
  }
  return out;
}

function fmtLayout(l: Map<string, string[]>): string {
  return [...l].map(([n, a]) => `${n}=${a.join('+') || '-'}`).join(' ');
}

const fmt = (v: number, digits = 0): string => (Number.isFinite(v) ? v.toFixed(digits) : '–');

async function main(): Promise<void> {
  const simChild = fork(SELF, ['--role', 'sim', ...process.argv.slice(2)], { execArgv: process.execArgv });
  const { sims } = await once<Msg & { sims: SimInfo[] }>(simChild, 'ready');
  const c = new Cluster(sims);
  const t0 = Date.now();
  const rounds: Round[] = [];
  try {
    await c.open();
    console.log(
      `failover bench: ${INSTANCES} confmgr instances × ${NODES} simulated nodes (ha.enabled, one node list), ${RATE} events/s in all, ` +
        `${KILLS} SIGKILL round(s)${TERM ? ' + 1 SIGTERM round' : ''}, ha.takeover_ms ${TAKEOVER_MS}, ha.heartbeat_s ${HEARTBEAT_S}, a mute/unmute every ${CMD_INTERVAL_MS} ms per conference of the victim's nodes; ` +
        `load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    );
    for (const i of c.instances) await c.startInstance(i);
    console.log(`  started: ${fmtLayout(await c.waitServed(true, 60_000))} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    simChild.send({ type: 'flood' });
    await once(simChild, 'flooding');
    await sleep(1000);
    c.measuring = true;
    // Steady state first: the same commands to every conference while nothing fails.
    const steadyAt = Date.now();
    const steady = c.commander(c.nodeNames);
    await sleep(Math.max(SETTLE_MS, 2000));
    rounds.push({ label: 'steady', signal: 'none', victim: '–', nodes: [], at: steadyAt, takeover: new Map(), servedAgainMs: NaN, commands: await steady.stop(), end: Date.now() });
    for (let k = 0; k < KILLS; k++) {
      const r = await c.round(`kill ${k + 1}`, 'SIGKILL', c.instances[k % INSTANCES]!);
      rounds.push(r);
      console.log(`  ${r.label}: ${r.victim} (${r.nodes.length} node(s)) taken over in ${[...r.takeover.values()].map((v) => `${v} ms`).join(', ') || '–'}`);
    }
    if (TERM) {
      const r = await c.round('term', 'SIGTERM', c.instances[KILLS % INSTANCES]!);
      rounds.push(r);
      console.log(`  ${r.label}: ${r.victim} (${r.nodes.length} node(s)) taken over in ${[...r.takeover.values()].map((v) => `${v} ms`).join(', ') || '–'}`);
    }
    simChild.send({ type: 'halt' });
    await once(simChild, 'halted');
    await sleep(500);
    c.measuring = false;
    // Drained: nothing new published for a while (a takeover may still release held events).
    let last = -1;
    for (let k = 0; k < 100 && last !== c.published.size; k++) {
      last = c.published.size;
      await sleep(1000);
    }
  } catch (err) {
    for (const i of c.instances) console.error(`\n${i.app}:\n${[...i.log, ...(i.proc ? leaseLines(i.proc.output) : [])].map((l) => `  ${l}`).join('\n')}\n${(i.proc?.stderr ?? '').slice(-2000)}`);
    throw err;
  } finally {
    await c.close();
    simChild.send({ type: 'stop' });
  }
  report(c, rounds, (Date.now() - t0) / 1000);
}

function report(c: Cluster, rounds: Round[], seconds: number): void {
  const lost = [...c.sent].filter(([id]) => !c.published.has(id));
  const doubled = [...c.published].filter(([, p]) => p.count > 1);
  const inRound = (at: number, r: Round, next: Round | undefined): boolean => at >= r.at && (next === undefined || at < next.at);
  console.log('');
  console.log('| round | signal | victim | its nodes | takeover ms | served again ms | lost | doubled | commands sent | answered | errors | unanswered | answered twice | reply p50 / p99 / max ms |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  rounds.forEach((r, k) => {
    const next = rounds[k + 1];
    const lostHere = lost.filter(([, s]) => inRound(s.at, r, next)).length;
    const dupHere = doubled.filter(([, p]) => inRound(p.at, r, next)).length;
    const lat = [...r.commands.latencies].sort((a, b) => a - b);
    const errors = [...r.commands.errors].map(([code, n]) => `${n} ${code}`).join(', ') || '0';
    console.log(
      `| ${r.label} | ${r.signal} | ${r.victim} | ${r.nodes.length} | ${[...r.takeover.values()].join(', ') || '–'} | ${fmt(r.servedAgainMs)} | ${lostHere} | ${dupHere} | ${r.commands.sent} | ${r.commands.answered} | ${errors} | ${r.commands.unanswered} | ${r.commands.extraReplies} | ${fmt(percentile(lat, 0.5), 1)} / ${fmt(percentile(lat, 0.99), 1)} / ${fmt(lat.at(-1) ?? NaN, 1)} |`,
    );
  });
  const takeovers = rounds.flatMap((r) => [...r.takeover.values()]).sort((a, b) => a - b);
  const killTakeovers = rounds.filter((r) => r.signal === 'SIGKILL').flatMap((r) => [...r.takeover.values()]).sort((a, b) => a - b);
  const failures = rounds.filter((r) => r.signal !== 'none');
  const missing = failures.reduce((s, r) => s + r.nodes.length - r.takeover.size, 0);
  const allLat = failures.flatMap((r) => r.commands.latencies).sort((a, b) => a - b);
  const cmdSent = failures.reduce((s, r) => s + r.commands.sent, 0);
  const cmdOk = failures.reduce((s, r) => s + r.commands.ok, 0);
  const cmdAnswered = failures.reduce((s, r) => s + r.commands.answered, 0);
  const cmdTwice = rounds.reduce((s, r) => s + r.commands.extraReplies, 0);
  console.log('');
  console.log('| measure | figure | goal |');
  console.log('| --- | --- | --- |');
  console.log(`| events sent while measuring | ${c.sent.size} (${RATE}/s, ${seconds.toFixed(0)} s run) | |`);
  console.log(`| events lost | ${lost.length} | 0 |`);
  console.log(`| events doubled | ${doubled.length} | 0 |`);
  console.log(`| takeover p50 / max, SIGKILL (ms) | ${fmt(percentile(killTakeovers, 0.5))} / ${fmt(killTakeovers.at(-1) ?? NaN)} | < ${GOAL_TAKEOVER_MS} |`);
  console.log(`| takeover p50 / max, all rounds (ms) | ${fmt(percentile(takeovers, 0.5))} / ${fmt(takeovers.at(-1) ?? NaN)}${missing > 0 ? ` (${missing} node(s) never taken over)` : ''} | < ${GOAL_TAKEOVER_MS} |`);
  console.log(`| commands during takeovers: answered / sent | ${cmdAnswered} / ${cmdSent} (${cmdOk} succeeded), ${cmdTwice} extra replies | every one answered once |`);
  console.log(`| command reply p50 / p99 (ms) | ${fmt(percentile(allLat, 0.5), 1)} / ${fmt(percentile(allLat, 0.99), 1)} | |`);
  const samples = new Map<string, string>();
  for (const r of rounds) for (const [code, m] of r.commands.errorSample) if (!samples.has(code)) samples.set(code, m);
  for (const [code, m] of samples) console.log(`${code}: e.g. "${m}"`);
  if (lost.length > 0) {
    const sample = lost.slice(0, 20).map(([id, s]) => `${c.nodeNames[s.node]}:${id.split('/')[1]}@${s.at}`);
    console.log(`\nlost (node:Event-Sequence@ms, first 20): ${sample.join(' ')}`);
  }
  if (doubled.length > 0) console.log(`doubled (first 20): ${doubled.slice(0, 20).map(([id, p]) => `${id.split('/')[1]}@${p.at}`).join(' ')}`);
  if (VERBOSE || lost.length > 0 || doubled.length > 0) {
    for (const i of c.instances) {
      console.log(`\n${i.app}:`);
      for (const l of [...i.log, ...(i.proc ? leaseLines(i.proc.output) : [])]) console.log(`  ${l}`);
    }
  }
}

const roleAt = process.argv.indexOf('--role');
if (roleAt >= 0 && process.argv[roleAt + 1] === 'sim') {
  void simMain();
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
