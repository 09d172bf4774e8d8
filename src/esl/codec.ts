/**
 * The Event Socket wire format, pure: bytes in, frames out, and commands out as bytes.
 * No sockets, no timers. Everything here is what FreeSWITCH 1.10 puts on the wire, as the
 * fixtures in shared/fixtures/freeswitch show it.
 */
import { EslInvalidArgumentError, EslProtocolError } from './errors.js';

export const FRAME_TYPES = [
  'auth/request',
  'command/reply',
  'api/response',
  'text/event-plain',
  'text/event-json',
  'text/event-xml',
  'log/data',
  'text/disconnect-notice',
  'text/rude-rejection',
] as const;
export type FrameType = (typeof FRAME_TYPES)[number];
const KNOWN_TYPES: ReadonlySet<string> = new Set(FRAME_TYPES);

export interface EslFrame {
  readonly type: FrameType;
  /** Outer headers in wire order, values exactly as sent (outer headers are never URL-encoded). */
  readonly headers: Readonly<Record<string, string>>;
  /** The body, `Content-Length` bytes decoded as UTF-8; '' when there is none. */
  readonly body: string;
}

export interface ParserOptions {
  /** A header block larger than this is a protocol error (default 64 KiB). */
  maxHeaderBytes?: number;
  /** A Content-Length larger than this is a protocol error (default 64 MiB). */
  maxBodyBytes?: number;
}

const LF = 0x0a;
const EMPTY = Buffer.alloc(0);

/**
 * Incremental ESL frame parser. Feed it chunks as they arrive; it returns the frames they complete.
 * A frame split at any byte (inside the blank line, a header, or a UTF-8 sequence) parses the same as
 * when it arrives whole, because nothing is decoded before its last byte is here.
 * After a protocol error the parser is poisoned: the stream has lost its framing and must be closed.
 */
export class EslParser {
  private readonly maxHeaderBytes: number;
  private readonly maxBodyBytes: number;
  /** Unparsed bytes are buf[pos..]; one buffer and a cursor, so a frame costs no slicing of its own. */
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** Where to resume searching for the end of the header block (bytes already known not to hold it). */
  private scanFrom = 0;
  /** Headers of the frame whose body we are waiting for, or undefined while reading headers. */
  private headers: Record<string, string> | undefined;
  private type: FrameType = 'auth/request';
  private bodyLength = 0;
  /**
   * A body that did not arrive in one chunk is copied, as chunks come in, into one buffer of exactly
   * Content-Length bytes: each socket chunk is then garbage at once, and a 7 MB api/response costs one
   * copy instead of a concat per chunk (which was quadratic in time and in transient memory).
   */
  private body: Buffer | undefined;
  private bodyFilled = 0;
  private failure: EslProtocolError | undefined;

  constructor(options: ParserOptions = {}) {
    this.maxHeaderBytes = options.maxHeaderBytes ?? 64 * 1024;
    this.maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024;
  }

  /** Bytes received but not yet part of a complete frame. */
  get bufferedBytes(): number {
    return this.buf.length - this.pos + this.bodyFilled;
  }

  /** Parse a chunk. Throws EslProtocolError on malformed input (and on every call after that). */
  push(chunk: Buffer): EslFrame[] {
    const frames: EslFrame[] = [];
    this.feed(chunk, (frame) => frames.push(frame));
    return frames;
  }

