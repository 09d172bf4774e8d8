/**
 * The intake's routing on the real broker: a conference it serves reaches its own queue; one it does
 * not serve comes through the shared queue (the routing exchange's alternate exchange) and is refused
 * when another instance serves it; the shared queue's binding on the senders' exchange, left by a
 * single-queue deployment, is removed so nothing is answered twice.
 */
import amqp from 'amqplib';
import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpCommandIntake } from '../../src/bus/command-intake.js';
import { commandRoutingKey } from '../../src/bus/routing.js';
import type { CommandResult, ConferenceCommand, ConferenceCommandExecutor } from '../../src/conference/types.js';
import { AMQP_URL, ReplyRecorder, deleteAll, delay, uniqueName } from '../helpers/bus-amqp.js';

class FakeExecutor implements ConferenceCommandExecutor {
  readonly seen: string[] = [];
  async execute(command: ConferenceCommand): Promise<CommandResult> {
    this.seen.push(command.conference);
    return { command: `${command.conference} ${command.kind}`, node: 'fs1', reply: '+OK' };
  }
}

const exchange = uniqueName('t-route-ex');
const queue = uniqueName('t-route-q');
const executor = new FakeExecutor();
const served = new Set(['mine', 'room.1']);
/** Conferences live here on a node another instance serves. */
const elsewhere = new Set(['theirs']);
let intake: AmqpCommandIntake;
let client: ChannelModel;
let ch: Channel;
let recorder: ReplyRecorder;

beforeAll(async () => {
  client = await amqp.connect(AMQP_URL);
  ch = await client.createChannel();
  // What a single-queue deployment left on the broker: the shared queue bound to every command.
  await ch.assertExchange(exchange, 'topic', { durable: true });
  await ch.assertQueue(queue, { durable: true });
  await ch.bindQueue(queue, exchange, 'conference.command.*');
  intake = new AmqpCommandIntake({
    url: AMQP_URL,
    exchange,
    queue,
    executor,
    instanceName: 'test',
    routedConferences: () => served,
    servesConference: (name) => !elsewhere.has(name),
    reconnect: { baseMs: 50, capMs: 300 },
  });
  await intake.start();
  recorder = await ReplyRecorder.open(ch);
});

afterAll(async () => {
  await intake.close(1000);
  await deleteAll([exchange, intake.routingExchange, intake.unroutedExchange], [queue]);
  await client.close().catch(() => undefined);
});

async function send(conference: string): Promise<{ body: Record<string, any>; count: () => number }> {
  const { replies } = recorder;
  const id = recorder.send(exchange, conference);
  for (let i = 0; i < 200 && !replies.has(id); i++) await delay(25);
  const first = replies.get(id)?.[0];
  if (!first) throw new Error(`no reply for ${conference}`);
  return { body: JSON.parse(first.content.toString()) as Record<string, any>, count: () => replies.get(id)?.length ?? 0 };
}

describe('AmqpCommandIntake routing (real RabbitMQ)', () => {
  it('binds its own exclusive queue per served conference on the routing exchange', async () => {
    await intake.bindingsSettled();
    expect(intake.boundKeys().sort()).toEqual([commandRoutingKey('mine'), commandRoutingKey('room.1')].sort());
    expect(intake.ownQueue.startsWith(`${queue}.test.`)).toBe(true);
  });

  it('served and unknown conferences are run, each answered once; one served elsewhere is CONFERENCE_NOT_FOUND', async () => {
    const mine = await send('mine');
    const dotted = await send('room.1');
    const unknown = await send('nowhere');
    const theirs = await send('theirs');
    expect(mine.body.status).toBe('success');
    expect(dotted.body.status).toBe('success');
    expect(unknown.body.status).toBe('success'); // the executor decides, as a single instance does
    expect(theirs.body).toMatchObject({ status: 'error', error: { code: 'CONFERENCE_NOT_FOUND' } });
    expect(executor.seen).not.toContain('theirs');
    await delay(300);
    expect([mine.count(), dotted.count(), unknown.count(), theirs.count()]).toEqual([1, 1, 1, 1]);
  });

  it('a conference no longer served loses its binding', async () => {
    served.delete('mine');
    elsewhere.add('mine');
    intake.refreshBindings();
    await intake.bindingsSettled();
    expect(intake.boundKeys()).toEqual([commandRoutingKey('room.1')]);
    const before = executor.seen.length;
    const r = await send('mine');
    expect(r.body).toMatchObject({ status: 'error', error: { code: 'CONFERENCE_NOT_FOUND' } });
    expect(executor.seen.length).toBe(before);
  });
});

describe('routing names', () => {
  it('stay AMQP short strings (≤ 255 bytes) and distinct when the configured names are long', () => {
    const long = (c: string) => c.repeat(250);
    const a = new AmqpCommandIntake({ url: AMQP_URL, exchange: long('x'), queue: long('q'), executor, instanceName: long('i') });
    const b = new AmqpCommandIntake({ url: AMQP_URL, exchange: long('x'), queue: `${long('q')}2`, executor, instanceName: long('i') });
    for (const i of [a, b]) {
      for (const name of [i.routingExchange, i.unroutedExchange, i.ownQueue]) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    }
    expect(new Set([a.routingExchange, a.unroutedExchange, b.routingExchange, b.unroutedExchange]).size).toBe(4);
    expect(a.ownQueue).not.toBe(b.ownQueue);
    expect(intake.routingExchange).toBe(`${exchange}.${queue}`);
  });
});
