/**
 * Several real `confmgr start` processes on one RabbitMQ, each serving its own simulated FreeSWITCH:
 * a command reaches the instance that serves its conference and is answered exactly once; a command
 * for a conference nobody serves is answered CONFERENCE_NOT_FOUND exactly once, within a second; a
 * conference created after start gets its binding, a destroyed one loses it.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandRoutingKey } from '../../src/bus/routing.js';
import {
  AMQP_URL,
  CliProcess,
  EslClient,
  configYaml,
  deleteBrokerObjects,
  eventually,
  freePort,
  sleep,
  spawnCli,
  startSimulatorProcess,
  tempDir,
  uniq,
  writeConfig,
} from '../helpers/acc-harness.js';
import { ACC_ACCOUNT, ACC_TOKEN, kazoo, waitReady } from '../helpers/acc-rig.js';

const run = promisify(execFile);

interface Site {
  node: string;
  sim: CliProcess;
  esl: EslClient;
  svc: CliProcess;
}

/** Publishes commands and keeps every reply per correlation id (to see doubles). */
class Rpc {
  readonly replies = new Map<string, Array<{ body: Record<string, any>; at: number }>>();
  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: Channel,
    private readonly exchange: string,
  ) {}

  static async create(exchange: string): Promise<Rpc> {
    const connection = await amqp.connect(AMQP_URL);
    connection.on('error', () => undefined);
    const channel = await connection.createChannel();
    const rpc = new Rpc(connection, channel, exchange);
    await channel.consume(
      'amq.rabbitmq.reply-to',
      (msg) => {
        if (!msg) return;
        const id = msg.properties.correlationId as string;
        const list = rpc.replies.get(id) ?? [];
        list.push({ body: JSON.parse(msg.content.toString('utf8')) as Record<string, any>, at: Date.now() });
        rpc.replies.set(id, list);
      },
      { noAck: true },
    );
    return rpc;
  }

  /** Sends; resolves with the first reply and when it came (ms after sending). */
  async call(conference: string, body: unknown, timeoutMs = 15_000, routingKey = commandRoutingKey(conference)): Promise<{ id: string; reply: Record<string, any>; ms: number }> {
    const id = randomBytes(8).toString('hex');
    const sent = Date.now();
    this.channel.publish(this.exchange, routingKey, Buffer.from(JSON.stringify(body)), {
      replyTo: 'amq.rabbitmq.reply-to',
      correlationId: id,
      contentType: 'application/json',
    });
    const first = await eventually(() => this.replies.get(id)?.[0], timeoutMs, `reply to ${JSON.stringify(body)}`);
    return { id, reply: first.body, ms: first.at - sent };
  }

  count(id: string): number {
    return this.replies.get(id)?.length ?? 0;
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

const tmp = tempDir('confmgr-multi-');
const exchange = uniq('multi-ex');
const commandQueue = uniq('multi-cmd');
const sites: Site[] = [];
let rpc: Rpc;

async function startSite(node: string): Promise<Site> {
  const eslPort = await freePort();
  const httpPort = await freePort();
  const sim = await startSimulatorProcess(eslPort);
  const esl = await EslClient.connect(eslPort);
  const dir = `${tmp.dir}/${node}`;
  await import('node:fs').then((fs) => fs.mkdirSync(dir, { recursive: true }));
  const file = writeConfig(
    dir,
    'confmgr.yaml',
    configYaml({ eslPort, httpPort, exchange, commandQueue, dataDir: dir, token: ACC_TOKEN, account: ACC_ACCOUNT, nodeName: node }),
  );
  const svc = spawnCli(['start', '--config', file]);
  try {
    await waitReady(`http://127.0.0.1:${httpPort}`);
  } catch (err) {
    throw new Error(`${String(err)}\n${svc.output.slice(-3000)}`);
  }
  return { node, sim, esl, svc };
}

/** Which conference names the simulator reports, with their lock flag and member ids. */
async function listing(site: Site): Promise<Map<string, { locked: boolean; members: Array<{ id: number; muted: boolean }> }>> {
  const text = await site.esl.api('conference json_list');
  const out = new Map<string, { locked: boolean; members: Array<{ id: number; muted: boolean }> }>();
  if (!text.trim().startsWith('[')) return out;
  for (const c of JSON.parse(text) as Array<Record<string, any>>) {
    out.set(c.conference_name as string, {
      locked: c.locked === true,
      members: (c.members as Array<Record<string, any>>).map((m) => ({ id: m.id as number, muted: m.flags?.can_speak === false })),
    });
  }
  return out;
}

/** The command keys bound to an instance's own queue, per queue, read from the broker. */
async function ownBindings(): Promise<string[]> {
  const { stdout } = await run('rabbitmqctl', ['list_bindings', '-q', '--no-table-headers', 'source_name', 'routing_key', 'destination_name'], { timeout: 60_000 });
  return stdout
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((f) => f[0] === `${exchange}.${commandQueue}`)
    .map((f) => f[1]!);
}

/** Waits until a command to `conference` succeeds (the serving instance has bound it). */
async function untilServed(conference: string): Promise<void> {
  await eventually(async () => (await rpc.call(conference, kazoo('unlock', conference))).reply.status === 'success', 15_000, `${conference} served`);
}

beforeAll(async () => {
  sites.push(...(await Promise.all([startSite('fsA'), startSite('fsB')])));
  rpc = await Rpc.create(exchange);
  const [a, b] = sites as [Site, Site];
  for (const [site, conf] of [
    [a, 'a-one'],
    [a, 'a.two'],
    [b, 'b-one'],
    [b, 'b_two'],
  ] as const) {
    await site.esl.originate(conf, '1001', 'Alice');
    await site.esl.originate(conf, '1002', 'Bob');
  }
  for (const conf of ['a-one', 'a.two', 'b-one', 'b_two']) await untilServed(conf);
}, 90_000);

afterAll(async () => {
  await rpc?.close();
  for (const s of sites) {
    s.esl.close();
    await Promise.all([s.svc.stop(), s.sim.stop(3000)]);
  }
  await deleteBrokerObjects(exchange, [commandQueue, `${commandQueue}.dead`]);
  tmp.remove();
}, 60_000);

describe('two instances, each serving its own FreeSWITCH, one broker', () => {
  it('an irregular sequence of commands: each answered once, correctly, run on the right simulator', async () => {
    const [a, b] = sites as [Site, Site];
    const home: Record<string, Site> = { 'a-one': a, 'a.two': a, 'b-one': b, 'b_two': b };
    const expected = new Map<string, { locked: boolean; muted: Map<number, boolean> }>();
    for (const [conf, site] of Object.entries(home)) {
      const l = (await listing(site)).get(conf)!;
      expected.set(conf, { locked: false, muted: new Map(l.members.map((m) => [m.id, false])) });
    }
    // A fixed pseudo-random order: bursts on one node, then the other, some conferences twice in a row.
    const confs = Object.keys(home);
    let seed = 7;
    const next = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const ids: string[] = [];
    for (let i = 0; i < 28; i++) {
      const conf = confs[next(confs.length)]!;
      const exp = expected.get(conf)!;
      const members = [...exp.muted.keys()];
      let body: Record<string, unknown>;
      if (next(2) === 0) {
        exp.locked = !exp.locked;
        body = kazoo(exp.locked ? 'lock' : 'unlock', conf);
      } else {
        const member = members[next(members.length)]!;
        const mute = !exp.muted.get(member);
        exp.muted.set(member, mute);
        body = kazoo(mute ? 'mute_participant' : 'unmute_participant', conf, { 'Participant-ID': member });
      }
      const { id, reply } = await rpc.call(conf, body);
      ids.push(id);
      expect([conf, reply.status, reply.result?.node]).toEqual([conf, 'success', home[conf]!.node]);
    }
    // No second answer to anything.
    await sleep(500);
    expect(ids.map((id) => rpc.count(id))).toEqual(ids.map(() => 1));
    // Each simulator holds exactly the state the commands for its own conferences made.
    for (const [conf, site] of Object.entries(home)) {
      const l = (await listing(site)).get(conf)!;
      const exp = expected.get(conf)!;
      expect([conf, l.locked, l.members.map((m) => [m.id, m.muted])]).toEqual([conf, exp.locked, [...exp.muted.entries()]]);
    }
  }, 60_000);

  it('a command for a conference nobody serves: exactly one CONFERENCE_NOT_FOUND within a second', async () => {
    for (const conf of ['nobody-here', 'no.such-room']) {
      const { id, reply, ms } = await rpc.call(conf, kazoo('lock', conf), 1000);
      expect(reply).toMatchObject({ status: 'error', error: { code: 'CONFERENCE_NOT_FOUND' } });
      expect(ms).toBeLessThan(1000);
      await sleep(500);
      expect(rpc.count(id)).toBe(1);
    }
  });

  it("Kazoo's search_req on conference.discovery: answered once, by the instance serving the conference; nobody answers for an unknown one", async () => {
    const search = (conf: string): Record<string, unknown> => ({ 'Event-Category': 'conference', 'Event-Name': 'search_req', 'Conference-ID': conf, 'Msg-ID': `s-${conf}` });
    for (const [conf, node] of [['b-one', 'fsB'], ['a-one', 'fsA']] as const) {
      const { id, reply } = await rpc.call(conf, search(conf), 5_000, 'conference.discovery');
      expect(reply).toMatchObject({ status: 'success', 'Event-Name': 'search_resp', 'Conference-ID': conf, 'Switch-Hostname': node, Running: true });
      await sleep(500);
      expect(rpc.count(id)).toBe(1);
    }
    const unknown = rpc.call('kz-nowhere', search('kz-nowhere'), 1_000, 'conference.discovery');
    await expect(unknown).rejects.toThrow();
  });

  it('a conference created after start gets its binding; a destroyed one loses it', async () => {
    const [, b] = sites as [Site, Site];
    const uuid = await b.esl.originate('late.room', '2001', 'Carol');
    await untilServed('late.room');
    const { id, reply } = await rpc.call('late.room', kazoo('lock', 'late.room'));
    expect(reply).toMatchObject({ status: 'success', result: { node: 'fsB' } });
    expect(await ownBindings()).toContain(commandRoutingKey('late.room'));

    await b.esl.api(`uuid_kill ${uuid}`);
    await eventually(async () => !(await ownBindings()).includes(commandRoutingKey('late.room')), 20_000, 'binding removed');
    const gone = await rpc.call('late.room', kazoo('lock', 'late.room'), 1000);
    expect(gone.reply).toMatchObject({ status: 'error', error: { code: 'CONFERENCE_NOT_FOUND' } });
    await sleep(500);
    expect([rpc.count(id), rpc.count(gone.id)]).toEqual([1, 1]);
    // The live conferences are still bound, each once.
    const keys = await ownBindings();
    for (const conf of ['a-one', 'a.two', 'b-one', 'b_two']) expect(keys.filter((k) => k === commandRoutingKey(conf))).toHaveLength(1);
  }, 60_000);
});
