/**
 * `amqp.url` naming several brokers (the nodes of one RabbitMQ cluster): connections go to the next
 * broker of the list on loss, an unreachable one is skipped, and credentials stay out of the logs.
 * The "dead" broker is a closed local port; the live ones are the test broker under two host names.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpCommandIntake } from '../../src/bus/command-intake.js';
import { brokerUrls, connectAmqp } from '../../src/bus/connect.js';
import { AmqpPublisher } from '../../src/bus/publisher.js';
import { commandRoutingKey } from '../../src/bus/routing.js';
import type { CommandResult, ConferenceCommandExecutor } from '../../src/conference/types.js';
import { createLogger, redactUrl } from '../../src/util/log.js';
import { AMQP_URL, closeConnectionsNamed, deleteAll, delay, TestConsumer, uniqueName } from '../helpers/bus-amqp.js';

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A logger whose JSON lines are kept. */
function capture(): { logger: ReturnType<typeof createLogger>; lines: () => Array<Record<string, any>> } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination: stream }), lines: () => out.map((l) => JSON.parse(l) as Record<string, any>) };
}

const live = new URL(AMQP_URL);
let dead = '';
/** The same live broker under another host name: which one a connection took is visible. */
let liveAlias = '';

beforeAll(async () => {
  dead = `amqp://guest:deadpass@127.0.0.1:${await closedPort()}`;
  const alias = new URL(AMQP_URL);
  alias.hostname = 'localhost';
  liveAlias = alias.toString();
});

describe('several brokers in amqp.url', () => {
  it('splits the list; redactUrl masks every password of it', () => {
    expect(brokerUrls('amqp://a:1@h1, amqp://b:2@h2')).toEqual(['amqp://a:1@h1', 'amqp://b:2@h2']);
    expect(brokerUrls('amqp://h')).toEqual(['amqp://h']);
    const redacted = redactUrl('amqp://a:secret1@h1:5672,amqp://b:secret2@h2:5672');
    expect(redacted).not.toMatch(/secret/);
    expect(redacted).toContain('h1:5672');
    expect(redacted).toContain('h2:5672');
  });

  it('skips an unreachable broker, and each new connection starts at the broker after the last one used', async () => {
    const list = [AMQP_URL, dead, liveAlias].join(',');
    const { logger, lines } = capture();
    const used: number[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await connectAmqp(list, uniqueName('t-list'), logger);
      await c.close();
      used.push(lines().filter((l) => l.msg === 'AMQP connected to a broker of the list').at(-1)!.broker as number);
    }
    expect(used).toEqual([1, 3, 1]);
    const skipped = lines().filter((l) => l.msg === 'AMQP broker unreachable; trying the next one');
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.url).toBe(redactUrl(dead));
    expect(JSON.stringify(lines())).not.toMatch(/deadpass|guest:guest/);
  });

  it('throws when no broker of the list answers', async () => {
    const { logger } = capture();
    await expect(connectAmqp(`${dead},amqp://guest:x@127.0.0.1:${await closedPort()}`, 't-none', logger)).rejects.toThrow();
  });
});

describe('publisher and command intake over a list whose first broker is dead', () => {
  const exchange = uniqueName('t-list-ex');
  const queue = uniqueName('t-list-q');
  const pubName = uniqueName('t-list-pub');
  const intakeName = uniqueName('t-list-cmd');
  let publisher: AmqpPublisher;
  let intake: AmqpCommandIntake;
  let consumer: TestConsumer;
  const executor: ConferenceCommandExecutor = {
    execute: async (command): Promise<CommandResult> => ({ command: `${command.conference} ${command.kind}`, node: 'fs1', reply: '+OK' }),
  };

  beforeAll(async () => {
    const list = `${dead},${AMQP_URL}`;
    consumer = await TestConsumer.create(exchange, 'conference.event.#');
    publisher = new AmqpPublisher({ url: list, exchange, connectionName: pubName, reconnect: { baseMs: 50, capMs: 300 } });
    intake = new AmqpCommandIntake({ url: list, exchange, queue, executor, connectionName: intakeName, reconnect: { baseMs: 50, capMs: 300 } });
    await Promise.all([publisher.start(), intake.start()]);
  });

  afterAll(async () => {
    await intake.close(1000);
    await publisher.close(2000);
    await consumer.close();
    await deleteAll([exchange, intake.routingExchange, intake.unroutedExchange], [queue]);
  });

  async function command(): Promise<Record<string, any>> {
    const connection = await amqp.connect(AMQP_URL);
    try {
      const ch = await connection.createChannel();
      const id = randomUUID();
      const reply = new Promise<Record<string, any>>((resolve) => {
        void ch.consume('amq.rabbitmq.reply-to', (m) => m && m.properties.correlationId === id && resolve(JSON.parse(m.content.toString()) as Record<string, any>), { noAck: true });
      });
      ch.publish(exchange, commandRoutingKey('room'), Buffer.from(JSON.stringify({ command: { kind: 'lock' } })), { replyTo: 'amq.rabbitmq.reply-to', correlationId: id });
      return await Promise.race([reply, delay(10_000).then(() => ({ status: 'no reply' }))]);
    } finally {
      await connection.close();
    }
  }

  it('both connect past the dead broker, and carry on after their connections are lost', async () => {
    const ev = (n: number) => ({ event: 'add-member', conferenceId: 'room', callId: `c${n}`, timestampUs: n, payload: { n, msg_id: `m${n}` } });
    publisher.publish(ev(1));
    await consumer.waitForDistinct(1);
    expect((await command()).status).toBe('success');

    // Lost: the reconnect tries the next broker (the dead one), then the live one again.
    expect(await closeConnectionsNamed(pubName)).toBe(1);
    expect(await closeConnectionsNamed(intakeName)).toBe(1);
    for (let n = 2; n <= 20; n++) publisher.publish(ev(n));
    await consumer.waitForDistinct(20);
    let reply: Record<string, any> = {};
    for (let i = 0; i < 50 && reply.status !== 'success'; i++) {
      reply = await command();
      if (reply.status !== 'success') await delay(200);
    }
    expect(reply.status).toBe('success');
    expect(publisher.stats().dropped.overflow).toBe(0);
  }, 60_000);
});
