/**
 * AmqpCommandIntake: consumes the commands of the conferences this instance serves, and the commands
 * no instance took. Routing (see src/bus/README.md, "Command routing"):
 *
 *   conference ──conference.command.*──▶ <exchange>.<queue>  (topic, internal, confmgr's own)
 *       ├─ conference.command.<id> ──▶ <queue>.<instance>.<random>  (exclusive: this instance's own,
 *       │                               bound per served conference by CommandBindings)
 *       └─ no binding matched ──alternate exchange──▶ <exchange>.<queue>.unrouted (fanout) ──▶ <queue>
 *                                        (durable, shared by every instance: commands nobody serves)
 *
 * confmgr's own exchange carries the `alternate-exchange` argument, so nothing has to change on the
 * senders' exchange (an existing exchange cannot take that argument by a re-declare) and no operator
 * policy is needed. A command is routed to exactly one queue: the serving instance's, or the shared one.
 *
 * Each message is parsed (command-message.ts), run through the injected ConferenceCommandExecutor,
 * and answered on `reply_to` with the request's `correlation_id` — success or typed error, always.
 *
 * A poison message is seen once, answered or logged, and gone: bodies over the size cap are refused
 * before parsing, every list and string is bounded, a message's commands share one time budget, and
 * the reply is capped. A message that could not be handled (over the cap, not a JSON object, invalid
 * with no reply_to to tell, or an unexpected exception) is copied to the dead-letter queue, logged
 * once, and acked: never requeued. Every other message is acked after its reply is sent
 * (from the shared queue, at-least-once: if confmgr dies mid-command the broker redelivers it; from the
 * own exclusive queue, a command of a killed instance goes with the queue, while a graceful stop hands
 * what is still queued back to the exchange: see handBack). Messages without reply_to
 * are executed and their outcome logged.
 *
 * Dead-lettering is done by publishing the message ourselves to a queue we declare, not by the
 * command queue's `x-dead-letter-exchange` argument: RabbitMQ refuses to re-declare an existing
 * durable queue with different arguments (PRECONDITION_FAILED), so this works on any broker that
 * already has the command queue, without a policy.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ChannelModel, ConfirmChannel, ConsumeMessage, Message, MessageProperties } from 'amqplib';
import { CommandTimeoutError, ConferenceNotFoundError } from '../conference/index.js';
import type { CommandResult, ConferenceCommandExecutor, ConferenceDialer, DialRequest } from '../conference/index.js';
import { redactUrl, silentLogger, type Logger } from '../util/index.js';
import type { BackoffOptions } from '../util/index.js';
import { reconnectLoop, sleep } from '../util/index.js';
import { closeWithin, connectAmqp } from './connect.js';
import {
  buildReply,
  dialReply,
  messageConferences,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_REPLY_BYTES,
  encodeReply,
  parseCommandMessage,
  toReplyError,
  type CommandReply,
  type ItemOutcome,
  type ParsedCommandMessage,
} from './command-message.js';
import { CommandAccountMismatchError, CommandMessageTooLargeError, InvalidCommandMessageError, UnparsableCommandMessageError } from './errors.js';
import { COMMAND_BINDING, DISCOVERY_KEY } from './routing.js';
import { CommandBindings } from './command-bindings.js';

export interface AmqpCommandIntakeOptions {
  url: string;
  executor: ConferenceCommandExecutor;
  /** Runs Kazoo's `dial` (answered with dial_resp); absent: a dial is refused. */
  dialer?: ConferenceDialer;
  /** Topic exchange (declared durable). Default `conference`. */
  exchange?: string;
  /**
   * The shared durable queue of commands no instance's own queue took (default `confmgr.commands`);
   * also the prefix of this instance's own queue and of confmgr's routing exchanges.
   */
  queue?: string;
  /**
   * Type of the durable queues declared here (the shared queue, the dead-letter queue). `quorum` on a
   * RabbitMQ cluster: a classic queue lives on one node and cannot even be re-declared while that node
   * is down, which would stop the intake on every node. Default `classic`.
   */
  queueType?: QueueType;
  /**
   * Names of the conferences this instance serves (live on a node it is active for): its own queue is
   * bound to their command keys. Call `refreshBindings()` when it may have changed. Default: none.
   */
  routedConferences?: () => Iterable<string>;
  /**
   * Whether this instance may run a command for the conference taken from the shared queue: false for
   * a conference live here only on nodes another instance serves (answered CONFERENCE_NOT_FOUND, as it
   * would be by an instance that does not know it). Default: always.
   */
  servesConference?: (conference: string) => boolean;
  /**
   * A command from the shared queue for a conference live here only on a node another instance serves
   * (or nobody serves yet) is, for up to this long, published again on the senders' exchange every
   * `rerouteEveryMs` instead of being refused: a node changing hands (a takeover, a rebalance, a
   * SIGTERM handover) leaves its conferences unbound for a moment, and the command then reaches
   * whichever instance binds them first (this one included). Past it: CONFERENCE_NOT_FOUND. Default 0
   * (refused at once).
   */
  handoverWaitMs?: number;
  /** See handoverWaitMs. Default 250 ms. */
  rerouteEveryMs?: number;
  /**
   * Messages held at once (AMQP prefetch): different conferences run in parallel up to this, each
   * conference in order. Memory bound: prefetch × maxBodyBytes. Default 64.
   */
  prefetch?: number;
  /** A command not finished within this gets a TIMEOUT reply. Default 30 000 ms. */
  commandTimeoutMs?: number;
  /**
   * All of one message's commands share this budget: a command not started within it is not run
   * (NOT_RUN). Default 60 000 ms.
   */
  messageTimeoutMs?: number;
  /** Bodies over this are refused before JSON.parse (MESSAGE_TOO_LARGE) and dead-lettered. Default 256 KiB. */
  maxBodyBytes?: number;
  /** Replies over this are truncated to what fits plus a summary with counts. Default 1 MiB. */
  maxReplyBytes?: number;
  /** Where messages that could not be handled go (declared durable, bounded). Default `<queue>.dead`. */
  deadLetterQueue?: string;
  /**
   * The account a conference belongs to (undefined: none). When given, a message carrying
   * `Account-ID` is refused (FORBIDDEN, nothing run) if any conference it targets belongs to another
   * account. Messages without `Account-ID` are not checked: the broker is their trust boundary.
   */
  accountOf?: (conference: string) => string | undefined | Promise<string | undefined>;
  appId?: string;
  connectionName?: string;
  /** Names this instance's own queue: `<queue>.<instanceName>.<random>`. Default `confmgr`. */
  instanceName?: string;
  reconnect?: BackoffOptions;
  logger?: Logger;
}

