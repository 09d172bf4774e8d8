/**
 * AmqpPublisher: participant events → a durable topic exchange, with publisher confirms, without
 * ever making the caller wait for the broker.
 *
 *  publish()  synchronous: filter → routing key → JSON → the AMQP frames of its publish, encoded
 *             once into the backlog (a bounded FIFO off the V8 heap: publish-backlog.ts). Never awaits.
 *  sender     per event-loop turn, writes the next pending entries' frames to the confirm channel's
 *             socket in one write (publish-socket.ts), at most one write per writeCoalesceMs while
 *             less than a batch waits, keeping ≤ maxInFlight unconfirmed messages;
 *             a message is done only when the broker confirms it (basic.ack, single or multiple).
 *  on loss    (connection/channel closed) every unconfirmed message goes back to the FRONT of
 *             `pending`, in order, and is re-sent after reconnect (at-least-once: duplicates are
 *             possible, `message_id` lets consumers drop them).
 *  overflow   `pending` over bufferSize drops the OLDEST, counted (`dropped.overflow`) and logged.
 *  nack       re-queued at the front up to maxNackRetries times, then counted `dropped.nacked`.
 *  returns    only with `mandatory: true`: counted `unroutable` (the broker still confirms them).
 *
 * Order: one FIFO and one channel, so the broker receives messages in publish() order, which keeps
 * per-conference order. The only exception is a nack retry (the retried message may land after
 * later ones that were already in flight); RabbitMQ nacks only on internal errors or queues with
 * `x-overflow: reject-publish`.
 */
import { randomBytes } from 'node:crypto';
import type { ChannelModel, ConfirmChannel, Message } from 'amqplib';
import { serializedPayload, type OutboundEvent } from '../conference/index.js';
import { silentLogger, redactUrl, type Logger } from '../util/index.js';
import type { BackoffOptions } from '../util/index.js';
import { reconnectLoop } from '../util/index.js';
import { closeWithin, connectAmqp } from './connect.js';
import { EventFilter } from './filter.js';
import { IN_FLIGHT, PENDING, PublishBacklog } from './publish-backlog.js';
import { DEFAULT_FRAME_MAX, PUBLISH_CHANNEL, PublishFrameEncoder, publishedMessageId, publishedRoutingKey, reframe, type PublishFields } from './publish-frames.js';
import { PublishSocket } from './publish-socket.js';
import { eventRoutingKey } from './routing.js';
import { SeqQueue } from './seq-queue.js';

export type PublisherCounter =
  | 'accepted' // taken into the buffer
  | 'filtered' // refused by publish_participant_event
  | 'sent' // written to the channel (re-sends included)
  | 'confirmed' // acked by the broker: done
  | 'nacked' // nacked by the broker (each nack)
  | 'resent' // put back after a connection loss, to be sent again
  | 'unroutable' // returned by the broker (mandatory only)
  | 'unconfirmed' // sent, still unconfirmed when close() gave up: the broker normally has them
  | 'dropped'; // lost: reason overflow | nacked | shutdown (never sent)

export type DropReason = 'overflow' | 'nacked' | 'shutdown';

/** Called for every counter change; wire prom-client counters here (labels: event, reason). */
export type PublisherMetricsHook = (counter: PublisherCounter, event: string, n: number, reason?: DropReason) => void;

