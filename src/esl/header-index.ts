/**
 * Selective decoding of an event's headers: one pass over a text/event-plain or text/event-json body
 * records where each header's name and value lie (no string made per header), and a small hash table
 * finds a header by name. A value is decoded (URL-decoding, JSON escapes) only when it is read. The
 * bridge reads a few dozen of the ~90 headers of a member event; the rest are never turned into strings.
 *
 * The scan accepts only what FreeSWITCH writes (JSON: one flat object of string values, no whitespace,
 * names without escapes); anything else is undefined here and the caller decodes the event whole, so
 * every value read here is the one the full decoder gives (the ingest differential fuzz test checks it).
 */
import { urlDecode } from './url-coding.js';

/** Per entry: name start, name end, value start, value end, hash | flag bits. */
const STRIDE = 5;
/** The value holds a '%' (plain: URL-decode) or a backslash (JSON: unescape). */
const ENCODED = 1;

/** How values are encoded: plain (URL-encoded) or JSON (string escapes). */
type HeaderFormat = 'plain' | 'json';

export class HeaderIndex {
  constructor(
    readonly text: string,
    private readonly format: HeaderFormat,
    private readonly spans: Int32Array,
    readonly count: number,
    private readonly table: Int32Array,
  ) {}

  /** The decoded value of header `name` (the last one when it is given twice), or undefined. */
  get(name: string): string | undefined {
    if (name === '_body' && this.format === 'json') return undefined;
    const i = this.find(name);
    return i < 0 ? undefined : this.valueAt(i);
  }

  /** Entry number of header `name`, or -1. */
  find(name: string): number {
    const len = name.length;
    if (len === 0) return -1;
    const h = hashOf(name, len);
    const table = this.table;
    const mask = table.length - 1;
    const spans = this.spans;
    const text = this.text;
    for (let slot = (h & ~1) & mask; ; slot = (slot + 1) & mask) {
      const e = table[slot]!;
      if (e === 0) return -1;
      const o = (e - 1) * STRIDE;
      const ks = spans[o]!;
      if (spans[o + 4]! >>> 1 === h >>> 1 && spans[o + 1]! - ks === len && text.startsWith(name, ks)) return e - 1;
    }
  }

  /** Whether entry `i` is a JSON event's `_body` (the event's body, not a header). */
  isBody(i: number): boolean {
    const o = i * STRIDE;
    return this.format === 'json' && this.spans[o + 1]! - this.spans[o]! === 5 && this.text.startsWith('_body', this.spans[o]!);
  }

  nameAt(i: number): string {
    const o = i * STRIDE;
    return this.text.slice(this.spans[o]!, this.spans[o + 1]!);
  }

  /** Whether entry `i`'s name starts with `prefix` (no string made). */
  nameStartsWith(i: number, prefix: string): boolean {
    const o = i * STRIDE;
    return this.spans[o + 1]! - this.spans[o]! >= prefix.length && this.text.startsWith(prefix, this.spans[o]!);
  }

  valueAt(i: number): string {
    const o = i * STRIDE;
    const spans = this.spans;
    const raw = this.text.slice(spans[o + 2]!, spans[o + 3]!);
    if ((spans[o + 4]! & ENCODED) === 0) return raw;
    return this.format === 'plain' ? urlDecode(raw) : (JSON.parse(`"${raw}"`) as string);
  }

  /** Plain body → index, or undefined when the header block is not one this scan accepts. */
  static plain(text: string, headerEnd: number): HeaderIndex | undefined {
    const b = builder(text, 'plain');
    let pos = 0;
    let nextPercent = text.indexOf('%');
    while (pos < headerEnd) {
      let eol = text.indexOf('\n', pos);
      if (eol < 0 || eol > headerEnd) eol = headerEnd;
      if (eol > pos) {
        const colon = text.indexOf(':', pos);
        if (colon < 0 || colon >= eol || colon === pos) return undefined;
        // An object given a `__proto__` key by assignment keeps no such header: the full decoder decides.
        if (colon - pos === 9 && text.startsWith('__proto__', pos)) return undefined;
        let vs = colon + 1;
        if (text.charCodeAt(vs) === 0x20) vs++;
        let flags = 0;
        if (nextPercent >= 0 && nextPercent < eol) {
          // Same rule as the full decoder: a '%' anywhere on the line (urlDecode of a value without one is the value).
          flags = ENCODED;
          nextPercent = text.indexOf('%', eol);
        }
        b.add(pos, colon, vs, eol, flags);
      }
      pos = eol + 1;
    }
    return b.done();
  }