type QueueType = 'classic' | 'quorum';

/** The declare arguments of a durable queue of this type (none for classic: the broker's default). */
function queueTypeArguments(type: QueueType): Record<string, unknown> {
  return type === 'quorum' ? { 'x-queue-type': 'quorum' } : {};
}

export interface CommandIntakeStats {
  connected: boolean;
  received: number;
  succeeded: number;
  failed: number;
  invalid: number;
  replied: number;
  noReplyTo: number;
  /** Copied to the dead-letter queue (or, when it is unavailable, only logged) and acked. */
  deadLettered: number;
  /** Sent back through the routing exchange while their conference's node changed hands (handoverWaitMs). */
  rerouted: number;
}

/** A command's properties a copy of it keeps (so its reply still reaches the sender), plus `extra`. */
function keptProperties(p: MessageProperties, extra: ReadonlyArray<'messageId' | 'deliveryMode'> = []): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const k of ['contentType', 'contentEncoding', 'correlationId', 'replyTo', 'timestamp', 'appId', 'type', ...extra] as const) {
    if (p[k] !== undefined && p[k] !== null) kept[k] = p[k];
  }
  return kept;
}

/** Header of a rerouted command: when (epoch ms) its handover wait ends. */
const HANDOVER_UNTIL_HEADER = 'x-confmgr-handover-until';

/** How long close() waits for the broker to answer connection.close (a stalled broker never does). */
const CONNECTION_CLOSE_MS = 1000;

/** Why a message was dead-lettered (header `x-confmgr-reason`, log field `reason`). */
export type DeadLetterReason = 'too_large' | 'not_json' | 'invalid_no_reply_to' | 'internal_error';

/**
 * The dead-letter queue's own bounds: poison messages are kept for inspection, never without limit
 * (the oldest go first). Fixed, so a re-declare never differs from the first declare.
 */
