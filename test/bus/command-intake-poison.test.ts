/**
 * Hostile and poison command messages against the real RabbitMQ: each is seen once, answered or
 * logged, and gone. Oversized bodies are refused before parsing, lists are capped, replies are
 * bounded, and what could not be handled lands in the dead-letter queue instead of being requeued.
 */
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpCommandIntake } from '../../src/bus/command-intake.js';
import type { CommandReply } from '../../src/bus/command-message.js';
import { commandRoutingKey } from '../../src/bus/routing.js';
import type { CommandResult, ConferenceCommand, ConferenceCommandExecutor } from '../../src/conference/types.js';
import { AMQP_URL, deleteAll, delay, uniqueName } from '../helpers/bus-amqp.js';

class CountingExecutor implements ConferenceCommandExecutor {
  executed = 0;
  async execute(command: ConferenceCommand): Promise<CommandResult> {
    this.executed++;
    return { command: `${command.conference} ${command.kind}`, node: 'fs1', reply: '+OK' };
  }
}

const exchange = uniqueName('t-conf-poison');
const queue = uniqueName('t-cmd-poison');
const deadQueue = `${queue}.dead`;
const executor = new CountingExecutor();
let intake: AmqpCommandIntake;
let client: ChannelModel;
let ch: Channel;
let replyQueue: string;
const replies = new Map<string, (msg: ConsumeMessage) => void>();

beforeAll(async () => {
  // A 1 MiB body cap (the default is 256 KiB) so that the 200k-id list below reaches the list cap.
  intake = new AmqpCommandIntake({ url: AMQP_URL, exchange, queue, executor, maxBodyBytes: 1024 * 1024, commandTimeoutMs: 500, reconnect: { baseMs: 50, capMs: 300 } });
  await intake.start();
  client = await amqp.connect(AMQP_URL);
  ch = await client.createChannel();
  replyQueue = (await ch.assertQueue('', { exclusive: true })).queue;
  await ch.consume(replyQueue, (msg) => {
    if (msg) replies.get(msg.properties.correlationId as string)?.(msg);
  }, { noAck: true });
});

afterAll(async () => {
  await intake.close(1000);
  await client.close().catch(() => undefined);
  await deleteAll([exchange], [queue, deadQueue]);
});

function publishRaw(conference: string, body: Buffer, withReply = true): Promise<{ reply: CommandReply; msg: ConsumeMessage; ms: number }> {
  const correlationId = randomUUID();
  const t0 = performance.now();
  const answered = new Promise<{ reply: CommandReply; msg: ConsumeMessage; ms: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no reply within 10 s')), 10_000);
    replies.set(correlationId, (msg) => {
      clearTimeout(timer);
      resolve({ reply: JSON.parse(msg.content.toString()) as CommandReply, msg, ms: performance.now() - t0 });
    });
  });
  ch.publish(exchange, commandRoutingKey(conference), body, withReply ? { replyTo: replyQueue, correlationId } : {});
  return withReply ? answered : new Promise(() => undefined);
}

const send = (conference: string, body: unknown) => publishRaw(conference, Buffer.from(JSON.stringify(body)));

async function deadLettered(timeoutMs = 5000): Promise<amqp.GetMessage> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await ch.get(deadQueue, { noAck: true });
    if (got) return got;
    if (Date.now() > deadline) throw new Error('nothing in the dead-letter queue');
    await delay(50);
  }
}

/** Kazoo's bulk form with `n` ids, built as text (a 3,000,000-element array literal is slow to stringify). */
function kazooIds(n: number): Buffer {
  return Buffer.from(`{"Application-Name":"mute_participant","Conference-ID":"nosuchconf","Participant-ID":[${'1,'.repeat(n - 1)}1]}`);
}