  /**
   * Parse a chunk, handing each complete frame to `onFrame` as soon as it is complete (no array per
   * chunk; frames before a malformed one are delivered before the throw). Throws EslProtocolError on
   * malformed input, and the same error on every call after that.
   */
  feed(chunk: Buffer, onFrame: (frame: EslFrame) => void): void {
    if (this.failure) throw this.failure;
    if (chunk.length === 0) return;
    if (this.body !== undefined) {
      const n = Math.min(this.bodyLength - this.bodyFilled, chunk.length);
      chunk.copy(this.body, this.bodyFilled, 0, n);
      this.bodyFilled += n;
      if (this.bodyFilled < this.bodyLength) return;
      const frame: EslFrame = { type: this.type, headers: this.headers!, body: this.body.toString('utf8') };
      this.body = undefined;
      this.bodyFilled = 0;
      this.headers = undefined;
      // State is consistent before the callback runs: a throwing onFrame loses nothing of the stream.
      this.buf = n < chunk.length ? chunk.subarray(n) : EMPTY;
      this.pos = 0;
      this.scanFrom = 0;
      onFrame(frame);
    } else if (this.pos >= this.buf.length) {
      this.buf = chunk;
      this.pos = 0;
    } else {
      // Only a partial frame is carried over: the copy is bounded by one frame, not by the stream.
      const rest = this.buf.length - this.pos;
      this.scanFrom -= this.pos;
      this.buf = Buffer.concat([this.pos === 0 ? this.buf : this.buf.subarray(this.pos), chunk], rest + chunk.length);
      this.pos = 0;
    }
    try {
      for (;;) {
        const frame = this.headers === undefined ? this.readHeaders() : this.readBody();
        if (frame === null) break;
        if (frame !== undefined) onFrame(frame);
      }
    } catch (err) {
      if (err instanceof EslProtocolError) {
        this.failure = err;
        this.buf = EMPTY;
        this.pos = 0;
        this.body = undefined;
        this.bodyFilled = 0;
      }
      throw err;
    }
    if (this.pos >= this.buf.length) {
      // Everything consumed: drop the reference so the chunk can be collected.
      this.buf = EMPTY;
      this.pos = 0;
      this.scanFrom = 0;
    }
  }

  /**
   * Like feed(), for a chunk whose memory is reused once this returns (a socket's `onread` buffer):
   * the bytes of an incomplete frame are copied out, so the parser keeps nothing that points into
   * `chunk`. Frames never do (headers and bodies are decoded to strings as they complete).
   */
  feedTransient(chunk: Buffer, onFrame: (frame: EslFrame) => void): void {
    try {
      this.feed(chunk, onFrame);
    } finally {
      const buf = this.buf;
      if (buf.length > this.pos && buf.buffer === chunk.buffer) {
        this.buf = Buffer.from(buf.subarray(this.pos));
        this.scanFrom = Math.max(0, this.scanFrom - this.pos);
        this.pos = 0;
      }
    }
  }

  /** null: need more bytes; undefined: progress without a frame; else a complete frame. */
  private readHeaders(): EslFrame | null | undefined {
    const buf = this.buf;
    let start = this.pos;
    if (start >= buf.length) return null;
    // Tolerate stray blank lines between frames; FreeSWITCH sends none, but they carry no frame.
    if (buf[start] === LF) {
      while (start < buf.length && buf[start] === LF) start++;
      this.pos = start;
      this.scanFrom = start;
      return undefined;
    }
    const end = findBlankLine(buf, Math.max(start, this.scanFrom));
    if (end < 0) {
      if (buf.length - start > this.maxHeaderBytes) {
        throw new EslProtocolError(`header block exceeds ${this.maxHeaderBytes} bytes`, { bytes: buf.length - start });
      }
      this.scanFrom = Math.max(start, buf.length - 1);
      return null;
    }
    if (end - start > this.maxHeaderBytes) {
      throw new EslProtocolError(`header block exceeds ${this.maxHeaderBytes} bytes`, { bytes: end - start });
    }
    const headers = eventFrameHeaders(buf, start, end) ?? parseHeaderBlock(buf.toString('utf8', start, end), 'frame');
    const contentType = headers['Content-Type'];
    if (contentType === undefined) throw new EslProtocolError('frame has no Content-Type header');
    if (!KNOWN_TYPES.has(contentType)) {
      throw new EslProtocolError(`unknown Content-Type ${JSON.stringify(contentType.slice(0, 80))}`);
    }
    const lengthText = headers['Content-Length'];
    let length = 0;
    if (lengthText !== undefined) {
      length = parseLength(lengthText);
      if (length < 0) {
        throw new EslProtocolError(`invalid Content-Length ${JSON.stringify(lengthText.slice(0, 40))}`);
      }
      if (length > this.maxBodyBytes) {
        throw new EslProtocolError(`Content-Length ${length} exceeds ${this.maxBodyBytes} bytes`);
      }
    }
    this.pos = end + 2;
    this.scanFrom = this.pos;
    const type = contentType as FrameType;
    if (length === 0) return { type, headers, body: '' };
    this.headers = headers;
    this.type = type;
    this.bodyLength = length;
    return undefined;
  }