export const DEAD_LETTER_QUEUE_ARGUMENTS = { 'x-max-length': 10_000, 'x-max-length-bytes': 64 * 1024 * 1024 } as const;

/**
 * `name + suffix` as an AMQP name (a short string: at most 255 bytes). Names built from two configured
 * names can be longer; they keep their start and end with a hash of the whole, so they stay distinct.
 */
function amqpName(name: string, suffix = ''): string {
  const full = name + suffix;
  if (Buffer.byteLength(full) <= 255) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 16);
  return `${Buffer.from(name).subarray(0, 200).toString('utf8').replace(/\uFFFD+$/, '')}~${hash}${suffix}`;
}

export class AmqpCommandIntake {
  readonly exchange: string;
  /** The shared queue (commands no instance serves). */
  readonly queue: string;
  /** This instance's own queue (exclusive), bound per served conference. */
  readonly ownQueue: string;
  /** confmgr's routing exchange, bound to `exchange` for `conference.command.*`. */
  readonly routingExchange: string;
  /** Its alternate exchange (fanout) feeding the shared queue. */
  readonly unroutedExchange: string;
  private readonly bindings: CommandBindings;
  private readonly servesConference: (conference: string) => boolean;
  private readonly handoverWaitMs: number;
  private readonly rerouteEveryMs: number;
  private readonly routedConferences: () => Iterable<string>;
  private readonly url: string;
  private readonly executor: ConferenceCommandExecutor;
  private readonly dialer: ConferenceDialer | undefined;
  private readonly prefetch: number;
  private readonly timeoutMs: number;
  private readonly messageTimeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly maxReplyBytes: number;
  readonly deadLetterQueue: string;
  private readonly queueArguments: Record<string, unknown>;
  private readonly accountOf: AmqpCommandIntakeOptions['accountOf'];
  private readonly appId: string;
  private readonly connectionName: string;
  private readonly reconnect: BackoffOptions;
  private readonly log: Logger;

  private connection: ChannelModel | undefined;
  private channel: ConfirmChannel | undefined;
  /** This session's consumers (own queue, shared queue), cancelled by a graceful stop. */
  private consumerTags: string[] = [];
  /**
   * Declared on the first poison message of a connection (a queue nobody needs is never created);
   * false when it could not be declared: poison messages are then only logged.
   */
  private deadLetterReady: Promise<boolean> | undefined;
  private readonly idPrefix = randomBytes(6).toString('hex');
  private idSeq = 0;
  private stopping = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private startedResolve: (() => void) | undefined;
  private readonly started: Promise<void>;
  private readonly active = new Set<Promise<void>>();
  /** Conference → the last pending message touching it (see inOrder). */
  private readonly tails = new Map<string, Promise<void>>();
  private readonly counts = { received: 0, succeeded: 0, failed: 0, invalid: 0, replied: 0, noReplyTo: 0, deadLettered: 0, rerouted: 0 };

