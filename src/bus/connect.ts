/** Opening an AMQP connection the same way for the publisher and the command intake. */
import amqp from 'amqplib';
import type { ChannelModel } from 'amqplib';
import type { Logger } from '../util/index.js';

/** Connects with a client-provided name (shown by rabbitmqctl) and a 10 s timeout; connection errors are logged, not thrown. */
export async function connectAmqp(url: string, connectionName: string, log: Logger): Promise<ChannelModel> {
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
