/**
 * One inbound Event Socket connection: connect, auth, then `api`/`bgapi`/`event`/`filter`/`exit`.
 *
 * Reply matching is FIFO: FreeSWITCH answers every command of one socket strictly in order (a
 * `command/reply` or an `api/response`), with events interleaved anywhere between them. So a reply is
 * always for the oldest pending request. Anything that breaks that alignment (a timeout, a reply of the
 * wrong type, an unsolicited reply, a protocol error) closes the connection: every pending request is
 * rejected at once with a typed error and is never delivered to another caller nor replayed.
 */
import { randomUUID } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import type { ConfmgrError } from '../util/index.js';
import { silentLogger, type Logger } from '../util/index.js';
import { EslParser, type EslFrame, type ParserOptions } from './frame-parser.js';
import { decodeEvent, type EslEvent } from './event-decoding.js';
import { encode } from './encoders.js';
import { TypedEmitter } from '../util/index.js';
import {
  EslAuthError,
  EslCommandError,
  EslConnectionClosedError,
  EslProtocolError,
  EslTimeoutError,
} from './errors.js';
import type { ApiOptions, BackgroundJobResult } from './types.js';

export interface ConnectionOptions {
  host: string;
  port: number;
  password: string;
  /** Deadline for TCP connect + auth (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Default reply deadline of api/command requests (default 5000 ms). */
  apiTimeoutMs?: number;
  /** Default deadline for a bgapi job's BACKGROUND_JOB event after its +OK (default 120000 ms). */
  jobTimeoutMs?: number;
  /** A label for logs and error details, e.g. `fs1/cmd0`. */
  name?: string;
  logger?: Logger;
  parser?: ParserOptions;
}

export interface BgapiOptions extends ApiOptions {
  /** How long to wait for the BACKGROUND_JOB event after the +OK. A job timeout does not close the connection. */
  jobTimeoutMs?: number;
  /** Called once the command/reply arrived (or the request failed): the socket is free for the next command. */
  onReply?: () => void;
}

export interface DisconnectNotice {
  headers: Readonly<Record<string, string>>;
  body: string;
}

export type ConnectionEvents = {
  /** A parsed event, in wire order. */
  event: [event: EslEvent];
  /** FreeSWITCH said goodbye (exit, shutdown, auth failure); the connection closes right after. */
  'disconnect-notice': [notice: DisconnectNotice];
  /** A `log/data` frame (only after a `log` command, which confmgr does not send). */
  log: [frame: EslFrame];
  /** Emitted once. `reason` says why; pending requests were rejected before this fires. */
  close: [reason: ConfmgrError];
};

export type ConnectionState = 'connecting' | 'authenticating' | 'ready' | 'closed';

type ReplyType = 'command/reply' | 'api/response';

interface PendingRequest {
  readonly expect: ReplyType;
  /** The verb only (`api`, `event`…): arguments can hold secrets and are not logged. */
  readonly verb: string;
  readonly resolve: (frame: EslFrame) => void;
  readonly reject: (err: ConfmgrError) => void;
  timer: NodeJS.Timeout | undefined;
}

interface PendingJob {
  readonly resolve: (result: BackgroundJobResult) => void;
  readonly reject: (err: ConfmgrError) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * `event` takes event names first and CUSTOM subclasses last (after the word CUSTOM): FreeSWITCH reads
 * every token after CUSTOM as a subclass. Entries with `::` are subclasses.
 */
export function orderEventNames(events: readonly string[]): string[] {
  const names: string[] = [];
  const subclasses: string[] = [];
  let custom = false;
  for (const e of events) {
    if (e === 'CUSTOM') custom = true;
    else if (e.includes('::')) subclasses.push(e);
    else if (!names.includes(e)) names.push(e);
  }
  if (custom || subclasses.length > 0) names.push('CUSTOM', ...new Set(subclasses));
  return names;
}

const DEFAULT_CONNECT_TIMEOUT = 5000;
const DEFAULT_API_TIMEOUT = 5000;
const DEFAULT_JOB_TIMEOUT = 120_000;
const EXIT_GRACE_MS = 1000;
/** One socket read at most; 64 KiB is what libuv asks for by default. */
const READ_BUFFER_BYTES = 64 * 1024;

export class EslConnection extends TypedEmitter<ConnectionEvents> {
  readonly name: string;
  private readonly socket: Socket;
  private readonly parser: EslParser;
  private readonly log: Logger;
  private readonly apiTimeoutMs: number;
  private readonly jobTimeoutMs: number;
  private readonly pending: PendingRequest[] = [];
  private readonly jobs = new Map<string, PendingJob>();
  private _state: ConnectionState = 'connecting';
  private _closeReason: ConfmgrError | undefined;
  private readonly onAuthRequest: (frame: EslFrame) => void;