  constructor(options: AmqpCommandIntakeOptions) {
    this.url = options.url;
    this.executor = options.executor;
    this.dialer = options.dialer;
    this.exchange = options.exchange ?? 'conference';
    this.queue = options.queue ?? 'confmgr.commands';
    this.routingExchange = amqpName(`${this.exchange}.${this.queue}`);
    this.unroutedExchange = amqpName(`${this.exchange}.${this.queue}.unrouted`);
    this.ownQueue = amqpName(`${this.queue}.${options.instanceName ?? 'confmgr'}`, `.${randomBytes(4).toString('hex')}`);
    this.routedConferences = options.routedConferences ?? (() => []);
    this.bindings = new CommandBindings({ desired: this.routedConferences, ...(options.logger ? { logger: options.logger } : {}) });
    this.servesConference = options.servesConference ?? (() => true);
    this.handoverWaitMs = options.handoverWaitMs ?? 0;
    this.rerouteEveryMs = options.rerouteEveryMs ?? 250;
    this.prefetch = options.prefetch ?? 64;
    this.timeoutMs = options.commandTimeoutMs ?? 30_000;
    this.messageTimeoutMs = options.messageTimeoutMs ?? 60_000;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.maxReplyBytes = options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
    this.deadLetterQueue = options.deadLetterQueue ?? `${this.queue}.dead`;
    this.queueArguments = queueTypeArguments(options.queueType ?? 'classic');
    this.accountOf = options.accountOf;
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

  /** The served conferences may have changed (created, destroyed, node flushed or handed over): rebind. */
  refreshBindings(): void {
    this.bindings.refresh();
  }

  /** Resolves when the bindings match the last refresh (tests). */
  bindingsSettled(): Promise<void> {
    return this.bindings.settled();
  }

  /** The command routing keys this instance's queue is bound to now. */
  boundKeys(): string[] {
    return this.bindings.keys();
  }

  stats(): CommandIntakeStats {
    return { connected: this.connected, ...this.counts };
  }

  /**
   * Stops consuming, lets running commands finish (up to `deadlineMs`), hands the commands still
   * waiting on this instance's own queue back to the exchange (see handBack), closes the connection.
   */
  async close(deadlineMs = 5000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.abort.abort();
    // Within the deadline, the connection's close and the session's end included (a broker that stopped
    // reading answers nothing, and its close then takes CONNECTION_CLOSE_MS).
    const until = Date.now() + Math.max(0, deadlineMs - 2 * CONNECTION_CLOSE_MS);
    await Promise.race([this.handBack(), sleep(until - Date.now())]);
    if (this.active.size > 0 && until > Date.now()) {
      await Promise.race([Promise.allSettled([...this.active]), sleep(until - Date.now())]);
    }
    if (this.connection) await closeWithin(this.connection, CONNECTION_CLOSE_MS);
    this.startedResolve?.();
    await this.loop;
  }

  /**
   * A graceful stop must not take the commands routed to this instance down with its exclusive queue:
   * unbind the queue (new commands go to another instance, or the shared queue whose consumers wait for
   * the node's next holder), stop consuming, let what was delivered finish, then publish whatever is
   * still queued again on the senders' exchange with its own key (confirmed, then acked), as the
   * handover reroute does. Search requests (a copy went to every instance) are dropped.
   */
  private async handBack(): Promise<void> {
    const channel = this.channel;
    if (!channel) return;
    let handed = 0;
    try {
      await this.bindings.unbindAll();
      await channel.unbindQueue(this.ownQueue, this.exchange, DISCOVERY_KEY);
      for (const tag of this.consumerTags.splice(0)) await channel.cancel(tag);
      await Promise.allSettled([...this.active]);
      for (let msg = await channel.get(this.ownQueue); msg !== false; msg = await channel.get(this.ownQueue)) {
        if (msg.fields.routingKey !== DISCOVERY_KEY) {
          await this.republish(channel, msg, msg.properties.headers ?? {});
          handed++;
        }
        channel.ack(msg);
      }
    } catch (err) {
      this.log.warn({ err }, 'could not hand every queued command back before stopping');
    }
    if (handed > 0) this.log.info({ commands: handed }, 'stopping: commands queued for this instance handed back to the exchange');
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
    // Known to close() from now on: a broker that stalls during the set-up below must not hold up a stop.
    this.connection = connection;
    if (this.stopping) {
      await closeWithin(connection, CONNECTION_CLOSE_MS);
      this.connection = undefined;
      return;
    }
    try {
      // A confirm channel: a dead-lettered message is acked only once the broker holds its copy.
      const channel = await connection.createConfirmChannel();
      channel.on('error', (err: unknown) => this.log.warn({ err }, 'AMQP channel error'));
      await channel.assertExchange(this.exchange, 'topic', { durable: true });
      await this.declareRouting(channel, connection);
      this.deadLetterReady = undefined;
      await channel.prefetch(this.prefetch);
      const closed = new Promise<void>((resolve) => {
        connection.on('close', resolve);
        channel.on('close', resolve);
      });
      if (this.stopping) return;
      this.channel = channel;
      this.consumerTags = [];
      const consume = async (queue: string, routed: boolean): Promise<void> => {
        const { consumerTag } = await channel.consume(queue, (msg) => {
          if (msg) this.track(this.handle(channel, msg, routed));
        });
        this.consumerTags.push(consumerTag);
      };
      await consume(this.ownQueue, true);
      // Bound before the shared queue is consumed: a served conference's command takes the own queue.
      await this.bindings.attach({
        bind: (key) => channel.bindQueue(this.ownQueue, this.routingExchange, key),
        unbind: (key) => channel.unbindQueue(this.ownQueue, this.routingExchange, key),
      });
      await consume(this.queue, false);
      connected();
      this.log.info(
        {
          url: redactUrl(this.url),
          exchange: this.exchange,
          queue: this.ownQueue,
          conferences: this.bindings.keys().length,
          unroutedQueue: this.queue,
          routingExchange: this.routingExchange,
          alternateExchange: this.unroutedExchange,
        },
        'AMQP command intake consuming (own queue bound per served conference; commands nobody serves from the shared queue)',
      );
      this.startedResolve?.();
      await closed;
      if (!this.stopping) this.log.warn('AMQP command intake lost its connection; reconnecting');
    } finally {
      this.bindings.detach();
      this.channel = undefined;
      this.connection = undefined;
      await connection.close().catch(() => undefined);
    }
  }

  /**
   * The routing described at the top of this file. Everything here is idempotent, so every instance
   * declares it on every connection. The binding `conference.command.*` of the shared queue on the
   * senders' exchange (how a single instance consumed before routing per conference) is removed: left
   * in place it would hand every command to the shared queue as well, and answer it twice.
   */
  private async declareRouting(channel: ConfirmChannel, connection: ChannelModel): Promise<void> {
    await channel.assertExchange(this.unroutedExchange, 'fanout', { durable: true });
    await channel.assertExchange(this.routingExchange, 'topic', {
      durable: true,
      internal: true,
      arguments: { 'alternate-exchange': this.unroutedExchange },
    });
    await channel.bindExchange(this.routingExchange, this.exchange, COMMAND_BINDING);
    await this.declareSharedQueue(connection);
    await channel.bindQueue(this.queue, this.unroutedExchange, '');
    await channel.unbindQueue(this.queue, this.exchange, COMMAND_BINDING);
    await channel.assertQueue(this.ownQueue, { exclusive: true, durable: false });
    // Kazoo's search_req names its conference in the body, not the key: every instance gets a copy on
    // its own queue and only the one serving the conference answers (as ecallmgr nodes do).
    await channel.bindQueue(this.ownQueue, this.exchange, DISCOVERY_KEY);
  }

  /**
   * A message on the discovery key is ours to answer only when it is a search for a conference this
   * instance serves; anything else there (another instance's conference, Kazoo's discovery_req, noise)
   * is left to whoever it is for, without a reply or a dead-letter copy.
   */
  private answersDiscovery(msg: ConsumeMessage): boolean {
    let parsed: ParsedCommandMessage;
    try {
      parsed = parseCommandMessage(msg.content, msg.fields.routingKey, { maxBodyBytes: this.maxBodyBytes });
    } catch {
      return false;
    }
    if (parsed.answer !== 'search') return false;
    const conference = parsed.commands[0]?.conference;
    return conference !== undefined && [...this.routedConferences()].includes(conference);
  }

  private track(p: Promise<void>): void {
    this.active.add(p);
    void p.finally(() => this.active.delete(p));
  }

  /** Never rejects: every message ends acked (or, when the channel is gone, redelivered by the broker). */
  private async handle(channel: ConfirmChannel, msg: ConsumeMessage, routed: boolean): Promise<void> {
    if (msg.fields.routingKey === DISCOVERY_KEY && !this.answersDiscovery(msg)) {
      channel.ack(msg);
      return;
    }
    this.counts.received++;
    const { replyTo, correlationId } = msg.properties as { replyTo?: string; correlationId?: string };
    let parsed: ParsedCommandMessage | undefined;
    let failure: unknown;
    let deadLetter: DeadLetterReason | undefined;
    try {
      parsed = parseCommandMessage(msg.content, msg.fields.routingKey, { maxBodyBytes: this.maxBodyBytes });
    } catch (err) {
      this.counts.invalid++;
      failure = err;
      if (err instanceof CommandMessageTooLargeError) deadLetter = 'too_large';
      else if (err instanceof UnparsableCommandMessageError) deadLetter = 'not_json';
      else if (!replyTo) deadLetter = 'invalid_no_reply_to';
    }
    if (parsed && !routed && (await this.rerouted(channel, msg, parsed))) return;
    let reply: CommandReply;
    try {
      if (parsed) {
        const p = parsed;
        reply = await this.inOrder(messageConferences(p), async () => {
          const refused = await this.accountRefusal(p, msg.fields.routingKey);
          if (refused) return buildReply([], p, refused);
          if (p.dial) return this.runDial(p, p.dial, routed);
          return buildReply(await this.runAll(p, routed), p);
        });
        if (reply.status === 'success') this.counts.succeeded++;
        else this.counts.failed++;
      } else {
        reply = buildReply([], undefined, failure);
      }
    } catch (err) {
      // A bug of ours, not the sender's: say so once, keep the message for inspection.
      deadLetter = 'internal_error';
      failure = err;
      reply = buildReply([], undefined, err);
    }
    try {
      // The copy first: whoever reads the error reply finds the message in the dead-letter queue.
      if (deadLetter) await this.deadLetter(channel, msg, deadLetter, failure, replyTo !== undefined && deadLetter !== 'internal_error');
      try {
        this.answer(channel, msg, reply, replyTo, correlationId);
      } catch (err) {
        if (err instanceof Error && err.name === 'IllegalOperationError') throw err;
        if (!deadLetter) await this.deadLetter(channel, msg, 'internal_error', err, false);
      }
      channel.ack(msg);
    } catch (err) {
      // The channel closed under us: the broker will redeliver the unacked message.
      this.log.warn({ err }, 'could not reply/ack a command');
    }
  }

  /**
   * During a node's handover (see handoverWaitMs): waits a moment, then, unless this instance now
   * serves every conference of the message, publishes it again on the senders' exchange with its own
   * key (the routing exchange is internal: publishing there is refused), same body and properties, so
   * its reply still goes to the sender; acks it once the broker confirmed the copy. True when the
   * message was handed on (nothing more to do with it).
   */
  private async rerouted(channel: ConfirmChannel, msg: ConsumeMessage, parsed: ParsedCommandMessage): Promise<boolean> {
    if (this.handoverWaitMs <= 0 || msg.fields.routingKey === DISCOVERY_KEY) return false;
    const conferences = messageConferences(parsed);
    if (conferences.every((c) => this.servesConference(c))) return false;
    const headers = (msg.properties.headers ?? {}) as Record<string, unknown>;
    const given = Number(headers[HANDOVER_UNTIL_HEADER]);
    const until = Number.isFinite(given) && given > 0 ? Math.min(given, Date.now() + this.handoverWaitMs) : Date.now() + this.handoverWaitMs;
    if (Date.now() >= until) return false;
    // Stopping: hand it on at once (it is not ours to refuse while another instance may take it).
    if (!this.stopping) await new Promise((resolve) => setTimeout(resolve, Math.min(this.rerouteEveryMs, until - Date.now())));
    if (conferences.every((c) => this.servesConference(c))) return false;
    try {
      await this.republish(channel, msg, { ...headers, [HANDOVER_UNTIL_HEADER]: until });
      channel.ack(msg);
      this.counts.rerouted++;
    } catch (err) {
      // Not confirmed (channel gone): the unacked original is redelivered, nothing is lost.
      this.log.warn({ err, routingKey: msg.fields.routingKey }, 'could not reroute a command during a handover');
    }
    return true;
  }

  /**
   * Publishes a copy of a command on the senders' exchange with its own key (the routing exchange is
   * internal), same body and properties so its reply still reaches the sender; resolves once the broker
   * confirmed it.
   */
  private republish(channel: ConfirmChannel, msg: Message, headers: Record<string, unknown>): Promise<void> {
    const options = { ...keptProperties(msg.properties, ['messageId', 'deliveryMode']), headers };
    return new Promise<void>((resolve, reject) =>
      channel.publish(this.exchange, msg.fields.routingKey, msg.content, options, (err: unknown) => (err == null ? resolve() : reject(err))),
    );
  }

  /**
   * Runs `task` after every earlier message touching any of `keys` (conference names) has finished:
   * commands for one conference run in the order they were delivered, different conferences in
   * parallel (up to the prefetch). Called synchronously from the consume callback, so the chains
   * are built in delivery order. Holds one promise per conference with work pending.
   */
  private inOrder<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    const unique = [...new Set(keys)];
    const before = unique.map((k) => this.tails.get(k)).filter((p): p is Promise<void> => p !== undefined);
    const run = before.length === 0 ? task() : Promise.all(before).then(task);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    for (const k of unique) this.tails.set(k, tail);
    void tail.then(() => {
      for (const k of unique) if (this.tails.get(k) === tail) this.tails.delete(k);
    });
    return run;
  }

