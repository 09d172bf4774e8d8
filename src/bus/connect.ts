/** Opening an AMQP connection the same way for the publisher and the command intake. */
import amqp from 'amqplib';
import type { ChannelModel } from 'amqplib';
import type { Logger } from '../util/log.js';

/** Connects with a client-provided name (shown by rabbitmqctl) and a 10 s timeout; connection errors are logged, not thrown. */
export async function connectAmqp(url: string, connectionName: string, log: Logger): Promise<ChannelModel> {
  const connection = await amqp.connect(url, { clientProperties: { connection_name: connectionName }, timeout: 10_000 });
  // Without a listener an 'error' event would crash the process; 'close' follows and drives the reconnect.
  connection.on('error', (err: unknown) => log.warn({ err }, 'AMQP connection error'));
  return connection;
}