export interface AmqpPublisherOptions {
  url: string;
  /** Topic exchange name, declared durable. Default `conference`. */
  exchange?: string;
  /** Max messages waiting to be sent (not counting the in-flight window). Default 100 000. */
  bufferSize?: number;
  /**
   * Bytes of encoded messages the buffer holds in memory; beyond, the chunks to be sent last go to an
   * unlinked temporary file (page cache, not this process's memory) and are read back to be sent.
   * Default: no bound (never spilled). A failed spill write keeps the chunk in memory (logged).
   */
  bufferMemoryBytes?: number;
  /** Folder of that file. Default: the OS temporary folder. */
  bufferSpillDir?: string;
  /** Max unconfirmed messages on the channel (also the most duplicates a reconnect can cause). Default 5000. */
  maxInFlight?: number;
  /** A nacked message is retried this many times, then dropped (counted). Default 3. */
  maxNackRetries?: number;
  /** Publish with the mandatory flag and count broker returns as `unroutable`. Default false. */
  mandatory?: boolean;
  /** AMQP app_id property. Default `confmgr`. */
  appId?: string;
  /** Client-provided connection name (shown by rabbitmqctl / management). Default `confmgr-publisher`. */
  connectionName?: string;
  reconnect?: BackoffOptions;
  /** The publish_participant_event filter; default lets everything through. */
  filter?: EventFilter;
  logger?: Logger;
  metrics?: PublisherMetricsHook;
  /** Messages handed to the channel per event-loop turn (keeps the loop responsive). Default 2000. */
  batchSize?: number;
  /**
   * After a write, the next one waits until this many ms have passed unless a whole batch is pending:
   * at a steady rate the events of a few milliseconds then leave in one socket write instead of one
   * write each (a write costs more than encoding several messages). 0: every turn writes. Default 2.
   */
  writeCoalesceMs?: number;
}

export interface EventStats {
  accepted: number;
  filtered: number;
  confirmed: number;
  dropped: number;
  unroutable: number;
}

export interface PublisherStats {
  connected: boolean;
  /** The broker blocks publishing on this connection (a resource alarm: memory or disk). */
  blocked: boolean;
  /** Waiting to be sent. */
  buffered: number;
  /** Sent, not yet confirmed. */
  inFlight: number;
  accepted: number;
  filtered: number;
  sent: number;
  confirmed: number;
  nacked: number;
  resent: number;
  unroutable: number;
  dropped: Record<DropReason, number>;
  /** Sent but not confirmed when close() gave up (not counted as dropped). */
  unconfirmedAtClose: number;
  connects: number;
  byEvent: Record<string, EventStats>;
}

/** What close() left behind. */
export interface CloseResult {
  /** Everything accepted was confirmed by the broker before the deadline. */
  flushed: boolean;
  /** Never written to the connection: lost, counted as `dropped.shutdown`. */
  dropped: number;
  /**
   * Written to the connection, no confirm by the deadline. RabbitMQ normally has them (a broker that
   * blocks publishing still reads what was sent once it unblocks); they are lost only if the broker
   * failed too. Not counted as dropped.
   */
  unconfirmed: number;
}

export type PublishOutcome = 'queued' | 'filtered' | 'closed';

/** How long close() waits for the broker to answer connection.close (a stalled broker never does). */
const CONNECTION_CLOSE_MS = 1000;
/**
 * Bytes one turn writes (at least one entry) and the size of a reusable turn buffer: large enough that
 * a flood's writes are a few per thousand events, small enough that the buffers kept stay off the
 * process's peak memory (an entry larger than this gets a buffer of its size).
 */
const OUT_BUFFER_BYTES = 1 << 18;
const OUT_BUFFERS_KEPT = 4;

interface Session {
  id: number;
  connection: ChannelModel;
  channel: ConfirmChannel;
  socket: PublishSocket;
  /** The entries' frames can be written as encoded (channel and frame max as assumed at encoding). */
  asEncoded: boolean;
  /** Delivery tag of the next publish on this channel (the broker counts from 1 after confirm.select). */
  nextTag: number;
  /** Delivery tag of the `inFlight` queue's first position. */
  firstTag: number;
  closed: boolean;
  blocked: boolean;
  waitingDrain: boolean;
  /** Set by teardown: the connection's close, awaited (bounded) by close(). */
  closing?: Promise<void>;
  onClosed: () => void;
}

export class AmqpPublisher {
  readonly exchange: string;
  private readonly url: string;
  private readonly bufferSize: number;
  private readonly maxInFlight: number;
  private readonly maxNackRetries: number;
  private readonly connectionName: string;
  private readonly reconnect: BackoffOptions;
  private readonly batchSize: number;
  /** Entries that make a whole turn: batchSize, or fewer when OUT_BUFFER_BYTES of them are less. */
  private turnEntries: number;
  private readonly log: Logger;
  private readonly metrics: PublisherMetricsHook | undefined;
  readonly filter: EventFilter;