  private readBody(): EslFrame | null {
    const start = this.pos;
    const available = this.buf.length - start;
    if (available < this.bodyLength) {
      // Incomplete: start the body buffer with what we have; feed() fills the rest.
      const body = Buffer.allocUnsafe(this.bodyLength);
      this.buf.copy(body, 0, start);
      this.body = body;
      this.bodyFilled = available;
      this.buf = EMPTY;
      this.pos = 0;
      this.scanFrom = 0;
      return null;
    }
    const end = start + this.bodyLength;
    const frame: EslFrame = { type: this.type, headers: this.headers!, body: this.buf.toString('utf8', start, end) };
    this.pos = end;
    this.scanFrom = end;
    this.headers = undefined;
    return frame;
  }
}

const CONTENT_LENGTH_PREFIX = Buffer.from('Content-Length: ', 'latin1');
const CONTENT_TYPE_LINE = Buffer.from('\nContent-Type: ', 'latin1');

/**
 * Fast path for the header block of every event and api/response FreeSWITCH sends, exactly
 * `Content-Length: <digits>\nContent-Type: <known type>`: read from the bytes, no text decode, no
 * line loop. Gives the same object parseHeaderBlock would (same keys, order and values); anything
 * else → undefined, and the general parser decides.
 */
function eventFrameHeaders(buf: Buffer, start: number, end: number): Record<string, string> | undefined {
  const afterPrefix = start + CONTENT_LENGTH_PREFIX.length;
  if (afterPrefix >= end || buf.compare(CONTENT_LENGTH_PREFIX, 0, CONTENT_LENGTH_PREFIX.length, start, afterPrefix) !== 0) return undefined;
  let i = afterPrefix;
  while (i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
  const typeStart = i + CONTENT_TYPE_LINE.length;
  if (i === afterPrefix || typeStart >= end || buf.compare(CONTENT_TYPE_LINE, 0, CONTENT_TYPE_LINE.length, i, typeStart) !== 0) return undefined;
  const type = buf.toString('latin1', typeStart, end);
  if (!KNOWN_TYPES.has(type)) return undefined; // also: another header line follows (it holds a '\n')
  return { 'Content-Length': buf.toString('latin1', afterPrefix, i), 'Content-Type': type };
}

/** 1 to 12 ASCII digits → their value; anything else → -1 (same rule as /^\d{1,12}$/). */
function parseLength(text: string): number {
  const n = text.length;
  if (n === 0 || n > 12) return -1;
  let value = 0;
  for (let i = 0; i < n; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** Index of the first "\n\n" at or after `from`, or -1. */
function findBlankLine(buf: Buffer, from: number): number {
  let i = buf.indexOf(LF, from);
  while (i >= 0 && i + 1 < buf.length) {
    if (buf[i + 1] === LF) return i;
    i = buf.indexOf(LF, i + 1);
  }
  return -1;
}

/**
 * Parses `Name: value` lines. `decode` URL-decodes values (the headers inside a plain event).
 * A line without ':' is a protocol error: the framing can no longer be trusted.
 */
export function parseHeaderBlock(text: string, where: string, decode = false): Record<string, string> {
  const headers: Record<string, string> = {};
  let pos = 0;
  // The next '%' in the text: only values that hold one are URL-decoded (a handful of ~70 lines in a
  // plain event), instead of searching every value for it.
  let nextPercent = decode ? text.indexOf('%') : -1;
  while (pos < text.length) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = text.length;
    if (eol > pos) {
      const colon = text.indexOf(':', pos);
      if (colon < 0 || colon >= eol || colon === pos) {
        throw new EslProtocolError(`malformed ${where} header line ${JSON.stringify(text.slice(pos, Math.min(eol, pos + 80)))}`);
      }
      const name = text.slice(pos, colon);
      let valueStart = colon + 1;
      if (text.charCodeAt(valueStart) === 0x20) valueStart++;
      const raw = text.slice(valueStart, eol);
      if (nextPercent >= 0 && nextPercent < eol) {
        headers[name] = urlDecode(raw); // (a '%' in the name only: urlDecode finds none and returns raw)
        nextPercent = text.indexOf('%', eol);
      } else headers[name] = raw;
    }
    pos = eol + 1;
  }
  return headers;
}

/**
 * FreeSWITCH's URL-decoding of plain event header values, tolerant: a malformed `%` sequence is
 * kept literally instead of throwing (one bad byte must not take the process down).
 */
export function urlDecode(value: string): string {
  let i = value.indexOf('%');
  if (i < 0) return value;
  // Fast path: escapes of ASCII bytes only (the usual `%20`, `%3A`, `%40`), decoded here. An escape of
  // a UTF-8 byte or a malformed one → the exact path below (same result as decodeURIComponent).
  let out = '';
  let from = 0;
  while (i >= 0) {
    const hi = hexValue(value.charCodeAt(i + 1));
    const lo = hexValue(value.charCodeAt(i + 2));
    if (hi < 0 || hi > 7 || lo < 0) return urlDecodeExact(value);
    out += value.slice(from, i) + String.fromCharCode((hi << 4) | lo);
    from = i + 3;
    i = value.indexOf('%', from);
  }
  return out + value.slice(from);
}

function urlDecodeExact(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return lenientDecode(value);
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function lenientDecode(value: string): string {
  const src = Buffer.from(value, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x25 && i + 2 < src.length) {
      const hi = hexValue(src[i + 1]!);
      const lo = hexValue(src[i + 2]!);
      if (hi >= 0 && lo >= 0) {
        out[n++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    out[n++] = c;
  }
  return out.toString('utf8', 0, n);
}

// switch_url_encode: printable ASCII passes through except SWITCH_URL_UNSAFE (space " # % & + : ; < = > ? @ [ \\ ] ^ ` { | });
// every other byte (controls, DEL, each UTF-8 byte) becomes %XX, upper-case hex. '%' itself is always encoded.
const URL_SAFE = /^[!$'()*,\-./0-9A-Z_a-z~]*$/;
const URL_SAFE_BYTE: boolean[] = (() => {
  const table = new Array<boolean>(256).fill(false);
  for (let b = 0x20; b <= 0x7e; b++) table[b] = !' "#%&+:;<=>?@[\\]^`{|}'.includes(String.fromCharCode(b));
  return table;
})();
const HEX = '0123456789ABCDEF';

/**
 * URL-encodes a value the way FreeSWITCH's plain events do (switch_url_encode, as the fixtures show:
 * `tone_stream%3A//%25(200,0,500)`, `Sun,%2022%20Nov`).
 */
export function urlEncode(value: string): string {
  if (URL_SAFE.test(value)) return value;
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out += URL_SAFE_BYTE[byte] ? String.fromCharCode(byte) : '%' + HEX[byte >> 4]! + HEX[byte & 0x0f]!;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Events

export interface EslEvent {
  /** Event-Name, e.g. CUSTOM, BACKGROUND_JOB, HEARTBEAT. */
  readonly name: string;
  /** Event-Subclass for CUSTOM events (e.g. conference::maintenance), else undefined. */
  readonly subclass: string | undefined;
  /** Every event header, decoded (plain: URL-decoded; json: as given; xml: entity-decoded). */
  readonly headers: Readonly<Record<string, string>>;
  /** The event's own body (BACKGROUND_JOB result, etc.); '' when there is none. */
  readonly body: string;
}

export function isEventFrame(frame: EslFrame): boolean {
  return frame.type === 'text/event-plain' || frame.type === 'text/event-json' || frame.type === 'text/event-xml';
}

/** Decodes the body of an event frame into an EslEvent. Throws EslProtocolError when it is not one. */
export function decodeEvent(frame: EslFrame): EslEvent {
  switch (frame.type) {
    case 'text/event-plain':
      return decodePlainEvent(frame.body);
    case 'text/event-json':
      return decodeJsonEvent(frame.body);
    case 'text/event-xml':
      return decodeXmlEvent(frame.body);
    default:
      throw new EslProtocolError(`frame of type ${frame.type} is not an event`);
  }
}

function makeEvent(headers: Record<string, string>, body: string): EslEvent {
  const name = headers['Event-Name'];
  if (name === undefined) throw new EslProtocolError('event has no Event-Name header');
  return { name, subclass: headers['Event-Subclass'], headers, body };
}

export function decodePlainEvent(text: string): EslEvent {
  const blank = text.indexOf('\n\n');
  const headerText = blank < 0 ? text : text.slice(0, blank);
  const headers = parseHeaderBlock(headerText, 'event', true);
  let body = '';
  if (blank >= 0 && headers['Content-Length'] !== undefined) {
    // A nested body: Content-Length counts bytes, so cut by bytes.
    const length = Number(headers['Content-Length']);
    const rest = text.slice(blank + 2);
    body = Number.isFinite(length) && length >= 0 ? Buffer.from(rest, 'utf8').toString('utf8', 0, length) : rest;
  }
  return makeEvent(headers, body);
}

export function decodeJsonEvent(text: string): EslEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new EslProtocolError(`event-json body is not JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new EslProtocolError('event-json body is not a JSON object');
  }
  // The parsed object becomes the headers in place (this is the hot path: no second object, no entry
  // arrays). FreeSWITCH sends strings; a header given twice arrives as an array; `_body` is the body.
  const headers = parsed as Record<string, unknown>;
  let body = '';
  for (const key in headers) {
    const value = headers[key];
    if (typeof value === 'string') continue;
    if (key === '_body') continue;
    headers[key] = Array.isArray(value) ? value.map(String).join('|') : String(value);
  }
  if (Object.prototype.hasOwnProperty.call(headers, '_body')) {
    const value = headers['_body'];
    body = typeof value === 'string' ? value : JSON.stringify(value);
    // `_body` is the last key FreeSWITCH writes; deleting the last-added property is cheap in V8.
    delete headers['_body'];
  }
  return makeEvent(headers as Record<string, string>, body);
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function xmlUnescape(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return XML_ENTITIES[e] ?? m;
  });
}

export function decodeXmlEvent(text: string): EslEvent {
  const headersMatch = /<headers>([\s\S]*?)<\/headers>/.exec(text);
  if (!headersMatch) throw new EslProtocolError('event-xml body has no <headers>');
  const headers: Record<string, string> = {};
  const re = /<([A-Za-z0-9_:.-]+)>([\s\S]*?)<\/\1>/g;
  for (let m = re.exec(headersMatch[1]!); m; m = re.exec(headersMatch[1]!)) {
    headers[m[1]!] = xmlUnescape(m[2]!);
  }
  const bodyMatch = /<body>([\s\S]*?)<\/body>/.exec(text);
  return makeEvent(headers, bodyMatch ? xmlUnescape(bodyMatch[1]!) : '');
}

// ---------------------------------------------------------------------------------------------
// Commands (client → FreeSWITCH)

// CR, LF and NUL end or split a command on the wire; other C0 controls and DEL have no business there.
const FORBIDDEN = /[\x00-\x1f\x7f]/;

/** Throws EslInvalidArgumentError when `value` could not travel as one line of an ESL command. */
export function assertWireSafe(value: string, what: string): void {
  if (typeof value !== 'string') throw new EslInvalidArgumentError(`${what} must be a string`);
  const m = FORBIDDEN.exec(value);
  if (m) {
    throw new EslInvalidArgumentError(`${what} contains a control character (0x${m[0].charCodeAt(0).toString(16).padStart(2, '0')})`, {
      what,
      offset: m.index,
    });
  }
}

function assertNonEmpty(value: string, what: string): void {
  assertWireSafe(value, what);
  if (value.trim() === '') throw new EslInvalidArgumentError(`${what} must not be empty`);
}

function frameOf(line: string, headers?: Readonly<Record<string, string>>): Buffer {
  let text = line + '\n';
  if (headers) {
    for (const [name, value] of Object.entries(headers)) {
      assertNonEmpty(name, 'header name');
      if (name.includes(':')) throw new EslInvalidArgumentError(`header name ${JSON.stringify(name)} contains ':'`);
      assertWireSafe(value, `header ${name}`);
      text += `${name}: ${value}\n`;
    }
  }
  return Buffer.from(text + '\n', 'utf8');
}

export const encode = {
  auth(password: string): Buffer {
    assertNonEmpty(password, 'password');
    return frameOf(`auth ${password}`);
  },
  api(command: string): Buffer {
    assertNonEmpty(command, 'api command');
    return frameOf(`api ${command}`);
  },
  bgapi(command: string, jobUuid: string): Buffer {
    assertNonEmpty(command, 'bgapi command');
    assertNonEmpty(jobUuid, 'Job-UUID');
    return frameOf(`bgapi ${command}`, { 'Job-UUID': jobUuid });
  },
  /** `event json CUSTOM conference::maintenance` — CUSTOM subclasses must come after the event names. */
  event(format: 'plain' | 'json' | 'xml', events: readonly string[]): Buffer {
    if (events.length === 0) throw new EslInvalidArgumentError('event needs at least one event name');
    for (const e of events) {
      assertNonEmpty(e, 'event name');
      if (/\s/.test(e)) throw new EslInvalidArgumentError(`event name ${JSON.stringify(e)} contains whitespace`);
    }
    return frameOf(`event ${format} ${events.join(' ')}`);
  },
  filter(header: string, value: string): Buffer {
    assertNonEmpty(header, 'filter header');
    if (/\s/.test(header)) throw new EslInvalidArgumentError('filter header contains whitespace');
    assertNonEmpty(value, 'filter value');
    return frameOf(`filter ${header} ${value}`);
  },
  filterDelete(header: string, value?: string): Buffer {
    assertNonEmpty(header, 'filter header');
    if (value !== undefined) assertNonEmpty(value, 'filter value');
    return frameOf(value === undefined ? `filter delete ${header}` : `filter delete ${header} ${value}`);
  },
  nixevent(events: readonly string[]): Buffer {
    for (const e of events) assertNonEmpty(e, 'event name');
    return frameOf(`nixevent ${events.join(' ')}`);
  },
  noevents(): Buffer {
    return frameOf('noevents');
  },
  exit(): Buffer {
    return frameOf('exit');
  },
};

// ---------------------------------------------------------------------------------------------
// Frames (FreeSWITCH → client), for the simulator and for tests.

/**
 * Serializes a frame with its headers in exactly the given order. The caller decides where
 * Content-Length goes (FreeSWITCH puts it first on events and second on replies); use byteLength().
 */
export function encodeFrame(headers: ReadonlyArray<readonly [string, string]>, body = ''): Buffer {
  let text = '';
  for (const [name, value] of headers) text += `${name}: ${value}\n`;
  return Buffer.from(text + '\n' + body, 'utf8');
}

export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
