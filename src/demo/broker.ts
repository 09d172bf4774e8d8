/**
 * The demo's RabbitMQ side: a reachability check with an operator-friendly error, and a consumer on a
 * temporary queue bound to `conference.event.#` that hands every event to a callback.
 */
import amqp from 'amqplib';
import type { ChannelModel } from 'amqplib';
import { ConfmgrError } from '../util/index.js';
import { redactUrl } from '../util/index.js';
import { EVENT_PREFIX, commandRoutingKey } from '../bus/index.js';

export class BrokerUnreachableError extends ConfmgrError {
  constructor(url: string, reason: string) {
    super(
      'BROKER_UNREACHABLE',
      `RabbitMQ is not reachable at ${redactUrl(url)} (${reason}).\n` +
        `  Start one with:   bash scripts/ensure-rabbitmq.sh\n` +
        `  or point the demo at yours:   AMQP_URL=amqp://user:pass@host:5672 npx confmgr demo`,
      { url: redactUrl(url) },
    );
  }
}

export async function connectBroker(url: string, timeoutMs = 5_000): Promise<ChannelModel> {
  try {
    return await amqp.connect(url, { timeout: timeoutMs, clientProperties: { connection_name: 'confmgr-demo-consumer' } });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason = e.code ?? (e.message.includes('ACCESS_REFUSED') || e.message.includes('403') ? 'login refused' : e.message);
    throw new BrokerUnreachableError(url, reason);
  }
}

export interface ReceivedEvent {
  routingKey: string;
  payload: Record<string, unknown>;
}

export interface EventConsumer {
  readonly queue: string;
  close(): Promise<void>;
}

/** Declares the exchange as the publisher does (durable topic), binds an exclusive queue, consumes. */
export async function consumeEvents(
  connection: ChannelModel,
  exchange: string,
  onEvent: (e: ReceivedEvent) => void,
  pattern = `${EVENT_PREFIX}.#`,
): Promise<EventConsumer> {
  const channel = await connection.createChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
  await channel.bindQueue(queue, exchange, pattern);
  await channel.consume(
    queue,
    (msg) => {
      if (!msg) return;
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(msg.content.toString('utf8')) as Record<string, unknown>;
      } catch {
        payload = { unparsable: msg.content.toString('utf8').slice(0, 200) };
      }
      onEvent({ routingKey: msg.fields.routingKey, payload });
    },
    { noAck: true },
  );
  return {
    queue,
    close: async () => {
      await channel.close().catch(() => undefined);
    },
  };
}

export interface RpcClient {
  /** Publishes `body` to `conference.command.<conference>` and resolves with the service's reply. */
  call(conference: string, body: unknown, timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Commands over AMQP the way a Kazoo app sends them: RPC with RabbitMQ's direct reply-to. */
export async function commandRpc(connection: ChannelModel, exchange: string): Promise<RpcClient> {
  const channel = await connection.createChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  const pending = new Map<string, (reply: Record<string, unknown>) => void>();
  await channel.consume(
    'amq.rabbitmq.reply-to',
    (msg) => {
      if (!msg) return;
      const resolve = pending.get(String(msg.properties.correlationId));
      if (!resolve) return;
      pending.delete(String(msg.properties.correlationId));
      try {
        resolve(JSON.parse(msg.content.toString('utf8')) as Record<string, unknown>);
      } catch {
        resolve({ status: 'error', error: { code: 'BAD_REPLY', message: msg.content.toString('utf8').slice(0, 200) } });
      }
    },
    { noAck: true },
  );
  let seq = 0;
  return {
    call(conference, body, timeoutMs = 5_000) {
      const correlationId = `demo-${process.pid}-${++seq}`;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(correlationId);
          reject(new Error(`no reply on AMQP within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(correlationId, (reply) => {
          clearTimeout(timer);
          resolve(reply);
        });
        channel.publish(exchange, commandRoutingKey(conference), Buffer.from(JSON.stringify(body)), {
          replyTo: 'amq.rabbitmq.reply-to',
          correlationId,
          contentType: 'application/json',
        });
      });
    },
    close: async () => {
      await channel.close().catch(() => undefined);
    },
  };
}
