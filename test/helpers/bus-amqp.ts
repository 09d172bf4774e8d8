/**
 * Helpers for the AMQP bus tests against the real RabbitMQ (AMQP_URL). Every name is unique per
 * test so files running in parallel never collide; everything created is deleted by `cleanup()`.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { commandRoutingKey } from '../../src/bus/routing.js';

const run = promisify(execFile);

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export interface Received {
  routingKey: string;
  body: Record<string, unknown>;
  msg: ConsumeMessage;
  receivedAt: number;
}

/** A consumer on a fresh queue bound to `exchange` with `pattern`; collects every delivery. */
export class TestConsumer {
  readonly received: Received[] = [];
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  private constructor(
    readonly connection: ChannelModel,
    readonly channel: Channel,
    readonly queue: string,
  ) {}

  static async create(exchange: string, pattern = '#', queue = uniqueName('t-q')): Promise<TestConsumer> {
    const connection = await amqp.connect(AMQP_URL);
    connection.on('error', () => undefined);
    const channel = await connection.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: true });
    // Durable + not exclusive so it survives forced closes of other connections; deleted in close().
    await channel.assertQueue(queue, { durable: true, autoDelete: false });
    await channel.bindQueue(queue, exchange, pattern);
    const consumer = new TestConsumer(connection, channel, queue);
    await channel.prefetch(5000);
    await channel.consume(queue, (msg) => {
      if (!msg) return;
      consumer.received.push({
        routingKey: msg.fields.routingKey,
        body: JSON.parse(msg.content.toString()) as Record<string, unknown>,
        msg,
        receivedAt: Date.now(),
      });
      channel.ack(msg);
      consumer.waiters = consumer.waiters.filter((w) => {
        if (consumer.received.length >= w.n) w.resolve();
        return consumer.received.length < w.n;
      });
    });
    return consumer;
  }

  waitFor(n: number, timeoutMs = 20_000): Promise<void> {
    if (this.received.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${n} messages (have ${this.received.length})`)),
        timeoutMs,
      );
      this.waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  /** Distinct message_ids received: at-least-once delivery may repeat a message after a reconnect. */
  distinctCount(): number {
    return new Set(this.received.map((r) => String(r.msg.properties.messageId))).size;
  }

  /** Waits for `n` distinct messages; `waitFor` counts deliveries, duplicates included. */
  async waitForDistinct(n: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.distinctCount() < n) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} distinct messages (have ${this.distinctCount()})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    await this.channel.deleteQueue(this.queue).catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}

/** Deletes exchanges/queues with a throw-away connection. */
export async function deleteAll(exchanges: string[], queues: string[] = []): Promise<void> {
  const connection = await amqp.connect(AMQP_URL);
  connection.on('error', () => undefined);
  try {
    for (const q of queues) {
      const ch = await connection.createChannel();
      ch.on('error', () => undefined);
      await ch.deleteQueue(q).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
    for (const x of exchanges) {
      const ch = await connection.createChannel();
      ch.on('error', () => undefined);
      await ch.deleteExchange(x).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * Force-closes only the broker connections whose client-provided name is `name`, or `name (<instance>)`
 * as the service names its connections. Returns how many.
 */
export async function closeConnectionsNamed(name: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['list_connections', '-q', 'pid', 'client_properties']);
  let closed = 0;
  for (const line of stdout.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const pid = line.slice(0, tab);
    if (!pid.startsWith('<')) continue;
    const props = line.slice(tab + 1);
    if (!props.includes(`{"connection_name","${name}"}`) && !props.includes(`{"connection_name","${name} (`)) continue;
    await run('rabbitmqctl', ['close_connection', pid, 'test: forced close']);
    closed++;
  }
  return closed;
}

export function rabbitmqctl(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('rabbitmqctl', args, { timeout: 60_000 });
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Publishes `lock` commands with reply_to and keeps EVERY reply by correlation id, for tests that count
 * them (answered exactly once, or not yet). CommandRequester below waits for one reply instead.
 */
export class ReplyRecorder {
  readonly replies = new Map<string, ConsumeMessage[]>();
  private constructor(
    private readonly channel: Channel,
    private readonly queue: string,
  ) {}

  static async open(channel: Channel): Promise<ReplyRecorder> {
    const r = new ReplyRecorder(channel, (await channel.assertQueue('', { exclusive: true })).queue);
    await channel.consume(r.queue, (msg) => {
      if (!msg) return;
      const id = msg.properties.correlationId as string;
      r.replies.set(id, [...(r.replies.get(id) ?? []), msg]);
    }, { noAck: true });
    return r;
  }

  /** Publishes a `lock` for `conference` on `exchange`; returns its correlation id. */
  send(exchange: string, conference: string): string {
    const id = randomUUID();
    this.channel.publish(exchange, commandRoutingKey(conference), Buffer.from(JSON.stringify({ command: { kind: 'lock' } })), { replyTo: this.queue, correlationId: id });
    return id;
  }
}

/**
 * Sends command messages to an exchange on `conference.command.<id>` and resolves with each one's
 * reply (by correlation id, on a private reply queue): the RPC side of the command intake's tests.
 */
export class CommandRequester {
  private readonly waiting = new Map<string, (msg: ConsumeMessage) => void>();
  private constructor(
    private readonly connection: ChannelModel,
    /** The requester's own channel, for a test that also reads a queue. */
    readonly channel: Channel,
    private readonly exchange: string,
    private readonly replyQueue: string,
  ) {}

  static async open(exchange: string, url = AMQP_URL): Promise<CommandRequester> {
    const connection = await amqp.connect(url);
    const channel = await connection.createChannel();
    const replyQueue = (await channel.assertQueue('', { exclusive: true })).queue;
    const r = new CommandRequester(connection, channel, exchange, replyQueue);
    await channel.consume(replyQueue, (msg) => {
      if (msg) r.waiting.get(msg.properties.correlationId as string)?.(msg);
    }, { noAck: true });
    return r;
  }

  send<T = unknown>(conference: string, body: unknown, timeoutMs = 10_000): Promise<T> {
    return this.sendTo<T>(commandRoutingKey(conference), body, timeoutMs);
  }

  /** Any routing key; a string body goes on the wire as it is (for malformed-message tests). */
  sendTo<T = unknown>(routingKey: string, body: unknown, timeoutMs = 10_000): Promise<T> {
    const correlationId = randomUUID();
    const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationId);
        reject(new Error(`no AMQP reply for ${bytes.toString('utf8').slice(0, 200)}`));
      }, timeoutMs);
      this.waiting.set(correlationId, (msg) => {
        clearTimeout(timer);
        this.waiting.delete(correlationId);
        resolve(JSON.parse(msg.content.toString()) as T);
      });
      this.channel.publish(this.exchange, routingKey, bytes, { replyTo: this.replyQueue, correlationId, contentType: 'application/json' });
    });
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}
