/**
 * AmqpCommandIntake: a durable queue bound to `conference.command.*` on the conference exchange.
 * Each message is parsed (command-message.ts), run through the injected ConferenceCommandExecutor,
 * and answered on `reply_to` with the request's `correlation_id` — success or typed error, always.
 *
 * Malformed or invalid messages get an error reply and are acked: never a crash, never requeued.
 * A message is acked after its reply is sent (at-least-once: if confmgr dies mid-command the
 * broker redelivers it). Messages without reply_to are executed and their outcome logged.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { CommandTimeoutError } from '../conference/errors.js';
import type { CommandResult, ConferenceCommandExecutor } from '../conference/types.js';
import { redactUrl, silentLogger, type Logger } from '../util/log.js';
import type { BackoffOptions } from '../util/backoff.js';
import { reconnectLoop, sleep } from '../util/reconnect.js';
import { connectAmqp } from './connect.js';
import {
  buildReply,
  parseCommandMessage,
  toReplyError,
  type CommandReply,
  type ItemOutcome,
  type ParsedCommandMessage,
} from './command-message.js';
import { COMMAND_BINDING } from './routing.js';

export interface AmqpCommandIntakeOptions {
  url: string;
  executor: ConferenceCommandExecutor;
  /** Topic exchange (declared durable). Default `conference`. */
  exchange?: string;
  /** Durable queue name. Default `confmgr.commands`. */
  queue?: string;
  /** Commands processed at once (AMQP prefetch). Default 16. */
  prefetch?: number;
  /** A command not finished within this gets a TIMEOUT reply. Default 30 000 ms. */
  commandTimeoutMs?: number;
  appId?: string;
  connectionName?: string;
  reconnect?: BackoffOptions;
  logger?: Logger;
}

export interface CommandIntakeStats {
  connected: boolean;
  received: number;
  succeeded: number;
  failed: number;
  invalid: number;
  replied: number;
  noReplyTo: number;
}

export class AmqpCommandIntake {
  readonly exchange: string;
  readonly queue: string;
  private readonly url: string;
  private readonly executor: ConferenceCommandExecutor;
  private readonly prefetch: number;
  private readonly timeoutMs: number;
  private readonly appId: string;
  private readonly connectionName: string;
  private readonly reconnect: BackoffOptions;
  private readonly log: Logger;

  private connection: ChannelModel | undefined;
  private channel: Channel | undefined;
  private stopping = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private startedResolve: (() => void) | undefined;
  private readonly started: Promise<void>;
  private readonly active = new Set<Promise<void>>();
  private readonly counts = { received: 0, succeeded: 0, failed: 0, invalid: 0, replied: 0, noReplyTo: 0 };

  constructor(options: AmqpCommandIntakeOptions) {
    this.url = options.url;
    this.executor = options.executor;
    this.exchange = options.exchange ?? 'conference';
    this.queue = options.queue ?? 'confmgr.commands';
    this.prefetch = options.prefetch ?? 16;
    this.timeoutMs = options.commandTimeoutMs ?? 30_000;
    this.appId = options.appId ?? 'confmgr';
    this.connectionName = options.connectionName ?? 'confmgr-commands';
    this.reconnect = options.reconnect ?? {};
    this.log = (options.logger ?? silentLogger).child({ component: 'amqp-commands' });
    this.started = new Promise((resolve) => (this.startedResolve = resolve));
  }

  /** Starts consuming; resolves when first connected (or closed first). Never rejects; retries with backoff. */
  start(): Promise<void> {
    if (!this.loop) this.loop = this.connectLoop();
    return this.started;
  }

  get connected(): boolean {
    return this.channel !== undefined;
  }

  stats(): CommandIntakeStats {
    return { connected: this.connected, ...this.counts };
  }

  /** Stops consuming, lets running commands finish (up to `deadlineMs`), closes the connection. */
  async close(deadlineMs = 5000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.abort.abort();
    if (this.active.size > 0) {
      await Promise.race([Promise.allSettled([...this.active]), sleep(deadlineMs)]);
    }
    await this.connection?.close().catch(() => undefined);
    this.startedResolve?.();
    await this.loop;
  }

