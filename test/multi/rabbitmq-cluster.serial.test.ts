/**
 * A real 3-node RabbitMQ cluster (test/helpers/rabbitmq-cluster.ts, beside the default broker) under a
 * real `confmgr start` whose `amqp.url` lists the nodes, with `amqp.queue_type: quorum`. In the middle
 * of a steady event stream the node confmgr is connected to is SIGKILLed: confmgr reconnects to another
 * node and, through its buffer and publisher confirms, every talking event FreeSWITCH (the simulator)
 * sent reaches a consumer on a quorum queue of a surviving node — re-sends of an unconfirmed event with
 * the same message id allowed, nothing lost, nothing unknown. Afterwards commands are answered: one for
 * the served conference (the instance's own queue, bound again on the new node) and one nobody serves
 * (the shared quorum queue, whose leader was on the killed node).
 *
 * `amqp.url` names the first node twice (127.0.0.1 and localhost): the publisher and the command intake
 * each take the next broker of the list, so both connect to that node and both lose it.
 *
 * Serial phase: the cluster is three more Erlang VMs on the machine, and slow to form.
 */
import amqp from 'amqplib';
import type { ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConferenceEvent } from '../../src/conference/events.js';
import { defaultMsgId } from '../../src/conference/payload.js';
import { decodeEvent, type EslFrame } from '../../src/esl/index.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { CommandRequester } from '../helpers/bus-amqp.js';
import { ACC_ACCOUNT, ACC_TOKEN, kazoo } from '../helpers/acc-rig.js';
import { EslClient, eventually, freePort, sleep, spawnCli, tempDir, writeConfig, type CliProcess } from '../helpers/acc-harness.js';
import { RabbitCluster, type ClusterNode } from '../helpers/rabbitmq-cluster.js';

const NODE = 'fsrmq';
const ROOM = 'rmq-room';
const EXCHANGE = 'conference';
const TALKING = new Set(['start-talking', 'stop-talking']);

const tmp = tempDir('confmgr-rmqc-test-');
let cluster: RabbitCluster | undefined;
let sim: Simulator | undefined;
let tap: EslClient | undefined;
let confmgr: CliProcess | undefined;
let consumer: amqp.ChannelModel | undefined;
let requester: CommandRequester | undefined;

/** msg_id → deliveries to the consumer (talking events only). */
const received = new Map<string, number>();
let mismatchedIds = 0;

interface LogLine {
  time: number;
  msg: string;
  component?: string;
  url?: string;
  [k: string]: unknown;
}