  /** The reply on reply_to (capped), or a bounded log line when there is nobody to answer. */
  private answer(channel: ConfirmChannel, msg: ConsumeMessage, reply: CommandReply, replyTo: string | undefined, correlationId: string | undefined): void {
    if (replyTo) {
      const options: Record<string, unknown> = { contentType: 'application/json', appId: this.appId };
      if (correlationId !== undefined) options['correlationId'] = correlationId;
      channel.sendToQueue(replyTo, encodeReply(reply, this.maxReplyBytes), options);
      this.counts.replied++;
      return;
    }
    this.counts.noReplyTo++;
    this.log.info(
      {
        routingKey: msg.fields.routingKey,
        status: reply.status,
        ...(reply.error ? { code: reply.error.code, error: reply.error.message } : {}),
        ...(reply.results ? { commands: reply.results.length } : {}),
      },
      'command without reply_to',
    );
  }

  /**
   * Copies a message that could not be handled to the dead-letter queue (original body and
   * properties, plus `x-confmgr-*` headers saying why) and logs it once: at info when its sender gets
   * an error reply (it was told), at warn when nobody else will know. Resolves once the broker has
   * confirmed the copy; a refused copy is logged and the message still goes.
   */
  private async deadLetter(channel: ConfirmChannel, msg: ConsumeMessage, reason: DeadLetterReason, failure: unknown, answered: boolean): Promise<void> {
    this.counts.deadLettered++;
    const p = msg.properties;
    const messageId = typeof p.messageId === 'string' && p.messageId !== '' ? p.messageId : `${this.idPrefix}-${(this.idSeq++).toString(36)}`;
    const error = toReplyError(failure);
    const message = error.message.length > 500 ? `${error.message.slice(0, 500)}…` : error.message;
    const fields = { messageId, reason, code: error.code, error: message, routingKey: msg.fields.routingKey, bytes: msg.content.length, deadLetterQueue: this.deadLetterQueue };
    const connection = this.connection;
    if (connection) this.deadLetterReady ??= this.declareDeadLetterQueue(connection);
    if (!(await (this.deadLetterReady ?? Promise.resolve(false)))) {
      this.log[answered ? 'info' : 'warn'](fields, 'command message dropped (no dead-letter queue)');
      return;
    }
    const headers: Record<string, unknown> = {
      ...(p.headers ?? {}),
      'x-confmgr-reason': reason,
      'x-confmgr-error-code': error.code,
      'x-confmgr-error': message,
      'x-confmgr-exchange': msg.fields.exchange,
      'x-confmgr-routing-key': msg.fields.routingKey,
      'x-confmgr-dead-lettered-at': new Date().toISOString(),
    };
    const options: Record<string, unknown> = { ...keptProperties(p), persistent: true, messageId, headers };
    try {
      await new Promise<void>((resolve, reject) =>
        channel.sendToQueue(this.deadLetterQueue, msg.content, options, (err: unknown) => (err == null ? resolve() : reject(err))),
      );
      this.log[answered ? 'info' : 'warn'](fields, 'command message dead-lettered');
    } catch (err) {
      if (err instanceof Error && err.message === 'channel closed') throw err;
      this.log.error({ ...fields, err }, 'command message dropped: the dead-letter queue refused it');
    }
  }

