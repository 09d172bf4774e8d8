/**
 * `amqp.queue_type`: the durable queues the command intake declares (the shared queue, the dead-letter
 * queue) are classic by default and quorum when asked (what survives the loss of a RabbitMQ cluster
 * node); a shared queue that already exists with the other type is used as it is, with an error logged.
 */
import { Writable } from 'node:stream';
import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { AmqpCommandIntake } from '../../src/bus/command-intake.js';
import type { CommandResult, ConferenceCommandExecutor } from '../../src/conference/types.js';
import { createLogger } from '../../src/util/log.js';
import { AMQP_URL, CommandRequester, deleteAll, uniqueName } from '../helpers/bus-amqp.js';

const executor: ConferenceCommandExecutor = {
  execute: async (command): Promise<CommandResult> => ({ command: `${command.conference} ${command.kind}`, node: 'fs1', reply: '+OK' }),
};

const MUTE = { 'Event-Category': 'conference', 'Event-Name': 'command', 'Application-Name': 'mute_participant', 'Conference-ID': 'qt-room', 'Participant-ID': 3 };

const cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** The queue's type, judged by the broker: a re-declare of another type is refused (406). */
async function declaredType(queue: string): Promise<'classic' | 'quorum'> {
  const connection = await amqp.connect(AMQP_URL);
  connection.on('error', () => undefined);
  try {
    const ch = await connection.createChannel();
    ch.on('error', () => undefined);
    try {
      await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      return 'quorum';
    } catch (err) {
      expect((err as { code?: number }).code).toBe(406);
      return 'classic';
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}

function capture(): { logger: ReturnType<typeof createLogger>; lines: () => Array<Record<string, any>> } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { logger: createLogger({ level: 'info', destination: stream }), lines: () => out.map((l) => JSON.parse(l) as Record<string, any>) };
}

async function intakeWith(queueType: 'classic' | 'quorum' | undefined, logger?: ReturnType<typeof createLogger>): Promise<{ exchange: string; queue: string; intake: AmqpCommandIntake }> {
  const exchange = uniqueName('t-qt-ex');
  const queue = uniqueName('t-qt-q');
  const intake = new AmqpCommandIntake({
    url: AMQP_URL,
    exchange,
    queue,
    executor,
    ...(queueType ? { queueType } : {}),
    ...(logger ? { logger } : {}),
    reconnect: { baseMs: 50, capMs: 300 },
  });
  cleanup.push(async () => {
    await intake.close(1000);
    await deleteAll([`${exchange}.${queue}`, `${exchange}.${queue}.unrouted`, exchange], [queue, `${queue}.dead`]);
  });
  return { exchange, queue, intake };
}

describe('amqp.queue_type of the command intake', () => {
  it('declares the shared queue classic by default, quorum when asked; both answer commands', async () => {
    for (const type of [undefined, 'quorum'] as const) {
      const { exchange, queue, intake } = await intakeWith(type);
      await intake.start();
      expect(await declaredType(queue)).toBe(type ?? 'classic');
      const requester = await CommandRequester.open(exchange);
      cleanup.push(() => requester.close());
      // Nobody serves the conference: the command takes the shared queue.
      const reply = await requester.send<{ status: string }>('qt-room', MUTE);
      expect(reply.status).toBe('success');
    }
  });

  it('uses an existing shared queue of the other type as it is, and says so', async () => {
    const { exchange, queue } = await intakeWith('quorum');
    const connection = await amqp.connect(AMQP_URL);
    const ch = await connection.createChannel();
    await ch.assertQueue(queue, { durable: true }); // classic, as an older confmgr declared it
    await connection.close();
    const { logger, lines } = capture();
    const logged = new AmqpCommandIntake({ url: AMQP_URL, exchange, queue, executor, queueType: 'quorum', logger, reconnect: { baseMs: 50, capMs: 300 } });
    cleanup.push(() => logged.close(1000));
    await logged.start();
    expect(logged.connected).toBe(true);
    expect(await declaredType(queue)).toBe('classic');
    expect(lines().some((l) => l.level === 50 && l.queue === queue && /another type/.test(String(l.msg)))).toBe(true);
    const requester = await CommandRequester.open(exchange);
    cleanup.push(() => requester.close());
    const reply = await requester.send<{ status: string }>('qt-room', MUTE);
    expect(reply.status).toBe('success');
  });
});
