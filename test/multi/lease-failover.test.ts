/**
 * A standby pair, black-box: two real `confmgr start` processes (X, Z) list the same simulated
 * FreeSWITCH node with `ha.enabled`; a consumer on the real RabbitMQ counts every published event by
 * FreeSWITCH's identity (Core-UUID + Event-Sequence) against what the simulator really sent (an ESL
 * tap). In one steady talking stream: the active is SIGKILLed (the standby takes over within 5 s),
 * restarted (now the standby), then the new active gets SIGTERM (handover). Zero lost, zero doubled.
 */
import amqp from 'amqplib';
import type { ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import {
  AMQP_URL,
  configYaml,
  deleteBrokerObjects,
  eventually,
  EslClient,
  freePort,
  sleep,
  spawnCli,
  tempDir,
  uniq,
  writeConfig,
  type CliProcess,
} from '../helpers/acc-harness.js';
import { ACC_ACCOUNT, ACC_TOKEN } from '../helpers/acc-rig.js';

const tmp = tempDir('confmgr-ha-');
const exchange = uniq('ha-ex');
const queues: string[] = [];
const node = uniq('fsha');
let sim: Simulator;
let tap: EslClient;
const procs: CliProcess[] = [];
let amqpConn: amqp.ChannelModel;

interface Seen {
  id: string;
  by: string;
  at: number;
}
const published: Seen[] = [];

const httpPorts = new Map<string, number>();

async function instanceConfig(app: string): Promise<string> {
  const commandQueue = uniq(`ha-cmd-${app}`);
  queues.push(commandQueue);
  const dir = tempDir(`confmgr-ha-${app}-`).dir;
  const yaml = configYaml({
    eslPort: sim.port,
    httpPort: await port(app),
    exchange,
    commandQueue,
    dataDir: dir,
    token: ACC_TOKEN,
    account: ACC_ACCOUNT,
    nodeName: node,
    extra: 'ha:\n  enabled: true\n  takeover_ms: 1000\n',
  }).replace('app_name: confmgr', `app_name: ${app}`);
  return writeConfig(tmp.dir, `${app}.yaml`, yaml);
}

async function port(app: string): Promise<number> {
  if (!httpPorts.has(app)) httpPorts.set(app, await freePort());
  return httpPorts.get(app)!;
}

async function readyz(app: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${httpPorts.get(app)}/readyz`);
  return { status: res.status, body: await res.json() };
}

async function metricsOf(app: string): Promise<string> {
  return (await fetch(`http://127.0.0.1:${httpPorts.get(app)}/metrics`)).text();
}

async function startInstance(app: string): Promise<CliProcess> {
  const p = spawnCli(['start', '--config', await instanceConfig(app)]);
  procs.push(p);
  await p.waitForOutput(/lease connection up/, 30_000);
  await p.waitForOutput(/connection ready/, 30_000);
  return p;
}

/** The conference events FreeSWITCH (the simulator) really sent, by Core-UUID/Event-Sequence. */
function sentBySimulator(): string[] {
  const ids: string[] = [];
  for (const f of tap.events) {
    const h: Record<string, string> = {};
    for (const line of f.body.split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) h[line.slice(0, i)] = decodeURIComponent(line.slice(i + 1).trim());
    }
    if (h['Action'] === 'start-talking' || h['Action'] === 'stop-talking') ids.push(`${h['Core-UUID']}/${h['Event-Sequence']}`);
  }
  return ids;
}

function firstBy(app: string, after: number): Seen | undefined {
  return published.find((s) => s.at >= after && s.by.startsWith(`${app}@`));
}

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
  for (let i = 0; i < 3; i++) sim.engine.originate({ conference: 'ha-room', callerIdNumber: `10${i}`, callerIdName: `M${i}` });
  tap = await EslClient.connect(sim.port);
  await tap.send('event plain CUSTOM conference::maintenance');
  amqpConn = await amqp.connect(AMQP_URL);
  const ch = await amqpConn.createChannel();
  await ch.assertExchange(exchange, 'topic', { durable: true });
  const q = await ch.assertQueue('', { exclusive: true, autoDelete: true });
  await ch.bindQueue(q.queue, exchange, 'conference.event.#');
  await ch.consume(
    q.queue,
    (msg: ConsumeMessage | null) => {
      if (!msg) return;
      const h = msg.properties.headers ?? {};
      const body = JSON.parse(msg.content.toString()) as { node?: string; event?: string };
      if (body.event !== 'start-talking' && body.event !== 'stop-talking') return;
      published.push({ id: `${String(h['x-core-uuid'])}/${String(h['x-event-sequence'])}`, by: body.node ?? '', at: Date.now() });
    },
    { noAck: true },
  );
}, 60_000);