  /**
   * Declares the shared queue (of `queueType`) on a channel of its own: a refused declare closes its
   * channel. An existing queue of another type (say classic, declared before `queue_type: quorum`) is
   * refused with PRECONDITION_FAILED: it is used as it is, and the operator told how to change it.
   */
  private async declareSharedQueue(connection: ChannelModel): Promise<void> {
    try {
      await this.onOwnChannel(connection, (ch) => ch.assertQueue(this.queue, { durable: true, arguments: { ...this.queueArguments } }));
    } catch (err) {
      if ((err as { code?: number }).code !== 406) throw err;
      await this.onOwnChannel(connection, (ch) => ch.checkQueue(this.queue));
      this.log.error(
        { err, queue: this.queue, queueArguments: this.queueArguments },
        'the command queue exists with another type or arguments; using it as it is (delete it, unconsumed, to have it declared as amqp.queue_type says)',
      );
    }
  }

  /**
   * Runs `fn` on a confirm channel opened for it alone, closed after without waiting for the broker's
   * close-ok (a stalled broker never sends it, and nothing here depends on it).
   */
  private async onOwnChannel<T>(connection: ChannelModel, fn: (ch: ConfirmChannel) => Promise<T>): Promise<T> {
    const ch = await connection.createConfirmChannel();
    ch.on('error', () => undefined);
    try {
      return await fn(ch);
    } finally {
      ch.close().catch(() => undefined);
    }
  }

