/** Opening an AMQP connection the same way for the publisher and the command intake. */
import amqp from 'amqplib';
import type { ChannelModel } from 'amqplib';
import { redactUrl, type Logger } from '../util/index.js';

/**
 * The brokers of `amqp.url`: one URL, or several separated by commas (the nodes of one RabbitMQ
 * cluster). A comma never appears in an AMQP URL's host or credentials unescaped.
 */
export function brokerUrls(url: string): string[] {
  const urls = url
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  return urls.length > 0 ? urls : [url];
}

/** Per URL list: the broker to try first next time (the one after the last connected to). */
const nextBroker = new Map<string, number>();

/**
 * Connects with a client-provided name (shown by rabbitmqctl) and a 10 s timeout; connection errors
 * are logged, not thrown. With several brokers, each is tried in turn, starting with the one after the
 * broker last connected to for this list: a connection lost with one broker is re-made on the next.
 * Throws the last failure when none answers (the caller's reconnect loop backs off and calls again).
 */
export async function connectAmqp(url: string, connectionName: string, log: Logger): Promise<ChannelModel> {
  const urls = brokerUrls(url);
  const start = (nextBroker.get(url) ?? 0) % urls.length;
  let lastError: unknown;
  for (let i = 0; i < urls.length; i++) {
    const index = (start + i) % urls.length;
    try {
      const connection = await connectOne(urls[index]!, connectionName, log);
      if (urls.length > 1) {
        nextBroker.set(url, (index + 1) % urls.length);
        log.info({ url: redactUrl(urls[index]!), broker: index + 1, brokers: urls.length }, 'AMQP connected to a broker of the list');
      }
      return connection;
    } catch (err) {
      lastError = err;
      if (urls.length > 1) log.warn({ err, url: redactUrl(urls[index]!) }, 'AMQP broker unreachable; trying the next one');
    }
  }
  nextBroker.set(url, (start + 1) % urls.length);
  throw lastError;
}

async function connectOne(url: string, connectionName: string, log: Logger): Promise<ChannelModel> {
  const connection = await amqp.connect(url, { clientProperties: { connection_name: connectionName }, timeout: 10_000 });
  // Without a listener an 'error' event would crash the process; 'close' follows and drives the reconnect.
  connection.on('error', (err: unknown) => log.warn({ err }, 'AMQP connection error'));
  return connection;
}

/**
 * Waits at most `ms` for a connection's close (`closing`, by default a close started here) to
 * complete: a broker that blocks or has stalled never answers connection.close. The socket is then
 * destroyed, which ends the connection at once ('error' then 'close' on it).
 */
export async function closeWithin(connection: ChannelModel, ms: number, closing: Promise<unknown> = connection.close()): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([
    closing.then(
      () => true,
      () => true,
    ),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  if (done) return;
  const socket = (connection as unknown as { connection?: { stream?: { destroy?: (err?: Error) => void } } }).connection?.stream;
  socket?.destroy?.(new Error(`the broker did not answer connection.close within ${ms} ms`));
}