  /** Connects and authenticates. Rejects with EslAuthError (bad password), EslTimeoutError or EslConnectionClosedError. */
  static connect(options: ConnectionOptions): Promise<EslConnection> {
    return new Promise((resolve, reject) => {
      const conn = new EslConnection(options, (err) => (err ? reject(err) : resolve(conn)));
    });
  }

  private constructor(options: ConnectionOptions, done: (err?: ConfmgrError) => void) {
    super();
    this.name = options.name ?? `${options.host}:${options.port}`;
    this.log = (options.logger ?? silentLogger).child({ esl: this.name });
    this.apiTimeoutMs = options.apiTimeoutMs ?? DEFAULT_API_TIMEOUT;
    this.jobTimeoutMs = options.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT;
    this.parser = new EslParser(options.parser);

    let finished = false;
    const finish = (err?: ConfmgrError): void => {
      if (finished) return;
      finished = true;
      clearTimeout(connectTimer);
      this.off('close', onEarlyClose);
      done(err);
    };
    const onEarlyClose = (reason: ConfmgrError): void => finish(reason);
    this.on('close', onEarlyClose);

    const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT;
    const connectTimer = setTimeout(() => {
      this.destroy(new EslTimeoutError(`connect/auth to ${this.name} timed out after ${connectTimeoutMs} ms`, { connection: this.name }));
    }, connectTimeoutMs);

    // Validate before opening anything: a password with CR/LF would be an injection.
    let authBytes: Buffer;
    try {
      authBytes = encode.auth(options.password);
    } catch (err) {
      this.socket = undefined as unknown as Socket;
      this._state = 'closed';
      clearTimeout(connectTimer);
      queueMicrotask(() => done(err as ConfmgrError));
      this.onAuthRequest = () => undefined;
      return;
    }

    // The auth reply is handled synchronously: `-ERR invalid` and the disconnect notice arrive in one
    // read, and the auth error must win over "disconnected".
    this.onAuthRequest = () => {
      this._state = 'authenticating';
      const onReply = (frame: EslFrame): void => {
        const text = frame.headers['Reply-Text'] ?? '';
        if (text.startsWith('+OK')) {
          this._state = 'ready';
          this.log.debug('authenticated');
          finish();
        } else {
          this.destroy(
            new EslAuthError(`FreeSWITCH at ${this.name} refused the password (${text || 'no Reply-Text'})`, {
              connection: this.name,
              reply: text,
            }),
          );
        }
      };
      this.pending.push({ expect: 'command/reply', verb: 'auth', resolve: onReply, reject: () => undefined, timer: undefined });
      this.socket.write(authBytes);
    };

    // Reads land in one buffer per connection, reused for every read: no allocation per read (a
    // large json_list reply spans many reads, each garbage until the next GC), and the parser copies
    // out only the bytes of a frame still incomplete (see EslParser.feedTransient).
    const readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    const socket = netConnect({
      host: options.host,
      port: options.port,
      onread: {
        buffer: readBuffer,
        callback: (n: number) => {
          this.onData(readBuffer.subarray(0, n));
          return true; // never pause: events must be read as fast as they come
        },
      },
    });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on('error', (err: Error) => {
      this.destroy(new EslConnectionClosedError(`socket error on ${this.name}: ${err.message}`, { connection: this.name, cause: (err as NodeJS.ErrnoException).code }));
    });
    socket.on('close', () => {
      this.destroy(new EslConnectionClosedError(`connection ${this.name} closed by peer`, { connection: this.name }));
    });
  }

  get state(): ConnectionState {
    return this._state;
  }

  get isReady(): boolean {
    return this._state === 'ready';
  }

  /** Why the connection closed, once it has. */
  get closeReason(): ConfmgrError | undefined {
    return this._closeReason;
  }

  /** Requests sent and awaiting their reply (bgapi jobs awaiting their event are not counted). */
  get inFlight(): number {
    return this.pending.length;
  }

  /** bgapi jobs whose BACKGROUND_JOB event has not arrived yet. */
  get pendingJobs(): number {
    return this.jobs.size;
  }

