/**
 * One inbound Event Socket connection, as mod_event_socket runs it: auth, commands answered strictly
 * in order, events the connection subscribed to, and a bounded outbound event queue (FreeSWITCH's
 * 100000 events; after 500 consecutive drops the client is disconnected).
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from '../util/index.js';
import type { ConferenceEngine } from './engine.js';
import type { SimEvent } from './event.js';
import { SITES } from './sites.js';
import { backgroundDelayMs, splitCommand } from './api.js';
import {
  AUTH_REQUEST,
  GOODBYE_TEXT,
  apiResponse,
  commandReply,
  disconnectNotice,
} from './frames.js';
import { Subscription } from './subscription.js';

export interface SessionOptions {
  password: string;
  maxEventQueue: number;
  maxConsecutiveDrops: number;
  logger: Logger;
  /** Every byte received from any client (receivedBytes()). */
  recordInput: (chunk: Buffer) => void;
  isHung: () => boolean;
}

/** Bytes handed to the socket before we hold frames back in our own queue. */
const SOCKET_HIGH_WATER = 1 << 20;
const MAX_COMMAND_BYTES = 1 << 20;
const BLANK_LINE = Buffer.from('\n\n');

interface Command {
  line: string;
  headers: Record<string, string>;
}

export class EslSession {
  readonly subscription = new Subscription();
  private authed = false;
  private closed = false;
  private closing = false;
  private input: Buffer = Buffer.alloc(0);
  private readonly commands: Command[] = [];
  /** Frames waiting to be written, in order; `isEvent` marks the droppable ones. */
  private readonly out: Array<{ buf: Buffer; isEvent: boolean }> = [];
  private outHead = 0;
  private queuedEvents = 0;
  private consecutiveDrops = 0;
  private flushScheduled = false;
  private waitingDrain = false;
  /** Events fired while this connection runs a command go out after its reply. */
  private held: SimEvent[] | undefined;
  droppedEvents = 0;

