/**
 * The Event Socket frame parser, pure: bytes in, frames out, incrementally (no sockets, no timers).
 * Frames are what FreeSWITCH 1.10 puts on the wire.
 */
import { EslProtocolError } from './errors.js';
import { urlDecode } from './url-coding.js';

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
   * Content-Length bytes: each socket chunk is then garbage at once, and a large api/response costs one
   * copy instead of a concat per chunk (quadratic in time and in transient memory).
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
/** The known types' bytes, by length: a type is matched in place and its constant string reused. */
const TYPES_BY_LENGTH: ReadonlyMap<number, readonly { text: FrameType; bytes: Buffer }[]> = (() => {
  const byLength = new Map<number, { text: FrameType; bytes: Buffer }[]>();
  for (const text of FRAME_TYPES) {
    const list = byLength.get(text.length) ?? [];
    list.push({ text, bytes: Buffer.from(text, 'latin1') });
    byLength.set(text.length, list);
  }
  return byLength;
})();

/** Whether buf holds `bytes` at `at` (compared here: a native call per frame cost more than the loop). */
function bytesAt(buf: Buffer, at: number, bytes: Buffer): boolean {
  for (let k = 0; k < bytes.length; k++) if (buf[at + k] !== bytes[k]) return false;
  return true;
}

/**
 * Fast path for the header block of every event and api/response FreeSWITCH sends, exactly
 * `Content-Length: <digits>\nContent-Type: <known type>`: read from the bytes, no text decode, no
 * line loop. Gives the same object parseHeaderBlock would (same keys, order and values); anything
 * else → undefined, and the general parser decides.
 */
function eventFrameHeaders(buf: Buffer, start: number, end: number): Record<string, string> | undefined {
  const afterPrefix = start + CONTENT_LENGTH_PREFIX.length;
  if (afterPrefix >= end || !bytesAt(buf, start, CONTENT_LENGTH_PREFIX)) return undefined;
  let i = afterPrefix;
  let length = 0;
  while (i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39) length = length * 10 + (buf[i++]! - 0x30);
  const typeStart = i + CONTENT_TYPE_LINE.length;
  if (i === afterPrefix || typeStart >= end || !bytesAt(buf, i, CONTENT_TYPE_LINE)) return undefined;
  // A type is one of the known ones, whole: another header line after it would hold a '\n'.
  let type: FrameType | undefined;
  for (const known of TYPES_BY_LENGTH.get(end - typeStart) ?? []) {
    if (bytesAt(buf, typeStart, known.bytes)) {
      type = known.text;
      break;
    }
  }
  if (type === undefined) return undefined;
  // The digits as sent: a number's own text when it has no leading zero and is exact (the usual case).
  const digits = i - afterPrefix;
  const lengthText = digits <= 15 && (digits === 1 || buf[afterPrefix] !== 0x30) ? `${length}` : buf.toString('latin1', afterPrefix, i);
  return { 'Content-Length': lengthText, 'Content-Type': type };
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
  // The next '%' in the text: only values that hold one are URL-decoded (a handful of the lines in a
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
