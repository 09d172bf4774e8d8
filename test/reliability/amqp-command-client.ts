/**
 * A command sender for the reliability tests: publishes on the rig's exchange with the conference's
 * command routing key and waits for the reply on an exclusive queue of its own (one connection).
 */
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { commandRoutingKey } from '../../src/bus/routing.js';
import type { CommandReply } from '../../src/bus/command-message.js';
import { AMQP_URL, delay } from '../helpers/bus-amqp.js';

export class CommandClient {
  private readonly waiting = new Map<string, (msg: ConsumeMessage) => void>();

  private constructor(
    readonly connection: ChannelModel,
    readonly channel: Channel,
    private readonly replyQueue: string,
    private readonly exchange: string,
  ) {}

  static async create(exchange: string, url = AMQP_URL): Promise<CommandClient> {
    const connection = await amqp.connect(url);
    connection.on('error', () => undefined);
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    const replyQueue = (await channel.assertQueue('', { exclusive: true })).queue;
    const client = new CommandClient(connection, channel, replyQueue, exchange);
    await channel.consume(replyQueue, (msg) => {
      if (msg) client.waiting.get(String(msg.properties.correlationId))?.(msg);
    }, { noAck: true });
    return client;
  }

  /** Publishes `body` (persistent, so the durable command queue keeps it across a broker restart) and waits for the reply. */
  send(conference: string, body: unknown, timeoutMs = 20_000): Promise<CommandReply> {
    const correlationId = randomUUID();
    return new Promise<CommandReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationId);
        reject(new Error(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(correlationId, (msg) => {
        clearTimeout(timer);
        this.waiting.delete(correlationId);
        resolve(JSON.parse(msg.content.toString()) as CommandReply);
      });
      this.channel.publish(this.exchange, commandRoutingKey(conference), Buffer.from(JSON.stringify(body)), {
        replyTo: this.replyQueue,
        correlationId,
        contentType: 'application/json',
        persistent: true,
      });
    });
  }

  /** Publishes raw bytes with no reply_to (what cannot be answered: the intake dead-letters it when invalid). */
  publishRaw(conference: string, body: string): void {
    this.channel.publish(this.exchange, commandRoutingKey(conference), Buffer.from(body), { persistent: true });
  }

  /**
   * The messages in `queue` (read and requeued: they stay there), once it exists and holds any (or
   * `timeoutMs` passed). Checked on a channel of its own: checking a queue that does not exist yet
   * closes the channel.
   */
  async peek(queue: string, timeoutMs = 5_000): Promise<amqp.GetMessage[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const probe = await this.connection.createChannel();
      probe.on('error', () => undefined);
      const count = await probe.checkQueue(queue).then(
        (q) => q.messageCount,
        () => -1,
      );
      await probe.close().catch(() => undefined);
      if (count > 0 || Date.now() > deadline) break;
      await delay(50);
    }
    const got: amqp.GetMessage[] = [];
    for (let m = await this.channel.get(queue); m; m = await this.channel.get(queue)) got.push(m);
    for (const m of got) this.channel.nack(m, false, true);
    return got;
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}