  /** JSON body → index, or undefined when it is not a flat object of strings as FreeSWITCH writes it. */
  static json(text: string): HeaderIndex | undefined {
    const n = text.length;
    if (n < 2 || text.charCodeAt(0) !== 0x7b || text.charCodeAt(n - 1) !== 0x7d) return undefined;
    // A control character is invalid inside a JSON string and FreeSWITCH writes no whitespace.
    if (CONTROL.test(text)) return undefined;
    const b = builder(text, 'json');
    let backslash = text.indexOf('\\');
    let pos = 1;
    for (;;) {
      if (text.charCodeAt(pos) !== 0x22) return undefined;
      const ks = pos + 1;
      const ke = text.indexOf('"', ks);
      if (ke <= ks) return undefined;
      // A name with an escape would not match its decoded form: the full decoder handles it.
      if (backslash >= 0 && backslash < ke) return undefined;
      if (text.charCodeAt(ke + 1) !== 0x3a || text.charCodeAt(ke + 2) !== 0x22) return undefined;
      const vs = ke + 3;
      let ve = text.indexOf('"', vs);
      if (ve < 0) return undefined;
      let flags = 0;
      if (backslash >= 0 && backslash < ve) {
        ve = escapedStringEnd(text, vs, ve);
        if (ve < 0) return undefined;
        flags = ENCODED;
        backslash = text.indexOf('\\', ve + 1);
      }
      b.add(ks, ke, vs, ve, flags);
      const next = text.charCodeAt(ve + 1);
      if (next === 0x2c) pos = ve + 2;
      else if (next === 0x7d && ve + 2 === n) break;
      else return undefined;
    }
    return b.done();
  }
}

const CONTROL = /[\x00-\x1f]/;

/** End quote of a JSON string starting at `start` whose first quote at `quote` may be escaped; -1 when invalid. */
function escapedStringEnd(text: string, start: number, quote: number): number {
  let q = quote;
  for (;;) {
    let k = q - 1;
    while (k >= start && text.charCodeAt(k) === 0x5c) k--;
    if ((q - 1 - k) % 2 === 0) break;
    q = text.indexOf('"', q + 1);
    if (q < 0) return -1;
  }
  // Escapes are validated now, as JSON.parse of the whole body would.
  try {
    JSON.parse(text.slice(start - 1, q + 1));
  } catch {
    return -1;
  }
  return q;
}

function hashOf(s: string, len: number): number {
  let h = Math.imul(len, 0x9e3779b1);
  h = Math.imul(h ^ s.charCodeAt(0), 0x85ebca6b);
  h = Math.imul(h ^ s.charCodeAt(len >> 1), 0xc2b2ae35);
  h = Math.imul(h ^ s.charCodeAt(len - 1), 0x27d4eb2f);
  h = Math.imul(h ^ s.charCodeAt((len * 3) >> 2), 0x165667b1);
  return (h ^ (h >>> 15)) >>> 0;
}

function hashRange(text: string, start: number, len: number): number {
  let h = Math.imul(len, 0x9e3779b1);
  h = Math.imul(h ^ text.charCodeAt(start), 0x85ebca6b);
  h = Math.imul(h ^ text.charCodeAt(start + (len >> 1)), 0xc2b2ae35);
  h = Math.imul(h ^ text.charCodeAt(start + len - 1), 0x27d4eb2f);
  h = Math.imul(h ^ text.charCodeAt(start + ((len * 3) >> 2)), 0x165667b1);
  return (h ^ (h >>> 15)) >>> 0;
}

/** Spans are gathered in one scratch array reused by every scan, then copied once at their size. */
let scratch = new Int32Array(256 * STRIDE);

function builder(text: string, format: HeaderFormat) {
  let count = 0;
  return {
    add(ks: number, ke: number, vs: number, ve: number, flags: number): void {
      if ((count + 1) * STRIDE > scratch.length) {
        const bigger = new Int32Array(scratch.length * 2);
        bigger.set(scratch);
        scratch = bigger;
      }
      const o = count * STRIDE;
      scratch[o] = ks;
      scratch[o + 1] = ke;
      scratch[o + 2] = vs;
      scratch[o + 3] = ve;
      // The hash's low bit is replaced by the flags; comparisons ignore it.
      scratch[o + 4] = ((ke > ks ? hashRange(text, ks, ke - ks) : 0) & ~1) | flags;
      count++;
    },
    done(): HeaderIndex {
      const spans = scratch.slice(0, count * STRIDE);
      let size = 16;
      while (size < count * 2) size *= 2;
      const table = new Int32Array(size);
      const mask = size - 1;
      for (let i = 0; i < count; i++) {
        const o = i * STRIDE;
        const ks = spans[o]!;
        const len = spans[o + 1]! - ks;
        const h = spans[o + 4]!;
        for (let slot = (h & ~1) & mask; ; slot = (slot + 1) & mask) {
          const e = table[slot]!;
          if (e === 0) {
            table[slot] = i + 1;
            break;
          }
          const p = (e - 1) * STRIDE;
          if (spans[p + 4]! >>> 1 === h >>> 1 && spans[p + 1]! - spans[p]! === len && text.startsWith(text.slice(ks, ks + len), spans[p]!)) {
            table[slot] = i + 1; // given twice: the last value wins, as in an object
            break;
          }
        }
      }
      return new HeaderIndex(text, format, spans, count, table);
    },
  };
}
