/**
 * WebSocket participant events: `GET /v2/websocket` (protocol in ./README.md).
 *
 * A client subscribes to one account's or one conference's events. Each event is sent as the very
 * JSON payload published on AMQP (`conference.event.<conference_id>.<call_id>`), once per socket
 * however many subscriptions match. Events pass the same `publish_participant_event` rule as AMQP;
 * a subscription's `events` list narrows that further (a subset, never more).
 * Ownership is checked per event: an event reaches a socket only when its conference belongs to the
 * socket's account (document, else channel variables — see ./account.ts).
 * A client that does not read (more than `maxBufferedBytes` unsent) is disconnected with 1013; one that
 * has not authenticated `authTimeoutMs` after its upgrade with 1008 ("authentication timeout"): an
 * unauthenticated socket costs a connection slot and gets nothing, so it may not hold one for long.
 */
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { Logger } from '../util/index.js';
import { Fifo, silentLogger } from '../util/index.js';
import { ConfmgrError } from '../util/index.js';
import { serializedPayload, type OutboundEvent } from '../conference/index.js';
import type { RealtimeRegistry } from '../records/index.js';
import type { ConferenceDocuments } from '../records/index.js';
import type { TokenAuthenticator } from './auth.js';
import { conferenceOwner, type ConferenceAttributions } from '../records/index.js';
import { CONFERENCE_ID_RE } from '../records/index.js';
import { HTTP_STATUS_BY_CODE, ValidationError } from './errors.js';

interface Subscription {
  id: string;
  conferenceId?: string;
  events?: Set<string>;
  /** A blackhole binding (`conference.event.<conference>.<call>`): events go out in blackhole's envelope. */
  binding?: string;
  /** The binding's call id segment; undefined = `*`. */
  callId?: string;
}

/**
 * The bindings confmgr serves in blackhole's protocol: Kazoo's conference event routing key,
 * `conference.event.<conference_id>.<call_id>`, each segment an id or `*`. Anything else (other
 * bindings, `#`, partial wildcards) is refused with an error reply, never approximated.
 */