  constructor(
    readonly socket: Socket,
    private readonly engine: ConferenceEngine,
    private readonly opts: SessionOptions,
    private readonly onClosed: (s: EslSession) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.waitingDrain = false;
      this.flush();
    });
    socket.on('error', (err) => this.opts.logger.debug({ err: err.message }, 'simulator client socket error'));
    socket.on('close', () => this.markClosed());
    this.enqueue(AUTH_REQUEST, false);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // -------------------------------------------------------------------------------------------
  // Input

  private onData(chunk: Buffer): void {
    this.opts.recordInput(chunk);
    if (this.closing) return;
    this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk]);
    for (;;) {
      const end = this.input.indexOf(BLANK_LINE);
      if (end < 0) break;
      const block = this.input.toString('utf8', 0, end).replace(/\r/g, '');
      this.input = this.input.subarray(end + 2);
      const cmd = parseCommandBlock(block);
      if (cmd) this.commands.push(cmd);
    }
    if (this.input.length > MAX_COMMAND_BYTES) {
      this.opts.logger.warn('simulator client sent an oversized command; disconnecting');
      this.socket.destroy();
      return;
    }
    this.processCommands();
  }

  /** Runs queued commands unless the simulator is hung (then they wait, bytes still accepted). */
  processCommands(): void {
    while (!this.closing && !this.closed && !this.opts.isHung() && this.commands.length > 0) {
      this.runCommand(this.commands.shift()!);
    }
  }

  private runCommand(cmd: Command): void {
    const { cmd: word, args } = splitCommand(cmd.line);
    const verb = word.toLowerCase();
    if (verb === 'exit') {
      this.enqueue(commandReply('+OK bye'), false);
      this.goodbye(GOODBYE_TEXT);
      return;
    }
    if (!this.authed) {
      if (verb === 'auth') {
        if (args === this.opts.password) {
          this.authed = true;
          this.enqueue(commandReply('+OK accepted'), false);
        } else {
          this.enqueue(commandReply('-ERR invalid'), false);
          this.goodbye(GOODBYE_TEXT);
        }
      } else {
        this.enqueue(commandReply('-ERR command not found'), false);
      }
      return;
    }
    switch (verb) {
      case 'api':
        this.withHeldEvents(() => apiResponse(this.engine.executeApi(args)));
        return;
      case 'bgapi':
        this.bgapi(args, cmd.headers['Job-UUID']);
        return;
      case 'event':
        this.enqueue(commandReply(this.subscription.subscribe(args)), false);
        return;
      case 'nixevent':
        this.enqueue(commandReply(this.subscription.nix(args)), false);
        return;
      case 'noevents':
        this.enqueue(commandReply(this.subscription.clear()), false);
        return;
      case 'filter':
        this.enqueue(commandReply(this.subscription.filter(args)), false);
        return;
      case 'linger':
        this.enqueue(commandReply('+OK will linger'), false);
        return;
      case 'nolinger':
        this.enqueue(commandReply('+OK will not linger'), false);
        return;
      case 'auth':
        this.enqueue(commandReply('-ERR command not found'), false);
        return;
      default:
        this.enqueue(commandReply('-ERR command not found'), false);
    }
  }

  private withHeldEvents(run: () => Buffer): void {
    this.held = [];
    let reply: Buffer;
    try {
      reply = run();
    } finally {
      const held = this.held;
      this.held = undefined;
      // the reply goes first, then what the command fired (as FreeSWITCH's listener thread does)
      this.enqueue(reply!, false);
      for (const e of held) this.deliver(e);
    }
  }

  private bgapi(args: string, requested: string | undefined): void {
    const jobUuid = requested && /^[\x21-\x7e]{1,256}$/.test(requested) ? requested : randomUUID();
    this.enqueue(commandReply(`+OK Job-UUID: ${jobUuid}`, [['Job-UUID', jobUuid]]), false);
    const delayMs = backgroundDelayMs(this.engine, args);
    const later = (fn: () => void): void => {
      // An originate's job ends when its endpoint answers or gives up (the engine's clock).
      if (delayMs > 0) this.engine.schedule(delayMs, fn);
      else setImmediate(fn);
    };
    later(() => {
      if (this.engine.isDisposed) return;
      const result = this.engine.executeApi(args);
      const { cmd, args: rest } = splitCommand(args);
      const headers: Array<[string, string]> = [
        ['Job-UUID', jobUuid],
        ['Job-Command', cmd],
      ];
      if (rest !== '') headers.push(['Job-Command-Arg', rest]);
      this.engine.emit(this.engine.events.create('BACKGROUND_JOB', undefined, SITES.backgroundJob, headers, result));
    });
  }

  // -------------------------------------------------------------------------------------------
  // Output

  /** Called for every fired event; keeps it if this connection subscribed to it. */
  offer(event: SimEvent): void {
    if (this.closed || this.closing || !this.subscription.wants(event)) return;
    if (this.held) {
      this.held.push(event);
      return;
    }
    this.deliver(event);
  }

  private deliver(event: SimEvent): void {
    const format = this.subscription.format;
    if (format === undefined || this.closed) return;
    if (this.queuedEvents >= this.opts.maxEventQueue) {
      this.droppedEvents++;
      if (++this.consecutiveDrops >= this.opts.maxConsecutiveDrops) {
        this.opts.logger.warn({ dropped: this.droppedEvents }, 'simulator: slow event reader disconnected');
        this.socket.destroy();
        this.markClosed();
      }
      return;
    }
    this.consecutiveDrops = 0;
    this.enqueue(event.frame(format), true);
  }

  private enqueue(buf: Buffer, isEvent: boolean): void {
    if (this.closed) return;
    this.out.push({ buf, isEvent });
    if (isEvent) this.queuedEvents++;
    // Under a burst, hand frames to the socket now rather than letting our queue fill in one tick
    // (FreeSWITCH drains its queue from another thread while events are being queued).
    if (!this.waitingDrain && this.out.length - this.outHead >= 256) this.flush();
    if (!this.flushScheduled && !this.waitingDrain) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  private flush(): void {
    if (this.closed || this.waitingDrain) return;
    while (this.outHead < this.out.length) {
      if (this.socket.writableLength >= SOCKET_HIGH_WATER) {
        this.waitingDrain = true;
        break;
      }
      const parts: Buffer[] = [];
      let bytes = 0;
      while (this.outHead < this.out.length && bytes < 256 * 1024) {
        const item = this.out[this.outHead]!;
        this.out[this.outHead++] = undefined as never;
        if (item.isEvent) this.queuedEvents--;
        parts.push(item.buf);
        bytes += item.buf.length;
      }
      // write() turns false at 16 KiB buffered; we keep writing up to SOCKET_HIGH_WATER and only
      // then wait for 'drain' (emitted once the buffer empties, since write() did return false).
      this.socket.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes));
    }
    if (this.outHead === this.out.length) {
      this.out.length = 0;
      this.outHead = 0;
    } else if (this.outHead > 4096) {
      this.out.splice(0, this.outHead);
      this.outHead = 0;
    }
    if (this.closing && this.outHead === this.out.length) this.socket.end();
  }

  /** Sends a disconnect notice after everything queued, then closes. */
  goodbye(text: string): void {
    if (this.closing || this.closed) return;
    this.enqueue(disconnectNotice(text), false);
    this.closing = true;
    this.commands.length = 0;
  }

  /** Abrupt close (dropConnections, restart). */
  destroy(): void {
    this.socket.destroy();
    this.markClosed();
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.out.length = 0;
    this.outHead = 0;
    this.queuedEvents = 0;
    this.onClosed(this);
  }
}

function parseCommandBlock(block: string): Command | undefined {
  const lines = block.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.trim() === '') i++;
  if (i >= lines.length) return undefined;
  const line = lines[i]!.trim();
  const headers: Record<string, string> = {};
  for (const l of lines.slice(i + 1)) {
    const colon = l.indexOf(':');
    if (colon > 0) headers[l.slice(0, colon).trim()] = l.slice(colon + 1).trim();
  }
  return { line, headers };
}
