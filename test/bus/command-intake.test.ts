import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpCommandIntake } from '../../src/bus/command-intake.js';
import type { CommandReply } from '../../src/bus/command-message.js';
import { commandRoutingKey } from '../../src/bus/routing.js';
import { MemberNotFoundError } from '../../src/conference/errors.js';
import type { CommandResult, ConferenceCommand, ConferenceCommandExecutor } from '../../src/conference/types.js';
import { AMQP_URL, closeConnectionsNamed, deleteAll, delay, uniqueName } from '../helpers/bus-amqp.js';

class FakeExecutor implements ConferenceCommandExecutor {
  readonly seen: ConferenceCommand[] = [];
  async execute(command: ConferenceCommand): Promise<CommandResult> {
    this.seen.push(command);
    if ('target' in command && command.target === 99) throw new MemberNotFoundError(command.conference, 99);
    if (command.kind === 'get' && command.param === 'hang') return new Promise(() => undefined);
    if (command.kind === 'get' && command.param === 'crash') throw new TypeError('executor bug');
    return { command: `${command.conference} ${command.kind}`, node: 'fs1', reply: '+OK' };
  }
}

const exchange = uniqueName('t-conf-cmd');
const queue = uniqueName('t-cmd-q');
const executor = new FakeExecutor();
const intakeName = uniqueName('t-intake');
let intake: AmqpCommandIntake;
let client: ChannelModel;
let ch: Channel;
let replyQueue: string;
const replies = new Map<string, (msg: ConsumeMessage) => void>();

beforeAll(async () => {
  intake = new AmqpCommandIntake({ url: AMQP_URL, exchange, queue, executor, commandTimeoutMs: 500, connectionName: intakeName, reconnect: { baseMs: 50, capMs: 300 } });
  await intake.start();
  client = await amqp.connect(AMQP_URL);
  ch = await client.createChannel();
  replyQueue = (await ch.assertQueue('', { exclusive: true })).queue;
  await ch.consume(replyQueue, (msg) => {
    if (!msg) return;
    replies.get(msg.properties.correlationId as string)?.(msg);
  }, { noAck: true });
});

afterAll(async () => {
  await intake.close(1000);
  await client.close().catch(() => undefined);
  await deleteAll([exchange], [queue]);
});

function send(conference: string, body: unknown, raw?: string): Promise<{ reply: CommandReply; msg: ConsumeMessage }> {
  const correlationId = randomUUID();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no reply')), 15_000);
    replies.set(correlationId, (msg) => {
      clearTimeout(timer);
      resolve({ reply: JSON.parse(msg.content.toString()) as CommandReply, msg });
    });
    ch.publish(exchange, commandRoutingKey(conference), Buffer.from(raw ?? JSON.stringify(body)), { replyTo: replyQueue, correlationId, contentType: 'application/json' });
  });
}

describe('AmqpCommandIntake (real RabbitMQ)', () => {
  it('runs a Kazoo command and answers with the result and correlation id', async () => {
    const { reply, msg } = await send('room.1', { 'Event-Category': 'conference', 'Event-Name': 'command', 'Application-Name': 'mute_participant', 'Conference-ID': 'room.1', 'Participant-ID': 3, 'Msg-ID': 'k1' });
    expect(reply).toEqual({
      status: 'success',
      result: { command: 'room.1 mute', node: 'fs1', reply: '+OK' },
      'Event-Category': 'conference',
      'Event-Name': 'command_resp',
      'Application-Name': 'mute_participant',
      'Msg-ID': 'k1',
    });
    expect(msg.properties.contentType).toBe('application/json');
    expect(executor.seen.at(-1)).toEqual({ kind: 'mute', conference: 'room.1', target: 3 });
  });

  it('runs the confmgr form, taking the conference from the routing key', async () => {
    const { reply } = await send('my room', { command: { kind: 'lock' } });
    expect(reply.status).toBe('success');
    expect(executor.seen.at(-1)).toEqual({ kind: 'lock', conference: 'my room' });
  });

  it('answers typed errors from the executor', async () => {
    const { reply } = await send('c1', { command: { kind: 'kick', target: 99 } });
    expect(reply).toMatchObject({ status: 'error', error: { code: 'MEMBER_NOT_FOUND' }, 'Event-Name': 'conference_error' });
    const crash = await send('c1', { command: { kind: 'get', param: 'crash' } });
    expect(crash.reply.error).toEqual({ code: 'INTERNAL', message: 'executor bug' });
  });

  it('answers a timeout when the executor never finishes', async () => {
    const { reply } = await send('c1', { command: { kind: 'get', param: 'hang' } });
    expect(reply.error?.code).toBe('TIMEOUT');
  });

  it('bulk: one outcome per participant, in order', async () => {
    const { reply } = await send('c1', { 'Application-Name': 'deaf_participant', 'Participant-ID': [1, 99, 'all'] });
    expect(reply.status).toBe('error');
    expect(reply.error?.code).toBe('PARTIAL_FAILURE');
    expect(reply.results?.map((r) => r.status)).toEqual(['success', 'error', 'success']);
  });

  it('malformed and invalid messages get an error reply, are acked, and do not loop', async () => {
    const before = intake.stats().received;
    const bad = await send('c1', undefined, '{not json');
    expect(bad.reply).toMatchObject({ status: 'error', error: { code: 'INVALID_COMMAND' } });
    const invalid = await send('c1', { 'Application-Name': 'mute_participant' });
    expect(invalid.reply.error?.message).toMatch(/requires Participant-ID/);
    const unknown = await send('c1', { 'Application-Name': 'dance' });
    expect(unknown.reply.error?.code).toBe('INVALID_COMMAND');
    await delay(300);
    expect(intake.stats().received - before).toBe(3); // no redelivery
    const q = await ch.checkQueue(queue);
    expect(q.messageCount).toBe(0);
  });

  it('executes messages without reply_to and logs the outcome', async () => {
    const n = executor.seen.length;
    ch.publish(exchange, commandRoutingKey('quiet'), Buffer.from(JSON.stringify({ command: { kind: 'unlock' } })));
    for (let i = 0; i < 100 && executor.seen.length === n; i++) await delay(50);
    expect(executor.seen.at(-1)).toEqual({ kind: 'unlock', conference: 'quiet' });
    await delay(100);
    expect(intake.stats().noReplyTo).toBe(1);
  });

  it('keeps answering after its connection is forced closed (reconnects)', async () => {
    expect(await closeConnectionsNamed(intakeName)).toBe(1);
    // The durable queue keeps the command while the intake reconnects.
    const { reply } = await send('after-close', { command: { kind: 'lock' } });
    expect(reply.status).toBe('success');
    expect(intake.stats().connected).toBe(true);
  });
});