const BINDING_RE = /^conference\.event\.([^.#*]+|\*)\.([^.#*]+|\*)$/;
const CALL_ID_RE = /^[A-Za-z0-9_@+=:-]{1,256}$/;
/** Most bindings one blackhole request may name. */
const BINDINGS_MAX_ITEMS = 32;

interface Client {
  socket: WebSocket;
  account?: string;
  subscriptions: Map<string, Subscription>;
  /** Requests of one socket are answered in order. */
  chain: Promise<void>;
  /** Closes the socket unless it authenticates first. */
  authDeadline?: NodeJS.Timeout;
  /** Event texts waiting for the socket's next write, in order (see handle). */
  pending: string[];
  /** Their total length in UTF-16 code units. */
  pendingChars: number;
}

export interface WebSocketHubOptions {
  auth: TokenAuthenticator;
  documents: ConferenceDocuments;
  registry: RealtimeRegistry;
  /** Owner of unattributed running conferences (http.default_account_id). */
  defaultAccountId?: string | undefined;
  /** Running conferences' first attributions (sticky ownership). */
  attributions?: ConferenceAttributions;
  filter?: (eventName: string) => boolean;
  logger?: Logger;
  maxBufferedBytes?: number;
  /** At most this many subscriptions per socket. */
  maxSubscriptions?: number;
  /** A socket not authenticated this long after its upgrade is closed with 1008 (default 5 s). */
  authTimeoutMs?: number;
  /** Largest message (default 64 KiB; the WebSocket server's maxPayload closes with 1009 beyond). */
  maxMessageBytes?: number;
  /**
   * Events are written at most once per this many ms: at a steady rate the events of a window leave in
   * one socket write instead of one each. 0: once per event-loop turn. Default 16.
   */
  writeCoalesceMs?: number;
}

/**
 * A socket's waiting events are written at once when they reach this many characters, whatever the
 * window: under a flood a window's events stay one moderate write.
 */
const PENDING_FLUSH_CHARS = 256 * 1024;

/** A subscription's `events`: at most this many names, each at most EVENT_NAME_MAX_CHARS (mod_conference has a few dozen). */
const EVENTS_MAX_ITEMS = 64;
const EVENT_NAME_MAX_CHARS = 64;
/** A `request_id` is echoed in the reply: a string up to this long, or a number. */
const REQUEST_ID_MAX_CHARS = 128;

/** Close code and reason for a socket that did not authenticate in time (1008: policy violation). */
export const AUTH_TIMEOUT_CLOSE = { code: 1008, reason: 'authentication timeout' } as const;

class WsRequestError extends ConfmgrError {}

/** The TCP socket under a ws WebSocket, as far as writing frames built here needs it. */
interface FrameSink {
  write(frames: Buffer): boolean;
}

/**
 * The TCP socket under `socket` when the frames of a batch may be written to it directly: ws keeps it
 * in `_socket` and, with no extension negotiated (no permessage-deflate), writes every frame of its own
 * straight to it as well, so frames written here and ws's own (replies, close) keep the order they
 * were sent in. ws counts that socket's unsent bytes in `bufferedAmount`. Otherwise: undefined, and
 * the events go through `send`.
 */
function frameSink(socket: WebSocket): FrameSink | undefined {
  if (socket.extensions !== '') return undefined;
  const raw = (socket as unknown as { _socket?: Partial<FrameSink> })._socket;
  return typeof raw?.write === 'function' ? (raw as FrameSink) : undefined;
}

/**
 * RFC 6455 text frames (FIN, opcode 1, unmasked as a server sends them) of `texts`, in one buffer:
 * one allocation and one socket write for a batch instead of a buffer, a header and a stream write per
 * event.
 */
export function textFrames(texts: readonly string[]): Buffer {
  const lengths = new Array<number>(texts.length);
  let size = 0;
  for (let i = 0; i < texts.length; i++) {
    const n = Buffer.byteLength(texts[i]!, 'utf8');
    lengths[i] = n;
    size += n + (n < 126 ? 2 : n < 65_536 ? 4 : 10);
  }
  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    const n = lengths[i]!;
    buf[at++] = 0x81;
    if (n < 126) buf[at++] = n;
    else if (n < 65_536) {
      buf[at++] = 126;
      buf.writeUInt16BE(n, at);
      at += 2;
    } else {
      buf[at++] = 127;
      buf.writeUInt32BE(Math.floor(n / 2 ** 32), at);
      buf.writeUInt32BE(n >>> 0, at + 4);
      at += 8;
    }
    at += buf.write(texts[i]!, at, n, 'utf8');
  }
  return buf;
}

export class WebSocketHub {
  private readonly clients = new Set<Client>();
  /** Events waiting for the drain, in arrival order. */
  private readonly queue = new Fifo<OutboundEvent>();
  private draining: Promise<void> | undefined;
  /** Clients with events waiting for the next write (see handle). */
  private readonly waiting = new Set<Client>();
  private writeScheduled = false;
  private readonly log: Logger;

  constructor(private readonly o: WebSocketHubOptions) {
    this.log = o.logger ?? silentLogger;
  }

  get size(): number {
    return this.clients.size;
  }

  /** Sockets signed in with at least one subscription: someone is listening. */
  get listening(): number {
    let n = 0;
    for (const c of this.clients) if (c.account !== undefined && c.subscriptions.size > 0) n++;
    return n;
  }

  /** A new socket; `account` when the upgrade request carried a valid X-Auth-Token. */
  attach(socket: WebSocket, account?: string): void {
    const client: Client = { socket, subscriptions: new Map(), chain: Promise.resolve(), pending: [], pendingChars: 0 };
    if (account !== undefined) client.account = account;
    else {
      client.authDeadline = setTimeout(() => {
        if (client.account !== undefined) return;
        this.log.debug('websocket closed: not authenticated in time');
        socket.close(AUTH_TIMEOUT_CLOSE.code, AUTH_TIMEOUT_CLOSE.reason);
      }, this.o.authTimeoutMs ?? 5_000);
      client.authDeadline.unref();
    }
    this.clients.add(client);
    socket.on('message', (data, isBinary) => {
      client.chain = client.chain.then(() => this.onMessage(client, data, isBinary));
    });
    socket.on('close', () => this.forget(client));
    socket.on('error', (err) => {
      this.log.debug({ err }, 'websocket error');
      this.forget(client);
    });
  }

  private forget(client: Client): void {
    clearTimeout(client.authDeadline);
    this.clients.delete(client);
    this.waiting.delete(client);
    client.pending = [];
    client.pendingChars = 0;
  }

  /**
   * Event listener: events are queued and matched in arrival order by one drain, which runs once the
   * current turn's events are in. A client's events wait until the event loop has run every socket
   * read that was ready (setImmediate) and the coalescing window since the last write has passed,
   * then leave as one buffer of frames in one socket write: a socket write costs far more than the
   * bytes it carries.
   */
  readonly handle = (event: OutboundEvent): void => {
    if (this.clients.size === 0) return;
    if (this.o.filter && !this.o.filter(event.event)) return;
    this.queue.push(event);
    this.draining ??= this.drain();
  };

  /** Resolves once every event handled so far has been matched and written to its sockets. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
    this.writeAll();
  }

  /** Closes every socket, after the events waiting for it. */
  closeAll(code = 1001, reason = 'server shutting down'): void {
    for (const c of this.clients) {
      clearTimeout(c.authDeadline);
      this.writePending(c);
      c.socket.close(code, reason);
    }
    this.clients.clear();
    this.waiting.clear();
  }

  private async drain(): Promise<void> {
    await undefined; // after the events of the current turn
    try {
      for (let event = this.queue.shift(); event !== undefined; event = this.queue.shift()) {
        try {
          // Documents are cached (their absence too): a storage read only for a conference not seen lately.
          let doc = this.o.documents.peek(event.conferenceId);
          if (doc === undefined) doc = (await this.o.documents.get(event.conferenceId)) ?? null;
          this.deliver(event, doc?.accountId);
        } catch (err) {
          this.log.error({ err }, 'websocket delivery failed');
        }
      }
    } finally {
      this.draining = undefined;
    }
  }

  /**
   * Adds an event's text to the client's next write, which happens at the next check phase of the
   * event loop or the end of the coalescing window, or now when enough is waiting.
   */
  private enqueue(client: Client, text: string): void {
    client.pending.push(text);
    client.pendingChars += text.length;
    if (client.pendingChars >= PENDING_FLUSH_CHARS) {
      this.writePending(client);
      return;
    }
    this.waiting.add(client);
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    const wait = this.lastWriteAt + (this.o.writeCoalesceMs ?? 16) - performance.now();
    if (wait >= 1) setTimeout(this.writeAll, wait);
    else setImmediate(this.writeAll);
  }

  /** performance.now() when the waiting events last went out. */
  private lastWriteAt = -Infinity;

  private readonly writeAll = (): void => {
    this.writeScheduled = false;
    if (this.waiting.size === 0) return;
    this.lastWriteAt = performance.now();
    for (const client of this.waiting) this.writePending(client);
    this.waiting.clear();
  };

  /** Writes the client's waiting events now, in order. */
  private writePending(client: Client): void {
    const texts = client.pending;
    if (texts.length === 0) return;
    client.pending = [];
    client.pendingChars = 0;
    const socket = client.socket;
    if (socket.readyState !== socket.OPEN) return;
    const sink = frameSink(socket);
    if (sink) sink.write(textFrames(texts));
    else for (const text of texts) socket.send(text);
  }

  private accountOfConference(conferenceId: string, documentAccount: string | undefined, payload: Record<string, unknown>): string | undefined {
    return conferenceOwner({
      documentAccount,
      payload,
      live: documentAccount === undefined ? this.o.registry.conference(conferenceId) : undefined,
      defaultAccount: this.o.defaultAccountId,
      attributions: this.o.attributions,
    });
  }

  private deliver(event: OutboundEvent, documentAccount: string | undefined): void {
    const account = this.accountOfConference(event.conferenceId, documentAccount, event.payload);
    if (account === undefined) return;
    // Serialized once for every client it goes to.
    let json: string | undefined;
    for (const client of this.clients) {
      if (client.account !== account) continue;
      let match = false;
      let binding: Subscription | undefined;
      for (const s of client.subscriptions.values()) {
        if (s.conferenceId !== undefined && s.conferenceId !== event.conferenceId) continue;
        if (s.events && !s.events.has(event.event)) continue;
        if (s.binding !== undefined) {
          if (s.callId !== undefined && s.callId !== (event.callId ?? event.conferenceId)) continue;
          binding ??= s;
          continue;
        }
        match = true;
        break;
      }
      if (!match && !binding) continue;
      if (client.socket.bufferedAmount > (this.o.maxBufferedBytes ?? 4 * 1024 * 1024)) {
        this.log.warn({ account }, 'websocket client too slow; disconnecting');
        this.forget(client);
        client.socket.close(1013, 'too slow');
        continue;
      }
      if (match) this.enqueue(client, (json ??= serializedPayload(event)));
      if (binding) this.enqueue(client, blackholeEventText(binding.binding!, event));
    }
  }

  private reply(client: Client, requestId: unknown, status: 'success' | 'error', body: Record<string, unknown>): void {
    if (client.socket.readyState !== client.socket.OPEN) return;
    this.writePending(client); // the events handled before the request go out before its reply
    const msg: Record<string, unknown> = { action: 'reply', status, ...body };
    if (isRequestId(requestId)) msg.request_id = requestId;
    client.socket.send(JSON.stringify(msg));
  }

  private async onMessage(client: Client, data: unknown, isBinary: boolean): Promise<void> {
    let msg: Record<string, unknown> | undefined;
    try {
      const size = Buffer.isBuffer(data) ? data.length : Array.isArray(data) ? data.reduce((n, b: Buffer) => n + b.length, 0) : (data as ArrayBuffer).byteLength;
      const max = this.o.maxMessageBytes ?? 64 * 1024;
      if (isBinary || size > max) throw ValidationError.field('message', 'type', `Expected a JSON text message of at most ${max} bytes`);
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data as Buffer[]).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw ValidationError.field('message', 'type', 'Not valid JSON');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw ValidationError.field('message', 'type', 'Expected a JSON object');
      msg = parsed as Record<string, unknown>;
      await this.handleRequest(client, msg);
    } catch (err) {
      const e = err instanceof ConfmgrError ? err : new WsRequestError('INTERNAL', 'internal error');
      const status = HTTP_STATUS_BY_CODE[e.code] ?? 500;
      const body: Record<string, unknown> = { error: String(status), message: e.message };
      if (err instanceof ValidationError) body.data = err.fields;
      this.reply(client, msg?.request_id, 'error', body);
    }
  }

  private async handleRequest(client: Client, msg: Record<string, unknown>): Promise<void> {
    if (msg.request_id !== undefined && !isRequestId(msg.request_id)) {
      throw ValidationError.field('request_id', 'maxLength', `Must be a number or a string of at most ${REQUEST_ID_MAX_CHARS} characters`, REQUEST_ID_MAX_CHARS);
    }
    if (msg.auth_token !== undefined) {
      client.account = this.o.auth.authenticate(msg.auth_token);
      clearTimeout(client.authDeadline);
    }
    if (client.socket.readyState !== client.socket.OPEN) return;
    switch (msg.action) {
      case 'ping':
        return this.reply(client, msg.request_id, 'success', { data: { pong: true } });
      case 'auth':
        if (client.account === undefined) this.o.auth.authenticate(undefined);
        return this.reply(client, msg.request_id, 'success', { data: { account_id: client.account } });
      case 'subscribe':
        if (isBlackholeRequest(msg)) return this.subscribeBindings(client, msg);
        return this.subscribe(client, msg);
      case 'unsubscribe':
        if (isBlackholeRequest(msg)) return this.unsubscribeBindings(client, msg);
        return this.unsubscribe(client, msg);
      default:
        throw ValidationError.field('action', 'enum', 'Value is not one of: auth, subscribe, unsubscribe, ping', ['auth', 'subscribe', 'unsubscribe', 'ping']);
    }
  }

  private async subscribe(client: Client, msg: Record<string, unknown>): Promise<void> {
    const account = client.account ?? this.o.auth.authenticate(undefined);
    if (msg.account_id !== undefined && msg.account_id !== account) {
      throw new WsRequestError('FORBIDDEN', 'the token does not give access to this account');
    }
    const sub: Subscription = { id: randomUUID() };
    if (msg.conference_id !== undefined) {
      if (typeof msg.conference_id !== 'string' || !CONFERENCE_ID_RE.test(msg.conference_id)) {
        throw ValidationError.field('conference_id', 'pattern', 'Must be a conference name');
      }
      const doc = await this.o.documents.get(msg.conference_id);
      const owner = conferenceOwner({
        documentAccount: doc?.accountId,
        live: this.o.registry.conference(msg.conference_id),
        defaultAccount: this.o.defaultAccountId,
        attributions: this.o.attributions,
      });
      if (owner !== undefined && owner !== account) throw new WsRequestError('FORBIDDEN', 'the conference belongs to another account');
      sub.conferenceId = msg.conference_id;
    }
    if (msg.events !== undefined) {
      if (!Array.isArray(msg.events) || msg.events.some((e) => typeof e !== 'string')) {
        throw ValidationError.field('events', 'type', 'Value is not of type array(string)', 'array');
      }
      if (msg.events.length > EVENTS_MAX_ITEMS) {
        throw ValidationError.field('events', 'maxItems', `The list must not have more than ${EVENTS_MAX_ITEMS} items`, EVENTS_MAX_ITEMS);
      }
      const long = (msg.events as string[]).findIndex((e) => e.length > EVENT_NAME_MAX_CHARS);
      if (long >= 0) throw ValidationError.field(`events.${long}`, 'maxLength', `String must not be more than ${EVENT_NAME_MAX_CHARS} characters`, EVENT_NAME_MAX_CHARS);
      sub.events = new Set(msg.events as string[]);
    }
    if (client.subscriptions.size >= (this.o.maxSubscriptions ?? 100)) {
      throw ValidationError.field('subscription', 'maxItems', 'Too many subscriptions on this socket', this.o.maxSubscriptions ?? 100);
    }
    client.subscriptions.set(sub.id, sub);
    this.reply(client, msg.request_id, 'success', {
      data: {
        subscription: sub.id,
        account_id: account,
        conference_id: sub.conferenceId ?? null,
        events: sub.events ? [...sub.events] : null,
      },
    });
  }

  /**
   * Blackhole's subscribe: `data.binding` or `data.bindings`, optional `data.account_id`. Every binding
   * is checked before any is added: one unsupported binding refuses the whole request.
   */
  private async subscribeBindings(client: Client, msg: Record<string, unknown>): Promise<void> {
    const account = client.account ?? this.o.auth.authenticate(undefined);
    const data = msg.data as Record<string, unknown>;
    if (data.account_id !== undefined && data.account_id !== account) {
      throw new WsRequestError('FORBIDDEN', 'the token does not give access to this account');
    }
    const bindings = bindingsOf(data);
    const subs: Subscription[] = [];
    for (const binding of bindings) {
      const m = BINDING_RE.exec(binding)!;
      const sub: Subscription = { id: randomUUID(), binding };
      const conferenceId = m[1]!;
      if (conferenceId !== '*') {
        if (!CONFERENCE_ID_RE.test(conferenceId)) throw ValidationError.field('binding', 'pattern', `The conference id of ${binding} is not a conference name`);
        await this.checkOwner(conferenceId, account);
        sub.conferenceId = conferenceId;
      }
      if (m[2] !== '*') {
        if (!CALL_ID_RE.test(m[2]!)) throw ValidationError.field('binding', 'pattern', `The call id of ${binding} is not a call id`);
        sub.callId = m[2]!;
      }
      subs.push(sub);
    }
    const existing = new Set([...client.subscriptions.values()].map((s) => s.binding));
    const added = subs.filter((s) => !existing.has(s.binding));
    if (client.subscriptions.size + added.length > (this.o.maxSubscriptions ?? 100)) {
      throw ValidationError.field('bindings', 'maxItems', 'Too many subscriptions on this socket', this.o.maxSubscriptions ?? 100);
    }
    for (const s of added) client.subscriptions.set(s.id, s);
    this.replyBlackhole(client, msg.request_id, { subscribed: this.bindingsOfClient(client) });
  }

  /** Blackhole's unsubscribe: removes the named bindings (those not subscribed are ignored). */
  private unsubscribeBindings(client: Client, msg: Record<string, unknown>): void {
    const bindings = new Set(bindingsOf(msg.data as Record<string, unknown>));
    const unsubscribed: string[] = [];
    for (const [id, s] of client.subscriptions) {
      if (s.binding !== undefined && bindings.has(s.binding)) {
        client.subscriptions.delete(id);
        unsubscribed.push(s.binding);
      }
    }
    this.replyBlackhole(client, msg.request_id, { unsubscribed, subscribed: this.bindingsOfClient(client) });
  }

  private bindingsOfClient(client: Client): string[] {
    return [...client.subscriptions.values()].flatMap((s) => (s.binding === undefined ? [] : [s.binding]));
  }

  /** blackhole_data_emitter's reply: `{action: "reply", request_id, status, data}`. */
  private replyBlackhole(client: Client, requestId: unknown, data: Record<string, unknown>): void {
    if (client.socket.readyState !== client.socket.OPEN) return;
    this.writePending(client); // the events handled before the request go out before its reply
    const msg: Record<string, unknown> = { action: 'reply', status: 'success', data };
    if (isRequestId(requestId)) msg.request_id = requestId;
    client.socket.send(JSON.stringify(msg));
  }

  private async checkOwner(conferenceId: string, account: string): Promise<void> {
    const doc = await this.o.documents.get(conferenceId);
    const owner = conferenceOwner({
      documentAccount: doc?.accountId,
      live: this.o.registry.conference(conferenceId),
      defaultAccount: this.o.defaultAccountId,
      attributions: this.o.attributions,
    });
    if (owner !== undefined && owner !== account) throw new WsRequestError('FORBIDDEN', 'the conference belongs to another account');
  }

  private unsubscribe(client: Client, msg: Record<string, unknown>): void {
    if (msg.subscription === undefined) {
      const n = client.subscriptions.size;
      client.subscriptions.clear();
      return this.reply(client, msg.request_id, 'success', { data: { removed: n } });
    }
    if (typeof msg.subscription !== 'string' || !client.subscriptions.delete(msg.subscription)) {
      throw ValidationError.field('subscription', 'enum', 'Unknown subscription id');
    }
    this.reply(client, msg.request_id, 'success', { data: { removed: 1 } });
  }
}

