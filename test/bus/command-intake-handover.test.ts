/**
 * A command that reaches the shared queue while its conference's node changes hands (live here only on
 * a node nobody or another instance serves) is published again on the senders' exchange until an instance
 * binds the conference, then run there exactly once; past the handover wait it is CONFERENCE_NOT_FOUND.
 * Two real intakes on the real broker: A knows the conference as a standby copy, B takes the node over.
 */
import amqp from 'amqplib';
import type { ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpCommandIntake } from '../../src/bus/command-intake.js';
import type { CommandResult, ConferenceCommand, ConferenceCommandExecutor } from '../../src/conference/types.js';
import { AMQP_URL, ReplyRecorder, deleteAll, delay, uniqueName } from '../helpers/bus-amqp.js';

class RecordingExecutor implements ConferenceCommandExecutor {
  readonly seen: string[] = [];
  constructor(private readonly node: string) {}
  async execute(command: ConferenceCommand): Promise<CommandResult> {
    this.seen.push(command.conference);
    return { command: `${command.conference} ${command.kind}`, node: this.node, reply: '+OK' };
  }
}

const exchange = uniqueName('t-handover-ex');
const queue = uniqueName('t-handover-q');
/** Conferences each intake serves (its own queue is bound to them). */
const servedByA = new Set<string>();
const servedByB = new Set<string>();
/** Conferences live on a node in hand-over: known to both, served by neither until one binds them. */
const inHandover = new Set(['moving', 'stuck']);
const execA = new RecordingExecutor('via-a');
const execB = new RecordingExecutor('via-b');
let a: AmqpCommandIntake;
let b: AmqpCommandIntake;
let client: ChannelModel;
let recorder: ReplyRecorder;
/** Every reply by correlation id (filled by the recorder). */
let replies: ReplyRecorder['replies'];

function intake(name: string, served: Set<string>, executor: ConferenceCommandExecutor): AmqpCommandIntake {
  return new AmqpCommandIntake({
    url: AMQP_URL,
    exchange,
    queue,
    executor,
    instanceName: name,
    routedConferences: () => served,
    servesConference: (c) => served.has(c) || !inHandover.has(c),
    handoverWaitMs: 1500,
    rerouteEveryMs: 100,
    reconnect: { baseMs: 50, capMs: 300 },
  });
}

beforeAll(async () => {
  client = await amqp.connect(AMQP_URL);
  a = intake('a', servedByA, execA);
  b = intake('b', servedByB, execB);
  await a.start();
  await b.start();
  recorder = await ReplyRecorder.open(await client.createChannel());
  replies = recorder.replies;
});

afterAll(async () => {
  await a.close(1000);
  await b.close(1000);
  await deleteAll([exchange, a.routingExchange, a.unroutedExchange], [queue]);
  await client.close().catch(() => undefined);
});

function send(conference: string): string {
  return recorder.send(exchange, conference);
}

async function reply(id: string, withinMs: number): Promise<{ body: Record<string, any>; atMs: number }> {
  const start = Date.now();
  while (!replies.has(id) && Date.now() - start < withinMs) await delay(20);
  const first = replies.get(id)?.[0];
  if (!first) throw new Error(`no reply within ${withinMs} ms`);
  return { body: JSON.parse(first.content.toString()) as Record<string, any>, atMs: Date.now() - start };
}

describe('commands during a node handover (real RabbitMQ)', () => {
  it('wait for the new holder to bind the conference, then run there once', async () => {
    const id = send('moving');
    await delay(400); // nobody serves it yet: the command goes round through the routing exchange
    expect(replies.has(id)).toBe(false);
    servedByB.add('moving');
    b.refreshBindings();
    const r = await reply(id, 3000);
    expect(r.body).toMatchObject({ status: 'success', result: { node: 'via-b' } });
    expect(execB.seen).toEqual(['moving']);
    expect(execA.seen).toEqual([]);
    await delay(300);
    expect(replies.get(id)).toHaveLength(1);
    expect(a.stats().rerouted + b.stats().rerouted).toBeGreaterThan(0);
  });

  it('are answered CONFERENCE_NOT_FOUND once the handover wait is over, and only once', async () => {
    const sentAt = Date.now();
    const id = send('stuck');
    const r = await reply(id, 5000);
    expect(r.body).toMatchObject({ status: 'error', error: { code: 'CONFERENCE_NOT_FOUND' } });
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1400);
    await delay(300);
    expect(replies.get(id)).toHaveLength(1);
    expect([...execA.seen, ...execB.seen]).not.toContain('stuck');
  });

  it('a conference unknown here is not held: the executor answers at once', async () => {
    const id = send('elsewhere-unknown');
    const r = await reply(id, 1000);
    expect(r.body.status).toBe('success');
    expect(r.atMs).toBeLessThan(1000);
  });
});