  private readonly encoder: PublishFrameEncoder;
  /** The current session's sent entries, in delivery-tag order (position k ↔ tag `firstTag + k`). */
  private readonly sent = new SeqQueue();
  /** Every accepted entry until done: its frames, state and the queue of those waiting to be sent. */
  private readonly backlog: PublishBacklog;
  /** Reused for every publish() (the encoder reads it synchronously). */
  private readonly fields: PublishFields = { routingKey: '', messageId: '', timestamp: 0, type: '', headers: undefined, body: '' };
  /** Turn buffers the socket is done with, for the next turns. */
  private readonly outBuffers: Buffer[] = [];
  private inFlight = 0;
  private session: Session | undefined;
  private sessionSeq = 0;
  private drainScheduled = false;
  private accepting = true;
  private stopping = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private startedResolve: (() => void) | undefined;
  private readonly started: Promise<void>;
  private idleWaiters: Array<() => void> = [];
  private belowWaiters: Array<{ n: number; release: () => void }> = [];

  private readonly idPrefix = randomBytes(6).toString('hex');
  private idSeq = 0;

  private readonly counts = {
    accepted: 0,
    filtered: 0,
    sent: 0,
    confirmed: 0,
    nacked: 0,
    resent: 0,
    unroutable: 0,
    unconfirmedAtClose: 0,
    connects: 0,
    dropped: { overflow: 0, nacked: 0, shutdown: 0 } as Record<DropReason, number>,
  };
  private readonly perEvent = new Map<string, EventStats>();
  /** Event names by the id the backlog stores per entry, and their counters. */
  private readonly eventIds = new Map<string, number>();
  private readonly eventNames: string[] = [];
  private readonly eventCounters: EventStats[] = [];
  private overflowLog = { last: 0, since: 0 };
  /** Spill writes that failed, as last logged. */
  private spillFailures = 0;
  private spillFailureLoggedAt = -Infinity;

  private readonly drainNow = (): void => this.drain();
  private readonly coalesceMs: number;
  /** performance.now() of the last socket write. */
  private lastWriteAt = -Infinity;
  /** The held drain (see writeCoalesceMs). */
  private coalesceTimer: NodeJS.Timeout | undefined;