/** A request in blackhole's form: its arguments under `data`, with `binding` or `bindings`. */
function isBlackholeRequest(msg: Record<string, unknown>): boolean {
  const data = msg.data;
  return typeof data === 'object' && data !== null && !Array.isArray(data) && ('binding' in data || 'bindings' in data);
}

/** `data.binding` / `data.bindings`, each a supported binding; a 400 naming the first that is not. */
function bindingsOf(data: Record<string, unknown>): string[] {
  const list = data.bindings !== undefined ? data.bindings : [data.binding];
  if (!Array.isArray(list) || list.length === 0 || list.some((b) => typeof b !== 'string')) {
    throw ValidationError.field('bindings', 'type', 'Value is not a binding string or a non-empty array of them', 'array');
  }
  if (list.length > BINDINGS_MAX_ITEMS) throw ValidationError.field('bindings', 'maxItems', `At most ${BINDINGS_MAX_ITEMS} bindings per request`, BINDINGS_MAX_ITEMS);
  for (const b of list as string[]) {
    if (b.length > 512 || !BINDING_RE.test(b)) {
      throw ValidationError.field(
        'binding',
        'unsupported',
        `Unsupported binding ${JSON.stringify(b.slice(0, 128))}: confmgr serves conference.event.<conference_id|*>.<call_id|*> only`,
      );
    }
  }
  return list as string[];
}

/**
 * blackhole_data_emitter's event as JSON text: `{action: "event", subscribed_key, subscription_key, name,
 * routing_key, data}`, the same text JSON.stringify gives for that object, with `data` spliced in from the
 * payload's shared serialization instead of stringified again.
 */
export function blackholeEventText(binding: string, event: OutboundEvent): string {
  const key = JSON.stringify(binding);
  const routingKey = JSON.stringify(`conference.event.${event.conferenceId}.${event.callId ?? event.conferenceId}`);
  return `{"action":"event","subscribed_key":${key},"subscription_key":${key},"name":${JSON.stringify(event.event)},"routing_key":${routingKey},"data":${serializedPayload(event)}}`;
}

function isRequestId(v: unknown): v is string | number {
  return (typeof v === 'string' && v.length <= REQUEST_ID_MAX_CHARS) || (typeof v === 'number' && Number.isFinite(v));
}