afterAll(async () => {
  for (const p of procs) if (p.running) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  tap?.close();
  await amqpConn?.close().catch(() => undefined);
  await sim?.close();
  await deleteBrokerObjects(exchange, queues);
  tmp.remove();
}, 60_000);

describe('a standby pair on one FreeSWITCH node', () => {
  it('SIGKILL of the active: the standby takes over within 5 s; SIGTERM hands over; no event lost or doubled', async () => {
    const x = await startInstance('confmgrx');
    await x.waitForOutput(/lease acquired: active for node/, 15_000);
    const z = await startInstance('confmgrz');
    await sleep(1500);
    expect(z.output).not.toMatch(/lease acquired/);
    // Both ready; each says what it is for the node.
    const zReady = await eventually(async () => {
      const r = await readyz('confmgrz');
      return r.status === 200 ? r : undefined;
    }, 20_000, 'standby ready');
    expect(zReady.body.nodes[node]).toMatchObject({ lease: 'standby', ready: true });
    expect((await readyz('confmgrx')).body.nodes[node]).toMatchObject({ lease: 'active', ready: true });

    // A steady stream until the test says stop, however long the instances take to start here.
    let streaming = true;
    const stream = (async () => {
      while (streaming) await sim.engine.flood({ conference: 'ha-room', members: 3, eventsPerSecond: 200, durationMs: 500 });
    })();
    await sleep(3000);
    const killedAt = Date.now();
    x.kill('SIGKILL');
    const zFirst = await eventually(() => firstBy('confmgrz', killedAt), 10_000, 'the standby publishing');
    const killTakeoverMs = zFirst.at - killedAt;
    const zMetrics = await metricsOf('confmgrz');
    expect(zMetrics).toContain(`confmgr_node_active{node="${node}",state="active"} 1`);
    expect(zMetrics).toContain(`confmgr_node_takeovers_total{node="${node}"} 1`);
    expect(zMetrics).toMatch(new RegExp(`confmgr_node_takeover_seconds_count\\{node="${node}"\\} 1`));

    // X comes back: now the standby.
    await startInstance('confmgrx');
    await sleep(1500);
    const termAt = Date.now();
    z.kill('SIGTERM');
    const xFirst = await eventually(() => firstBy('confmgrx', termAt), 15_000, 'the restarted instance publishing');
    const termTakeoverMs = xFirst.at - termAt;

    await sleep(2000);
    streaming = false;
    await stream;
    await sleep(500); // the tap's last frames
    const sent = sentBySimulator();
    await eventually(() => new Set(published.map((p) => p.id)).size >= sent.length, 15_000, 'every event published').catch(() => undefined);
    await sleep(1000);

    const counts = new Map<string, number>();
    for (const p of published) counts.set(p.id, (counts.get(p.id) ?? 0) + 1);
    const lost = sent.filter((id) => !counts.has(id));
    const doubled = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    const sentSet = new Set(sent);
    const extra = published.filter((p) => !sentSet.has(p.id));
    if (extra.length > 0) console.log('published, not sent by FreeSWITCH:', extra, { killedAt, termAt });
    console.log(`standby pair: ${sent.length} events; SIGKILL takeover ${killTakeoverMs} ms, SIGTERM handover ${termTakeoverMs} ms; lost ${lost.length}, doubled ${doubled.length}`);
    expect(sent.length).toBeGreaterThan(1500);
    expect(lost).toEqual([]);
    expect(doubled).toEqual([]);
    expect(published.length).toBe(sent.length);
    expect(killTakeoverMs).toBeLessThan(5000);
    expect(termTakeoverMs).toBeLessThan(5000);
    // Each instance published for its own stretch only.
    expect(published.filter((p) => p.at < killedAt).every((p) => p.by.startsWith('confmgrx@'))).toBe(true);
  }, 120_000);
});