  /** `api <command>`: resolves with the api/response body, whatever it says (`+OK`, `-ERR`, usage text). */
  api(command: string, options: ApiOptions = {}): Promise<string> {
    let bytes: Buffer;
    try {
      bytes = encode.api(command);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.request('api/response', 'api', bytes, options.timeoutMs ?? this.apiTimeoutMs).then((f) => f.body);
  }

  /**
   * `bgapi <command>` with a Job-UUID we generate. Resolves with the BACKGROUND_JOB event's body, whatever
   * it says (a failing job says `-ERR …` there). The BACKGROUND_JOB event is only delivered to a connection
   * subscribed to it, so subscribe this connection (`subscribe(['BACKGROUND_JOB'])`) before using bgapi.
   * A `-ERR` command/reply rejects with EslCommandError. A missing +OK times out like an api (and closes
   * the connection); a missing event after the +OK only rejects this job (EslTimeoutError).
   */
  bgapi(command: string, options: BgapiOptions = {}): Promise<BackgroundJobResult> {
    const jobUuid = randomUUID();
    let bytes: Buffer;
    try {
      bytes = encode.bgapi(command, jobUuid);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this._state !== 'ready') return Promise.reject(this.closedError('bgapi'));
    return new Promise<BackgroundJobResult>((resolve, reject) => {
      const job: PendingJob = { resolve, reject, timer: undefined };
      // Registered before sending: a result can never arrive before its job is known.
      this.jobs.set(jobUuid, job);
      const jobTimeoutMs = options.jobTimeoutMs ?? this.jobTimeoutMs;
      this.request('command/reply', 'bgapi', bytes, options.timeoutMs ?? this.apiTimeoutMs).then(
        (frame) => {
          options.onReply?.();
          if (!this.jobs.has(jobUuid)) return; // already answered or rejected
          const text = frame.headers['Reply-Text'] ?? '';
          if (!text.startsWith('+OK')) {
            this.jobs.delete(jobUuid);
            reject(new EslCommandError(`bgapi refused: ${text}`, { connection: this.name, reply: text }));
            return;
          }
          job.timer = setTimeout(() => {
            if (this.jobs.delete(jobUuid)) {
              reject(new EslTimeoutError(`bgapi job ${jobUuid} got no BACKGROUND_JOB event in ${jobTimeoutMs} ms`, { connection: this.name, jobUuid }));
            }
          }, jobTimeoutMs);
        },
        (err: ConfmgrError) => {
          options.onReply?.();
          if (this.jobs.delete(jobUuid)) reject(err);
        },
      );
    });
  }

  /** `event <format> <events…>` with CUSTOM subclasses ordered last. Resolves with the Reply-Text. */
  subscribe(events: readonly string[], format: 'plain' | 'json' | 'xml' = 'json', options: ApiOptions = {}): Promise<string> {
    return this.command('event', () => encode.event(format, orderEventNames(events)), options);
  }

  filter(header: string, value: string, options: ApiOptions = {}): Promise<string> {
    return this.command('filter', () => encode.filter(header, value), options);
  }

  filterDelete(header: string, value?: string, options: ApiOptions = {}): Promise<string> {
    return this.command('filter', () => encode.filterDelete(header, value), options);
  }

  noevents(options: ApiOptions = {}): Promise<string> {
    return this.command('noevents', () => encode.noevents(), options);
  }

  /** Sends `exit`, waits for `+OK bye` and the close (briefly), then makes sure the socket is gone. */
  async exit(options: ApiOptions = {}): Promise<void> {
    if (this._state === 'closed') return;
    const closed = new Promise<void>((resolve) => this.once('close', () => resolve()));
    try {
      await this.command('exit', () => encode.exit(), options);
    } catch {
      // closed or refused: either way we are done with it
    }
    if (!this.isClosed()) {
      const timer = setTimeout(() => this.close('exit'), EXIT_GRACE_MS);
      await closed;
      clearTimeout(timer);
    }
  }

  /** Closes now. Pending requests fail with EslConnectionClosedError. Idempotent. */
  close(why = 'closed by client'): void {
    this.destroy(new EslConnectionClosedError(`connection ${this.name} ${why}`, { connection: this.name }));
  }

  // -------------------------------------------------------------------------------------------

  private command(verb: string, build: () => Buffer, options: ApiOptions): Promise<string> {
    let bytes: Buffer;
    try {
      bytes = build();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.request('command/reply', verb, bytes, options.timeoutMs ?? this.apiTimeoutMs).then((frame) => {
      const text = frame.headers['Reply-Text'] ?? '';
      if (text.startsWith('-ERR')) throw new EslCommandError(`${verb} refused: ${text}`, { connection: this.name, reply: text });
      return text;
    });
  }

  private closedError(verb: string): EslConnectionClosedError {
    const reason = this._closeReason;
    return new EslConnectionClosedError(`connection ${this.name} is ${this._state === 'closed' ? 'closed' : 'not ready'}; ${verb} not sent`, {
      connection: this.name,
      sent: false,
      ...(reason ? { reason: reason.code } : {}),
    });
  }

  private request(expect: ReplyType, verb: string, bytes: Buffer, timeoutMs: number): Promise<EslFrame> {
    if (this._state !== 'ready') return Promise.reject(this.closedError(verb));
    return new Promise<EslFrame>((resolve, reject) => {
      const req: PendingRequest = { expect, verb, resolve, reject, timer: undefined };
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        req.timer = setTimeout(() => {
          // FIFO alignment is lost: the late reply would be taken for the next request's.
          const err = new EslTimeoutError(`${verb} on ${this.name} got no reply in ${timeoutMs} ms; connection replaced`, {
            connection: this.name,
            timeoutMs,
          });
          const i = this.pending.indexOf(req);
          if (i >= 0) this.pending.splice(i, 1);
          reject(err);
          this.destroy(err);
        }, timeoutMs);
      }
      this.pending.push(req);
      this.socket.write(bytes);
    });
  }

  private onData(chunk: Buffer): void {
    if (this._state === 'closed') return;
    try {
      this.parser.feedTransient(chunk, this.frameSink);
    } catch (err) {
      this.destroy(err as ConfmgrError);
    }
  }

  /** Bound once: the parser calls it per frame; frames after a close are dropped. */
  private readonly frameSink = (frame: EslFrame): void => {
    if (this._state !== 'closed') this.onFrame(frame);
  };

  private onFrame(frame: EslFrame): void {
    switch (frame.type) {
      case 'text/event-json':
      case 'text/event-plain':
      case 'text/event-xml': {
        let event: EslEvent;
        try {
          event = decodeEvent(frame);
        } catch (err) {
          this.destroy(err as ConfmgrError);
          return;
        }
        if (event.name === 'BACKGROUND_JOB') this.settleJob(event);
        try {
          this.emit('event', event);
        } catch (err) {
          // A throwing listener is a bug upstream; it must not stall or desynchronise this stream.
          this.log.error({ err }, 'event listener threw');
        }
        return;
      }
      case 'command/reply':
      case 'api/response': {
        const req = this.pending.shift();
        if (req === undefined) {
          this.destroy(new EslProtocolError(`unsolicited ${frame.type} on ${this.name}`, { connection: this.name }));
          return;
        }
        clearTimeout(req.timer);
        if (req.expect !== frame.type) {
          const err = new EslProtocolError(`expected ${req.expect} for ${req.verb}, got ${frame.type}`, { connection: this.name });
          req.reject(err);
          this.destroy(err);
          return;
        }
        req.resolve(frame);
        return;
      }
      case 'auth/request':
        if (this._state === 'connecting') this.onAuthRequest(frame);
        else this.destroy(new EslProtocolError(`unexpected auth/request on ${this.name}`, { connection: this.name }));
        return;
      case 'text/disconnect-notice': {
        this.log.debug({ body: frame.body.slice(0, 120) }, 'disconnect notice');
        this.emit('disconnect-notice', { headers: frame.headers, body: frame.body });
        const firstLine = frame.body.split('\n', 1)[0] ?? '';
        this.destroy(new EslConnectionClosedError(`FreeSWITCH disconnected ${this.name}: ${firstLine}`, { connection: this.name, notice: firstLine }));
        return;
      }
      case 'text/rude-rejection':
        this.destroy(new EslAuthError(`FreeSWITCH at ${this.name} rejected the connection (ACL): ${frame.body.trim()}`, { connection: this.name }));
        return;
      case 'log/data':
        this.emit('log', frame);
        return;
    }
  }

  private settleJob(event: EslEvent): void {
    const uuid = event.headers['Job-UUID'];
    if (uuid === undefined) return;
    const job = this.jobs.get(uuid);
    if (job === undefined) return; // another connection's (or another client's) job
    this.jobs.delete(uuid);
    clearTimeout(job.timer);
    job.resolve({ jobUuid: uuid, body: event.body });
  }

  /** The one place a connection ends: reject everything pending, release the socket, emit `close` once. */
  private isClosed(): boolean {
    return this._state === 'closed';
  }

  private destroy(reason: ConfmgrError): void {
    if (this._state === 'closed') return;
    this._state = 'closed';
    this._closeReason = reason;
    this.socket.destroy();
    const pending = this.pending.splice(0);
    for (const req of pending) {
      clearTimeout(req.timer);
      req.reject(req.verb === 'auth' && reason instanceof EslAuthError ? reason : this.closedWhilePending(req.verb, reason));
    }
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    for (const job of jobs) {
      clearTimeout(job.timer);
      job.reject(this.closedWhilePending('bgapi', reason));
    }
    if (pending.length + jobs.length > 0) this.log.debug({ rejected: pending.length + jobs.length, reason: reason.code }, 'closed with pending requests');
    this.emit('close', reason);
  }

  private closedWhilePending(verb: string, reason: ConfmgrError): ConfmgrError {
    // A protocol error or timeout is the reason, but the request itself just lost its connection.
    return new EslConnectionClosedError(`${verb} on ${this.name} lost: ${reason.message}`, {
      connection: this.name,
      sent: true,
      reason: reason.code,
    });
  }
}