function logLines(p: CliProcess): LogLine[] {
  return p.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/** The cluster node a `… connected to a broker of the list` line names (by its AMQP port). */
function brokerOf(line: LogLine, c: RabbitCluster): ClusterNode | undefined {
  const port = /:(\d+)(?:\/|$)/.exec(String(line.url ?? ''))?.[1];
  return port === undefined ? undefined : c.byPort(Number(port));
}

/** The talking events the simulator sent, as the msg_id confmgr derives from each one's identity. */
function sentMsgIds(): string[] {
  const ids: string[] = [];
  for (const f of tap!.events) {
    const frame: EslFrame = { type: 'text/event-plain', headers: f.headers, body: f.body };
    const event = parseConferenceEvent(decodeEvent(frame), NODE);
    if (event && TALKING.has(event.action)) ids.push(defaultMsgId(event));
  }
  return ids;
}

beforeAll(async () => {
  cluster = await RabbitCluster.start({ size: 3 });
  sim = await startSimulator({ port: 0 });
  for (let i = 0; i < 3; i++) sim.engine.originate({ conference: ROOM, callerIdNumber: `20${i}`, callerIdName: `R${i}` });
  tap = await EslClient.connect(sim.port);
  await tap.send('event plain CUSTOM conference::maintenance');
}, 120_000);

afterAll(async () => {
  if (confmgr?.running) confmgr.kill('SIGKILL');
  await confmgr?.exited;
  await requester?.close();
  await consumer?.close().catch(() => undefined);
  tap?.close();
  await sim?.close();
  await cluster?.close();
  tmp.remove();
}, 60_000);

describe('confmgr on a 3-node RabbitMQ cluster', () => {
  it('loses no event and keeps answering commands when the node it is connected to is killed', async () => {
    const c = cluster!;
    const [first, second, third] = c.nodes as [ClusterNode, ClusterNode, ClusterNode];
    const alias = first.url.replace('127.0.0.1', 'localhost');
    const httpPort = await freePort();
    const yaml = `app_name: confmgr-rmqc
freeswitch:
  nodes:
    - {name: ${NODE}, host: 127.0.0.1, port: ${sim!.port}, password: ClueCon, command_connections: 1}
  reconnect: {base_ms: 100, cap_ms: 1000}
amqp:
  url: [${first.url}, ${alias}, ${second.url}, ${third.url}]
  exchange: ${EXCHANGE}
  queue_type: quorum
  reconnect: {base_ms: 100, cap_ms: 1000}
http:
  listen: 127.0.0.1:${httpPort}
  tokens: [{token: ${ACC_TOKEN}, account_id: ${ACC_ACCOUNT}}]
storage:
  path: ${tmp.dir}/confmgr.sqlite
log:
  level: info
`;
    confmgr = spawnCli(['start', '--config', writeConfig(tmp.dir, 'confmgr.yaml', yaml)]);
    await confmgr.waitForOutput(/AMQP publisher connected/, 30_000);
    await confmgr.waitForOutput(/AMQP command intake consuming/, 30_000);
    await confmgr.waitForOutput(/connection ready/, 30_000);

    // Both connections on the first node: the victim.
    const connects = logLines(confmgr).filter((l) => l.msg === 'AMQP connected to a broker of the list');
    const publisherAt = connects.filter((l) => l.component === 'amqp-publisher').map((l) => brokerOf(l, c)?.nodename);
    const intakeAt = connects.filter((l) => l.component === 'amqp-commands').map((l) => brokerOf(l, c)?.nodename);
    expect([publisherAt, intakeAt]).toEqual([[first.nodename], [first.nodename]]);

    // The consumer and the command sender are on the third node (never killed); the consumer's queue is quorum.
    consumer = await amqp.connect(third.url);
    consumer.on('error', () => undefined);
    const ch = await consumer.createChannel();
    await ch.assertExchange(EXCHANGE, 'topic', { durable: true });
    const q = await ch.assertQueue('rmqc.events', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await ch.bindQueue(q.queue, EXCHANGE, 'conference.event.#');
    await ch.consume(
      q.queue,
      (msg: ConsumeMessage | null) => {
        if (!msg) return;
        const body = JSON.parse(msg.content.toString()) as { event?: string; msg_id?: string };
        ch.ack(msg);
        if (!TALKING.has(body.event ?? '')) return;
        if (msg.properties.messageId !== body.msg_id) mismatchedIds++;
        received.set(body.msg_id!, (received.get(body.msg_id!) ?? 0) + 1);
      },
      { noAck: false },
    );
    requester = await CommandRequester.open(EXCHANGE, third.url);
    const served = await requester.send<{ status: string }>(ROOM, kazoo('unlock', ROOM), 10_000);
    expect(served.status).toBe('success');

    // The premise of amqp.queue_type: a classic durable queue whose node dies cannot even be declared.
    const probe = await amqp.connect(first.url);
    await (await probe.createChannel()).assertQueue('rmqc.classic-probe', { durable: true });
    await probe.close();

    // What FreeSWITCH sends from here on must all arrive.
    tap!.events.length = 0;
    let streaming = true;
    const stream = (async () => {
      while (streaming) await sim!.engine.flood({ conference: ROOM, members: 3, eventsPerSecond: 200, durationMs: 500 });
    })();
    await sleep(2000);

    const killedAt = Date.now();
    await c.kill(first);
    const reconnected = await eventually(
      () => logLines(confmgr!).find((l) => l.msg === 'AMQP publisher connected' && l.time >= killedAt),
      20_000,
      'the publisher connected to another node',
    );
    const reconnectMs = reconnected.time - killedAt;
    const publisherNow = brokerOf(logLines(confmgr).filter((l) => l.component === 'amqp-publisher' && l.msg === 'AMQP connected to a broker of the list').at(-1)!, c);
    expect([second.nodename, third.nodename]).toContain(publisherNow?.nodename);
    await confmgr.waitForOutput(/AMQP command intake lost its connection/, 10_000);
    await eventually(
      () => logLines(confmgr!).some((l) => l.msg.startsWith('AMQP command intake consuming') && l.time >= killedAt),
      20_000,
      'the command intake consuming again',
    );
    const intakeMs = logLines(confmgr).find((l) => l.msg.startsWith('AMQP command intake consuming') && l.time >= killedAt)!.time - killedAt;

    await sleep(2000);
    streaming = false;
    await stream;

    // Commands after the failover: the served conference (own queue, bound on the new node) and one
    // nobody serves (the shared quorum queue; its leader died with the first node).
    const t0 = Date.now();
    const again = await requester.send<{ status: string; result?: { node?: string } }>(ROOM, kazoo('lock', ROOM), 10_000);
    const commandMs = Date.now() - t0;
    expect(again.status).toBe('success');
    const nobody = await requester.send<{ status: string; error?: { code?: string } }>('rmq-nowhere', kazoo('lock', 'rmq-nowhere'), 10_000);
    expect(nobody).toMatchObject({ status: 'error', error: { code: 'CONFERENCE_NOT_FOUND' } });

    const sent = sentMsgIds();
    await eventually(() => sent.every((id) => received.has(id)), 15_000, 'every sent event received').catch(() => undefined);
    await sleep(500);
    const lost = sent.filter((id) => !received.has(id));
    const sentSet = new Set(sent);
    const unknown = [...received.keys()].filter((id) => !sentSet.has(id));
    const deliveries = [...received.values()].reduce((a, b) => a + b, 0);
    const duplicates = deliveries - received.size;
    console.log(
      `3-node RabbitMQ cluster, node SIGKILLed mid-stream: ${sent.length} events sent; publisher reconnected after ${reconnectMs} ms, ` +
        `command intake after ${intakeMs} ms; lost ${lost.length}, duplicates (re-sent, same message id) ${duplicates}; ` +
        `a command after the failover answered in ${commandMs} ms`,
    );
    expect(sent.length).toBeGreaterThan(500);
    expect(lost).toEqual([]);
    expect(unknown).toEqual([]);
    expect(mismatchedIds).toBe(0);
    expect(reconnectMs).toBeLessThan(5000);

    const other = await amqp.connect(second.url);
    other.on('error', () => undefined);
    const och = await other.createChannel();
    och.on('error', () => undefined);
    await expect(och.assertQueue('rmqc.classic-probe', { durable: true })).rejects.toThrow(/home node .* is down/);
    await other.close().catch(() => undefined);
  }, 90_000);
});