  // ---------------------------------------------------------------------------------------------

  private connectLoop(): Promise<void> {
    return reconnectLoop({
      signal: this.abort.signal,
      backoff: this.reconnect,
      session: (connected) => this.runSession(connected),
      onError: (err) => this.log.warn({ err, url: redactUrl(this.url) }, 'AMQP command intake connect failed'),
    });
  }

  /** One connection: declare, bind, consume until it is lost. */
  private async runSession(connected: () => void): Promise<void> {
    const connection = await connectAmqp(this.url, this.connectionName, this.log);
    try {
      const channel = await connection.createChannel();
      channel.on('error', (err: unknown) => this.log.warn({ err }, 'AMQP channel error'));
      await channel.assertExchange(this.exchange, 'topic', { durable: true });
      await channel.assertQueue(this.queue, { durable: true });
      await channel.bindQueue(this.queue, this.exchange, COMMAND_BINDING);
      await channel.prefetch(this.prefetch);
      const closed = new Promise<void>((resolve) => {
        connection.on('close', resolve);
        channel.on('close', resolve);
      });
      if (this.stopping) return;
      this.connection = connection;
      this.channel = channel;
      await channel.consume(this.queue, (msg) => {
        if (msg) this.track(this.handle(channel, msg));
      });
      connected();
      this.log.info({ url: redactUrl(this.url), queue: this.queue }, 'AMQP command intake consuming');
      this.startedResolve?.();
      await closed;
      if (!this.stopping) this.log.warn('AMQP command intake lost its connection; reconnecting');
    } finally {
      this.channel = undefined;
      this.connection = undefined;
      await connection.close().catch(() => undefined);
    }
  }

  private track(p: Promise<void>): void {
    this.active.add(p);
    void p.finally(() => this.active.delete(p));
  }

  private async handle(channel: Channel, msg: ConsumeMessage): Promise<void> {
    this.counts.received++;
    let reply: CommandReply;
    let parsed: ParsedCommandMessage | undefined;
    try {
      parsed = parseCommandMessage(msg.content, msg.fields.routingKey);
    } catch (err) {
      this.counts.invalid++;
      reply = buildReply([], undefined, err);
    }
    if (parsed) {
      const outcomes: ItemOutcome[] = [];
      // Sequential: a bulk request's commands run in the order given.
      for (const command of parsed.commands) outcomes.push(await this.runOne(command));
      reply = buildReply(outcomes, parsed);
      if (reply.status === 'success') this.counts.succeeded++;
      else this.counts.failed++;
    }
    const { replyTo, correlationId } = msg.properties as { replyTo?: string; correlationId?: string };
    try {
      if (replyTo) {
        const options: Record<string, unknown> = { contentType: 'application/json', appId: this.appId };
        if (correlationId !== undefined) options['correlationId'] = correlationId;
        channel.sendToQueue(replyTo, Buffer.from(JSON.stringify(reply!)), options);
        this.counts.replied++;
      } else {
        this.counts.noReplyTo++;
        this.log.info({ routingKey: msg.fields.routingKey, reply: reply! }, 'command without reply_to');
      }
      channel.ack(msg);
    } catch (err) {
      // The channel closed under us: the broker will redeliver the unacked message.
      this.log.warn({ err }, 'could not reply/ack a command');
    }
  }

  private async runOne(command: Parameters<ConferenceCommandExecutor['execute']>[0]): Promise<ItemOutcome> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race<CommandResult>([
        this.executor.execute(command),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new CommandTimeoutError(`command ${command.kind} timed out after ${this.timeoutMs} ms`)),
            this.timeoutMs,
          );
        }),
      ]);
      return { status: 'success', result };
    } catch (err) {
      return { status: 'error', error: toReplyError(err) };
    } finally {
      clearTimeout(timer);
    }
  }
}