describe('poison command messages (real RabbitMQ)', () => {
  it('a 3,000,000-id message (5.7 MB) is answered MESSAGE_TOO_LARGE within a second, the loop stays responsive, no redelivery', async () => {
    const body = kazooIds(3_000_000);
    expect(body.length).toBeGreaterThan(5_000_000);
    const before = { received: intake.stats().received, executed: executor.executed };
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const { reply, ms } = await publishRaw('nosuchconf', body);
    // The intake is still answering at once.
    const next = await send('after-poison', { command: { kind: 'lock' } });
    loop.disable();
    expect(reply).toMatchObject({ status: 'error', error: { code: 'MESSAGE_TOO_LARGE' }, 'Event-Name': 'conference_error' });
    expect(ms).toBeLessThan(1000);
    expect(next.reply.status).toBe('success');
    expect(loop.max / 1e6).toBeLessThan(500);
    expect(executor.executed - before.executed).toBe(1); // only the lock; nothing of the poison ran
    await delay(300);
    expect(intake.stats().received - before.received).toBe(2); // seen once, not redelivered
    expect((await ch.checkQueue(queue)).messageCount).toBe(0);
    const dead = await deadLettered();
    expect(dead.content.length).toBe(body.length);
    expect(dead.properties.headers?.['x-confmgr-reason']).toBe('too_large');
  }, 30_000);

  it('a 200,000-id list is refused by the list cap with a small reply, nothing executed', async () => {
    const before = executor.executed;
    const body = kazooIds(200_000);
    expect(body.length).toBeLessThan(1024 * 1024); // under the size cap: the list cap must refuse it
    const { reply, msg, ms } = await publishRaw('nosuchconf', body);
    expect(reply).toMatchObject({ status: 'error', error: { code: 'INVALID_COMMAND' } });
    expect(reply.error?.message).toMatch(/at most 1000/);
    expect(msg.content.length).toBeLessThan(2000);
    expect(ms).toBeLessThan(1000);
    expect(executor.executed).toBe(before);
  });

  it('the confmgr form has the same caps: more than 1000 commands or an over-long string is refused', async () => {
    const many = await send('c1', { commands: Array.from({ length: 1001 }, () => ({ kind: 'lock' })) });
    expect(many.reply.error?.message).toMatch(/at most 1000/);
    const long = await send('c1', { command: { kind: 'play', file: `/tmp/${'a'.repeat(5000)}.wav` } });
    expect(long.reply.error?.code).toBe('INVALID_COMMAND');
    const kazooLong = await send('c1', { 'Application-Name': 'play', 'Media-Name': 'x'.repeat(5000) });
    expect(kazooLong.reply.error?.code).toBe('INVALID_COMMAND');
  });

  it('a non-JSON message is answered and held in the dead-letter queue, with the reason', async () => {
    const { reply } = await publishRaw('c1', Buffer.from('{not json'));
    expect(reply.error?.code).toBe('INVALID_COMMAND');
    const dead = await deadLettered();
    expect(dead.content.toString()).toBe('{not json');
    expect(dead.properties.headers).toMatchObject({ 'x-confmgr-reason': 'not_json', 'x-confmgr-error-code': 'INVALID_COMMAND' });
    expect(dead.properties.messageId).toEqual(expect.any(String));
    expect((await ch.checkQueue(queue)).messageCount).toBe(0);
  });

  it('an invalid message nobody can be told about (no reply_to) is dead-lettered, not requeued', async () => {
    const before = intake.stats();
    void publishRaw('c1', Buffer.from(JSON.stringify({ 'Application-Name': 'mute_participant' })), false);
    const dead = await deadLettered();
    expect(dead.properties.headers?.['x-confmgr-reason']).toBe('invalid_no_reply_to');
    expect(JSON.parse(dead.content.toString())).toEqual({ 'Application-Name': 'mute_participant' });
    await delay(200);
    const after = intake.stats();
    expect(after.received - before.received).toBe(1);
    expect(after.deadLettered - before.deadLettered).toBe(1);
    expect((await ch.checkQueue(queue)).messageCount).toBe(0);
  });

  it('a valid message without reply_to is executed, not dead-lettered', async () => {
    const before = intake.stats();
    void publishRaw('quiet', Buffer.from(JSON.stringify({ command: { kind: 'unlock' } })), false);
    for (let i = 0; i < 100 && intake.stats().noReplyTo === before.noReplyTo; i++) await delay(20);
    expect(intake.stats().deadLettered).toBe(before.deadLettered);
    expect(await ch.get(deadQueue, { noAck: true })).toBe(false);
  });
});