  /**
   * Declares the dead-letter queue on a channel of its own (a refused declare closes its channel).
   * An existing queue with other arguments (declared by an operator) is used as it is.
   */
  private async declareDeadLetterQueue(connection: ChannelModel): Promise<boolean> {
    try {
      await this.onOwnChannel(connection, (ch) =>
        ch.assertQueue(this.deadLetterQueue, { durable: true, arguments: { ...DEAD_LETTER_QUEUE_ARGUMENTS, ...this.queueArguments } }),
      );
      return true;
    } catch (err) {
      if ((err as { code?: number }).code !== 406) {
        this.log.error({ err, deadLetterQueue: this.deadLetterQueue }, 'cannot declare the dead-letter queue; poison messages will only be logged');
        return false;
      }
    }
    try {
      await this.onOwnChannel(connection, (ch) => ch.checkQueue(this.deadLetterQueue));
      this.log.info({ deadLetterQueue: this.deadLetterQueue }, 'dead-letter queue exists with other arguments; using it as it is');
      return true;
    } catch (err) {
      this.log.error({ err, deadLetterQueue: this.deadLetterQueue }, 'cannot use the dead-letter queue; poison messages will only be logged');
      return false;
    }
  }

  /** The refusal when the message's `Account-ID` is not the account of a conference it targets. */
  private async accountRefusal(parsed: ParsedCommandMessage, routingKey: string): Promise<CommandAccountMismatchError | undefined> {
    const account = parsed.accountId;
    if (account === undefined || !this.accountOf) return undefined;
    for (const conference of new Set(messageConferences(parsed))) {
      const owner = await this.accountOf(conference);
      if (owner !== undefined && owner !== account) {
        this.log.warn({ conference, account, routingKey }, 'command refused: the conference belongs to another account');
        return new CommandAccountMismatchError(conference, account);
      }
    }
    return undefined;
  }