  constructor(options: AmqpPublisherOptions) {
    this.url = options.url;
    this.exchange = options.exchange ?? 'conference';
    this.bufferSize = Math.max(1, options.bufferSize ?? 100_000);
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 5000);
    this.maxNackRetries = options.maxNackRetries ?? 3;
    this.connectionName = options.connectionName ?? 'confmgr-publisher';
    this.reconnect = options.reconnect ?? {};
    this.batchSize = Math.max(1, options.batchSize ?? 2000);
    this.turnEntries = this.batchSize;
    this.coalesceMs = Math.max(0, options.writeCoalesceMs ?? 2);
    this.filter = options.filter ?? new EventFilter();
    this.log = (options.logger ?? silentLogger).child({ component: 'amqp-publisher' });
    this.metrics = options.metrics;
    this.encoder = new PublishFrameEncoder({ exchange: this.exchange, mandatory: options.mandatory ?? false, appId: options.appId ?? 'confmgr' });
    // Pending + in flight never exceed bufferSize + maxInFlight; past twice that, done entries stuck
    // behind an unconfirmed one are compacted away.
    this.backlog = new PublishBacklog(2 * (this.bufferSize + this.maxInFlight) + 4096, [this.sent], undefined, {
      ...(options.bufferMemoryBytes !== undefined ? { memoryBytes: options.bufferMemoryBytes } : {}),
      ...(options.bufferSpillDir !== undefined ? { spillDir: options.bufferSpillDir } : {}),
    });
    this.started = new Promise((resolve) => (this.startedResolve = resolve));
  }

  /**
   * Starts the connect loop. Resolves once the first connection is up (or when closed first);
   * never rejects — while the broker is unreachable events are buffered and it keeps retrying.
   * Callers that must not wait can ignore the promise.
   */
  start(): Promise<void> {
    if (!this.loop) this.loop = this.connectLoop();
    return this.started;
  }

  get connected(): boolean {
    return this.session !== undefined && !this.session.closed;
  }

  /**
   * Queues one event. Synchronous and non-blocking whatever the broker's state: the event is
   * filtered (counted), or buffered (oldest dropped and counted on overflow), or refused after close().
   */
  publish(event: OutboundEvent, headers?: Record<string, string | number>): PublishOutcome {
    const name = event.event;
    if (!this.accepting) {
      this.countDrop(name, 'shutdown', 1); // late arrivals during shutdown: counted, never silent
      return 'closed';
    }
    if (!this.filter.check(name)) {
      this.counts.filtered++;
      this.eventStats(name).filtered++;
      this.metrics?.('filtered', name, 1);
      return 'filtered';
    }
    const id = this.eventId(name);
    const stats = this.eventCounters[id]!;
    const msgId = event.payload['msg_id'];
    const f = this.fields;
    f.routingKey = eventRoutingKey(event.conferenceId, event.callId);
    // message_id is an AMQP short string (≤ 255 bytes).
    f.messageId = typeof msgId === 'string' && msgId !== '' && (msgId.length <= 85 || Buffer.byteLength(msgId) <= 255) ? msgId : `${this.idPrefix}-${(this.idSeq++).toString(36)}`;
    f.timestamp = Math.floor(Date.now() / 1000);
    f.type = name;
    f.headers = headers;
    f.body = serializedPayload(event);
    if (this.backlog.pending.length >= this.bufferSize) this.dropOldest(this.backlog.pending.length - this.bufferSize + 1);
    this.backlog.append(this.encoder, f, id);
    if (this.backlog.spillCounts.failed !== this.spillFailures) this.logSpillFailure();
    f.body = '';
    f.headers = undefined;
    this.counts.accepted++;
    stats.accepted++;
    this.metrics?.('accepted', name, 1);
    this.scheduleDrain();
    return 'queued';
  }

  stats(): PublisherStats {
    const byEvent: Record<string, EventStats> = {};
    for (const [k, v] of this.perEvent) byEvent[k] = { ...v };
    return {
      connected: this.connected,
      blocked: this.connected && this.session!.blocked,
      buffered: this.backlog.pending.length,
      inFlight: this.inFlight,
      accepted: this.counts.accepted,
      filtered: this.counts.filtered,
      sent: this.counts.sent,
      confirmed: this.counts.confirmed,
      nacked: this.counts.nacked,
      resent: this.counts.resent,
      unroutable: this.counts.unroutable,
      dropped: { ...this.counts.dropped },
      unconfirmedAtClose: this.counts.unconfirmedAtClose,
      connects: this.counts.connects,
      byEvent,
    };
  }

  /** Resolves true once nothing is buffered or in flight, false if `deadlineMs` passes first. */
  flush(deadlineMs: number): Promise<boolean> {
    if (this.isIdle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== waiter);
        resolve(false);
      }, deadlineMs);
      this.idleWaiters.push(waiter);
    });
  }

  /**
   * Resolves once fewer than `n` events wait to be sent (the in-flight window not counted), at once
   * while the broker is not connected (the buffer is there to fill then), or after `maxWaitMs`. For a
   * producer that can choose its pace (a resync's burst of synthesized events): the burst then waits
   * upstream at the broker's speed instead of all of it in this buffer. Never rejects.
   */
  whenBufferedBelow(n: number, maxWaitMs: number): Promise<void> {
    if (this.backlog.pending.length < n || !this.flowing()) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = {
        n,
        release: (): void => {
          clearTimeout(timer);
          this.belowWaiters = this.belowWaiters.filter((w) => w !== waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.release, maxWaitMs);
      this.belowWaiters.push(waiter);
    });
  }

  private releaseBelowWaiters(): void {
    if (this.belowWaiters.length === 0) return;
    const flowing = this.flowing();
    for (const w of [...this.belowWaiters]) if (!flowing || this.backlog.pending.length < w.n) w.release();
  }

  /** Connected, not blocked by the broker (resource alarm), not stopping: the buffer is draining. */
  private flowing(): boolean {
    return this.connected && !this.session!.blocked && !this.stopping;
  }

  /**
   * Stops accepting, flushes within `deadlineMs`, then closes the connection. What is left is
   * reported in two parts: events never written to the connection are dropped (counted
   * `dropped.shutdown`, logged at error); events written but not yet confirmed are `unconfirmed`
   * (counted apart, logged at warn): the broker normally has them.
   */
  async close(deadlineMs = 5000): Promise<CloseResult> {
    if (this.stopping) return { flushed: this.isIdle(), dropped: 0, unconfirmed: 0 };
    this.accepting = false;
    const flushed = this.loop ? await this.flush(deadlineMs) : this.isIdle();
    this.stopping = true;
    this.abort.abort();
    this.releaseBelowWaiters();
    const pending = this.backlog.pending;
    const unsent = pending.length;
    for (let seq = pending.shift(); seq >= 0; seq = pending.shift()) {
      const id = this.backlog.eventId(seq);
      this.backlog.release(seq);
      this.countDrop(this.eventNames[id]!, 'shutdown', 1, this.eventCounters[id]);
    }
    const session = this.session;
    let unconfirmed = 0;
    if (session) {
      for (let k = 0; k < this.sent.length; k++) {
        const seq = this.sent.at(k);
        if (!this.backlog.inFlightWith(seq, session.firstTag + k)) continue;
        this.backlog.release(seq);
        unconfirmed++;
        this.metrics?.('unconfirmed', this.eventNames[this.backlog.eventId(seq)]!, 1);
      }
      this.sent.clear();
    }
    this.counts.unconfirmedAtClose += unconfirmed;
    this.inFlight = 0;
    this.backlog.close();
    if (unsent > 0) this.log.error({ dropped: unsent, unconfirmed }, 'publisher closed: events never sent were dropped');
    else if (unconfirmed > 0) this.log.warn({ unconfirmed }, 'publisher closed with events sent but not yet confirmed (the broker normally has them)');
    if (session) {
      this.teardown(session); // nothing left to re-queue: every entry is done
      await closeWithin(session.connection, CONNECTION_CLOSE_MS, session.closing);
    }
    this.startedResolve?.();
    await this.loop;
    return { flushed, dropped: unsent, unconfirmed };
  }

  // ---------------------------------------------------------------------------------------------

  private isIdle(): boolean {
    return this.backlog.pending.length === 0 && this.inFlight === 0;
  }

  private eventStats(name: string): EventStats {
    let s = this.perEvent.get(name);
    if (!s) {
      s = { accepted: 0, filtered: 0, confirmed: 0, dropped: 0, unroutable: 0 };
      this.perEvent.set(name, s);
    }
    return s;
  }

  private eventId(name: string): number {
    let id = this.eventIds.get(name);
    if (id === undefined) {
      id = this.eventNames.length;
      this.eventIds.set(name, id);
      this.eventNames.push(name);
      this.eventCounters.push(this.eventStats(name));
    }
    return id;
  }

  private countDrop(name: string, reason: DropReason, n: number, stats = this.eventStats(name)): void {
    this.counts.dropped[reason] += n;
    stats.dropped += n;
    this.metrics?.('dropped', name, n, reason);
  }

  private dropOldest(n: number): void {
    for (let i = 0; i < n; i++) {
      const seq = this.backlog.pending.shift();
      if (seq < 0) break;
      const id = this.backlog.eventId(seq);
      this.backlog.release(seq);
      this.countDrop(this.eventNames[id]!, 'overflow', 1, this.eventCounters[id]);
    }
    // Rate-limited: at most one line per 5 s, carrying the count since the previous line.
    this.overflowLog.since += n;
    const now = Date.now();
    if (now - this.overflowLog.last >= 5000) {
      this.log.warn(
        { dropped: this.overflowLog.since, totalDropped: this.counts.dropped.overflow, bufferSize: this.bufferSize },
        'event buffer full: dropped oldest events',
      );
      this.overflowLog = { last: now, since: 0 };
    }
  }

  /** At most one line a minute: the buffer could not spill to its file and holds more memory than bounded. */
  private logSpillFailure(): void {
    const now = Date.now();
    if (now - this.spillFailureLoggedAt < 60_000) return;
    const failed = this.backlog.spillCounts.failed;
    this.log.warn({ failed: failed - this.spillFailures, totalFailed: failed }, 'event buffer could not spill to its temporary file: holding it in memory');
    this.spillFailures = failed;
    this.spillFailureLoggedAt = now;
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length > 0 && this.isIdle()) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private scheduleDrain(): void {
    if (this.coalesceTimer && this.backlog.pending.length >= this.turnEntries) {
      // A whole turn is waiting: it goes now.
      clearTimeout(this.coalesceTimer);
      this.coalesceTimer = undefined;
      setImmediate(this.drainNow);
      return;
    }
    if (this.drainScheduled) return;
    const s = this.session;
    if (!s || s.closed || s.blocked || s.waitingDrain) return;
    if (this.backlog.pending.length === 0 || this.inFlight >= this.maxInFlight) return;
    this.drainScheduled = true;
    const wait = this.lastWriteAt + this.coalesceMs - performance.now();
    if (wait >= 1 && this.backlog.pending.length < this.turnEntries) this.coalesceTimer = setTimeout(this.drainNow, wait);
    else setImmediate(this.drainNow);
  }

  /** Writes up to a batch of pending entries to the channel, in one socket write. */
  private drain(): void {
    this.drainScheduled = false;
    if (this.coalesceTimer) {
      clearTimeout(this.coalesceTimer);
      this.coalesceTimer = undefined;
    }
    const s = this.session;
    if (!s || s.closed || s.blocked || s.waitingDrain) return;
    const backlog = this.backlog;
    const pending = backlog.pending;
    let count = Math.min(this.maxInFlight - this.inFlight, this.batchSize, pending.length);
    if (count <= 0) return;
    let bytes = 0;
    let reframed: Buffer[] | undefined;
    if (s.asEncoded) {
      for (let k = 0; k < count; k++) {
        const len = backlog.byteLength(pending.at(k));
        if (k > 0 && bytes + len > OUT_BUFFER_BYTES) count = k;
        else bytes += len;
      }
    } else {
      reframed = [];
      for (let k = 0; k < count; k++) {
        const b = reframe(backlog.bytes(pending.at(k)), s.socket.channel, s.socket.frameMax);
        if (k > 0 && bytes + b.length > OUT_BUFFER_BYTES) count = k;
        else {
          reframed.push(b);
          bytes += b.length;
        }
      }
    }
    // Entries of this size make a whole turn (by count or by bytes): that many waiting are written at once.
    this.turnEntries = Math.max(1, Math.min(this.batchSize, Math.floor((OUT_BUFFER_BYTES * count) / bytes)));
    const block = this.takeOutBuffer(bytes);
    const out = block.subarray(0, bytes);
    let at = 0;
    for (let k = 0; k < count; k++) {
      const seq = pending.shift();
      at = reframed ? at + reframed[k]!.copy(out, at) : backlog.copyTo(seq, out, at);
      backlog.setState(seq, IN_FLIGHT);
      backlog.setTag(seq, s.nextTag++);
      this.sent.push(seq);
      this.metrics?.('sent', this.eventNames[backlog.eventId(seq)]!, 1);
    }
    this.inFlight += count;
    this.counts.sent += count;
    let writable: boolean;
    this.lastWriteAt = performance.now();
    try {
      writable = s.socket.write(out, () => this.giveOutBuffer(block));
    } catch (err) {
      // The socket went away under us: teardown puts everything unconfirmed back, in order.
      this.log.warn({ err }, 'publish failed; reconnecting');
      this.teardown(s);
      return;
    }
    this.releaseBelowWaiters();
    if (!writable) {
      // The socket's buffer is full: wait for it to drain rather than piling up more.
      s.waitingDrain = true;
      s.socket.onDrain(() => {
        s.waitingDrain = false;
        this.scheduleDrain();
      });
      return;
    }
    this.scheduleDrain();
  }

  /**
   * A buffer for one turn's frames, reused once the socket is done with it: a flood's turns would
   * otherwise allocate megabytes of external memory each, which V8 answers with extra collections.
   */
  private takeOutBuffer(bytes: number): Buffer {
    const pool = this.outBuffers;
    for (let i = pool.length - 1; i >= 0; i--) {
      const b = pool[i]!;
      if (b.length >= bytes) {
        pool[i] = pool[pool.length - 1]!;
        pool.pop();
        return b;
      }
    }
    return Buffer.allocUnsafeSlow(Math.max(bytes, OUT_BUFFER_BYTES));
  }

  private giveOutBuffer(b: Buffer): void {
    if (this.outBuffers.length < OUT_BUFFERS_KEPT && b.length === OUT_BUFFER_BYTES) this.outBuffers.push(b);
  }

  /** basic.ack / basic.nack for `tag` (and every earlier tag when `multiple`). */
  private onConfirm(s: Session, tag: number, multiple: boolean, ack: boolean): void {
    if (s.closed || this.session !== s) return;
    const sent = this.sent;
    const retry: number[] = [];
    const one = (seq: number, t: number): void => {
      if (!this.backlog.inFlightWith(seq, t)) return;
      if (ack) this.confirmed(seq);
      else if (this.nacked(seq)) retry.push(seq);
    };
    if (multiple) {
      while (sent.length > 0 && s.firstTag <= tag) one(sent.shift(), s.firstTag++);
    } else {
      const k = tag - s.firstTag;
      if (k >= 0 && k < sent.length) one(sent.at(k), tag);
    }
    // Positions already answered (single acks out of order, nack retries sent again) leave the front.
    while (sent.length > 0 && !this.backlog.inFlightWith(sent.peek(), s.firstTag)) {
      sent.shift();
      s.firstTag++;
    }
    for (let i = retry.length - 1; i >= 0; i--) this.backlog.pending.unshift(retry[i]!);
    this.notifyIdle();
    this.scheduleDrain();
  }

  private confirmed(seq: number): void {
    const id = this.backlog.eventId(seq);
    this.backlog.release(seq);
    this.inFlight--;
    this.counts.confirmed++;
    this.eventCounters[id]!.confirmed++;
    this.metrics?.('confirmed', this.eventNames[id]!, 1);
  }

  /** Counts a nack; true when the entry is to be sent again, false when it was dropped. */
  private nacked(seq: number): boolean {
    const id = this.backlog.eventId(seq);
    const name = this.eventNames[id]!;
    this.inFlight--;
    this.counts.nacked++;
    this.metrics?.('nacked', name, 1);
    const attempt = this.backlog.addNack(seq);
    const bytes = this.backlog.bytes(seq);
    if (attempt > this.maxNackRetries) {
      this.log.error({ event: name, routingKey: publishedRoutingKey(bytes), messageId: publishedMessageId(bytes) }, 'event nacked by broker; giving up');
      this.backlog.release(seq);
      this.countDrop(name, 'nacked', 1, this.eventCounters[id]);
      return false;
    }
    this.log.warn({ event: name, messageId: publishedMessageId(bytes), attempt }, 'event nacked by broker; retrying');
    this.backlog.setState(seq, PENDING);
    this.backlog.setTag(seq, 0);
    return true;
  }

  private onReturn(msg: Message): void {
    const name = typeof msg.properties.type === 'string' ? msg.properties.type : 'unknown';
    this.counts.unroutable++;
    this.eventStats(name).unroutable++;
    this.metrics?.('unroutable', name, 1);
  }

  /** Ends a session: its unconfirmed entries go back to the front of the buffer, in order. */
  private teardown(s: Session): void {
    if (s.closed) return;
    s.closed = true;
    if (this.session === s) {
      this.session = undefined;
      const back: number[] = [];
      for (let k = 0; k < this.sent.length; k++) {
        const seq = this.sent.at(k);
        if (!this.backlog.inFlightWith(seq, s.firstTag + k)) continue;
        this.backlog.setState(seq, PENDING);
        this.backlog.setTag(seq, 0);
        back.push(seq);
      }
      this.sent.clear();
      this.inFlight -= back.length;
      if (back.length > 0) {
        for (let i = back.length - 1; i >= 0; i--) this.backlog.pending.unshift(back[i]!);
        this.counts.resent += back.length;
        for (const seq of back) this.metrics?.('resent', this.eventNames[this.backlog.eventId(seq)]!, 1);
        this.log.warn({ requeued: back.length }, 'AMQP channel lost; unconfirmed events will be re-sent');
      }
      if (this.backlog.pending.length > this.bufferSize) this.dropOldest(this.backlog.pending.length - this.bufferSize);
    }
    s.closing = s.connection.close().catch(() => undefined);
    s.onClosed();
    this.releaseBelowWaiters();
  }

  private connectLoop(): Promise<void> {
    return reconnectLoop({
      signal: this.abort.signal,
      backoff: this.reconnect,
      session: (connected) => this.runSession(connected),
      onError: (err) => this.log.warn({ err, url: redactUrl(this.url) }, 'AMQP publisher connect failed'),
    });
  }

  /** One connection: confirm channel + exchange, then publish until it is lost (teardown re-queues). */
  private async runSession(connected: () => void): Promise<void> {
    const connection = await connectAmqp(this.url, this.connectionName, this.log);
    let channel: ConfirmChannel;
    let socket: PublishSocket;
    try {
      channel = await connection.createConfirmChannel();
      await channel.assertExchange(this.exchange, 'topic', { durable: true });
      socket = new PublishSocket(connection, channel);
    } catch (err) {
      await connection.close().catch(() => undefined);
      throw err;
    }
    if (this.stopping) {
      await connection.close().catch(() => undefined);
      return;
    }
    const closed = new Promise<void>((resolve) => {
      const s: Session = {
        id: ++this.sessionSeq,
        connection,
        channel,
        socket,
        asEncoded: socket.channel === PUBLISH_CHANNEL && socket.frameMax >= DEFAULT_FRAME_MAX,
        nextTag: 1,
        firstTag: 1,
        closed: false,
        blocked: false,
        waitingDrain: false,
        onClosed: resolve,
      };
      const lost = (err?: unknown): void => {
        if (!s.closed && !this.stopping) this.log.warn({ err }, 'AMQP connection lost');
        this.teardown(s);
      };
      connection.on('close', lost);
      connection.on('blocked', (reason: string) => {
        s.blocked = true;
        this.log.warn({ reason }, 'broker blocked the connection; buffering');
        this.releaseBelowWaiters();
      });
      connection.on('unblocked', () => {
        s.blocked = false;
        this.log.info('broker unblocked the connection');
        this.scheduleDrain();
      });
      channel.on('error', (err: unknown) => this.log.warn({ err }, 'AMQP channel error'));
      channel.on('close', lost);
      channel.on('return', (msg: Message) => this.onReturn(msg));
      channel.on('ack', (f: { deliveryTag: number; multiple: boolean }) => this.onConfirm(s, f.deliveryTag, f.multiple, true));
      channel.on('nack', (f: { deliveryTag: number; multiple: boolean }) => this.onConfirm(s, f.deliveryTag, f.multiple, false));
      this.sent.clear();
      this.session = s;
    });
    connected();
    this.counts.connects++;
    this.log.info({ url: redactUrl(this.url), exchange: this.exchange }, 'AMQP publisher connected');
    this.startedResolve?.();
    this.scheduleDrain();
    await closed;
  }
}
