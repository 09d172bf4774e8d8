/**
 * A rig for standby-pair tests: one simulated FreeSWITCH node, `confmgr start` processes with
 * `ha.enabled` listing it, an ESL tap recording what the simulator really sent, and a consumer on the
 * real RabbitMQ recording every published talking event by FreeSWITCH's identity (Core-UUID/Event-Sequence).
 */
import amqp from 'amqplib';
import type { ConsumeMessage } from 'amqplib';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import {
  AMQP_URL,
  configYaml,
  deleteBrokerObjects,
  EslClient,
  freePort,
  spawnCli,
  tempDir,
  uniq,
  writeConfig,
  type CliProcess,
} from '../helpers/acc-harness.js';
import { ACC_ACCOUNT, ACC_TOKEN } from '../helpers/acc-rig.js';

export interface Seen {
  id: string;
  /** Payload `node`: the publishing instance (`<app_name>@<host>`). */
  by: string;
  at: number;
}

export class HaRig {
  readonly tmp = tempDir('confmgr-ha-');
  readonly exchange = uniq('ha-ex');
  readonly node = uniq('fsha');
  readonly published: Seen[] = [];
  private readonly queues: string[] = [];
  private readonly procs: CliProcess[] = [];
  private readonly httpPorts = new Map<string, number>();
  sim!: Simulator;
  private tap!: EslClient;
  private amqpConn: amqp.ChannelModel | undefined;

  async open(): Promise<void> {
    this.sim = await startSimulator({ port: 0 });
    for (let i = 0; i < 3; i++) this.sim.engine.originate({ conference: 'ha-room', callerIdNumber: `10${i}`, callerIdName: `M${i}` });
    this.tap = await EslClient.connect(this.sim.port);
    await this.tap.send('event plain CUSTOM conference::maintenance');
    this.amqpConn = await amqp.connect(AMQP_URL);
    const ch = await this.amqpConn.createChannel();
    await ch.assertExchange(this.exchange, 'topic', { durable: true });
    const q = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(q.queue, this.exchange, 'conference.event.#');
    await ch.consume(q.queue, (msg: ConsumeMessage | null) => this.onMessage(msg), { noAck: true });
  }

  private onMessage(msg: ConsumeMessage | null): void {
    if (!msg) return;
    const h = msg.properties.headers ?? {};
    const body = JSON.parse(msg.content.toString()) as { node?: string; event?: string };
    if (body.event !== 'start-talking' && body.event !== 'stop-talking') return;
    this.published.push({ id: `${String(h['x-core-uuid'])}/${String(h['x-event-sequence'])}`, by: body.node ?? '', at: Date.now() });
  }

  async close(): Promise<void> {
    for (const p of this.procs) if (p.running) p.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => p.exited));
    this.tap?.close();
    await this.amqpConn?.close().catch(() => undefined);
    await this.sim?.close();
    await deleteBrokerObjects(this.exchange, this.queues);
    this.tmp.remove();
  }

  /**
   * Starts `confmgr start` as app `app` (its payloads say `<app>@<host>`); `eslPort` defaults to the
   * simulator's, `amqpPort` to the broker's.
   */
  async startInstance(app: string, eslPort = this.sim.port, amqpPort?: number): Promise<CliProcess> {
    const commandQueue = uniq(`ha-cmd-${app}`);
    this.queues.push(commandQueue);
    if (!this.httpPorts.has(app)) this.httpPorts.set(app, await freePort());
    const yaml = configYaml({
      eslPort,
      httpPort: this.httpPorts.get(app)!,
      exchange: this.exchange,
      commandQueue,
      dataDir: tempDir(`confmgr-ha-${app}-`).dir,
      token: ACC_TOKEN,
      account: ACC_ACCOUNT,
      nodeName: this.node,
      extra: 'ha:\n  enabled: true\n  takeover_ms: 1000\n',
    })
      .replace('app_name: confmgr', `app_name: ${app}`)
      .replace(AMQP_URL, amqpPort === undefined ? AMQP_URL : AMQP_URL.replace(/:\d+(\/|$)/, `:${amqpPort}$1`));
    const p = spawnCli(['start', '--config', writeConfig(this.tmp.dir, `${app}.yaml`, yaml)]);
    this.procs.push(p);
    await p.waitForOutput(/lease connection up/, 30_000);
    await p.waitForOutput(/connection ready/, 30_000);
    return p;
  }

  async readyz(app: string): Promise<{ status: number; body: any }> {
    const res = await fetch(`http://127.0.0.1:${this.httpPorts.get(app)}/readyz`);
    return { status: res.status, body: await res.json() };
  }

  async metrics(app: string): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.httpPorts.get(app)}/metrics`)).text();
  }

  /** A steady talking stream (200 events/s) until the returned stop() is awaited. */
  stream(): { stop(): Promise<void> } {
    let streaming = true;
    const running = (async () => {
      while (streaming) await this.sim.engine.flood({ conference: 'ha-room', members: 3, eventsPerSecond: 200, durationMs: 500 });
    })();
    return {
      stop: async () => {
        streaming = false;
        await running;
      },
    };
  }

  /** The talking events FreeSWITCH (the simulator) really sent, by Core-UUID/Event-Sequence. */
  sentBySimulator(): string[] {
    const ids: string[] = [];
    for (const f of this.tap.events) {
      const h: Record<string, string> = {};
      for (const line of f.body.split('\n')) {
        const i = line.indexOf(':');
        if (i > 0) h[line.slice(0, i)] = decodeURIComponent(line.slice(i + 1).trim());
      }
      if (h['Action'] === 'start-talking' || h['Action'] === 'stop-talking') ids.push(`${h['Core-UUID']}/${h['Event-Sequence']}`);
    }
    return ids;
  }

  firstBy(app: string, after: number): Seen | undefined {
    return this.published.find((s) => s.at >= after && s.by.startsWith(`${app}@`));
  }

  /** Sent by the simulator but never published, published more than once, published but never sent. */
  audit(): { sent: number; lost: string[]; doubled: string[]; extra: Seen[] } {
    const sent = this.sentBySimulator();
    const counts = new Map<string, number>();
    for (const p of this.published) counts.set(p.id, (counts.get(p.id) ?? 0) + 1);
    const sentSet = new Set(sent);
    return {
      sent: sent.length,
      lost: sent.filter((id) => !counts.has(id)),
      doubled: [...counts].filter(([, n]) => n > 1).map(([id]) => id),
      extra: this.published.filter((p) => !sentSet.has(p.id)),
    };
  }
}