  /** Kazoo's dial: dial_resp with each endpoint's outcome, or conference_error. */
  private async runDial(parsed: ParsedCommandMessage, request: DialRequest, routed: boolean): Promise<CommandReply> {
    if (!this.dialer) return buildReply([], parsed, new InvalidCommandMessageError('dial is not available on this instance', { application: 'dial' }));
    if (!routed && !this.servesConference(request.conference)) return buildReply([], parsed, new ConferenceNotFoundError(request.conference));
    try {
      return dialReply(parsed, await this.dialer.dial(request));
    } catch (err) {
      return buildReply([], parsed, err);
    }
  }

  /** A message's commands in order, within the message's time budget. */
  private async runAll(parsed: ParsedCommandMessage, routed: boolean): Promise<ItemOutcome[]> {
    const deadline = Date.now() + this.messageTimeoutMs;
    const outcomes: ItemOutcome[] = [];
    for (const command of parsed.commands) {
      const left = deadline - Date.now();
      if (left <= 0) {
        outcomes.push({
          status: 'error',
          error: { code: 'NOT_RUN', message: `not run: the message's ${this.messageTimeoutMs} ms budget was spent` },
        });
        continue;
      }
      if (!routed && !this.servesConference(command.conference)) {
        // Live here only on a node another instance serves: not ours to run.
        outcomes.push({ status: 'error', error: toReplyError(new ConferenceNotFoundError(command.conference)) });
        continue;
      }
      outcomes.push(await this.runOne(command, Math.min(this.timeoutMs, left)));
    }
    return outcomes;
  }

  private async runOne(command: Parameters<ConferenceCommandExecutor['execute']>[0], timeoutMs: number): Promise<ItemOutcome> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race<CommandResult>([
        this.executor.execute(command),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new CommandTimeoutError(`command ${command.kind} timed out after ${timeoutMs} ms`)),
            timeoutMs,
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
