/**
 * Selective decoding of a text/event-json body: one pass checks that the body is exactly the JSON
 * FreeSWITCH writes for an event (one flat object of string values, `_body` a string too, nothing between
 * the strings but `:` and `,`) and records where each name and value lie; a small hash table finds a
 * header by name. A value becomes a string only when it is read, so the ~90 headers of a member event are
 * not all made into strings and no object holds them.
 *
 * The pass accepts only text JSON.parse accepts, and reads the same strings from it. Anything else
 * (whitespace between tokens, a number, array or object value, a `__proto__` name, invalid text) is
 * undefined here and the caller decodes the body whole with JSON.parse, which also gives the error (the
 * ingest differential fuzz test checks it).
 */
import { hashOf, hashRange } from './header-index.js';
import type { IndexedHeaders } from './lazy-event.js';

/** Per entry: name start, value start, value end (inside the quotes; the name ends at value start - 3), hash | flag. */
const STRIDE = 4;
/** The string holds an escape: it is decoded by JSON.parse of its quoted text. */
const ESCAPED = 1;

const QUOTE = 0x22;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN = 0x7b;
const CLOSE = 0x7d;

/**
 * No control character anywhere (JSON.parse refuses one inside a string; between the strings the pass
 * allows none anyway): checked in one native pass, not a test per character in JavaScript.
 */
const NO_CONTROL = /^[^\x00-\x1f]*$/;

/** A hash as stored: 29 bits, so that it and the flag fit a small integer (the arrays stay unboxed). */
function key(hash: number): number {
  return hash >>> 3;
}

export class JsonHeaderIndex implements IndexedHeaders {
  /**
   * `spans` holds the entries (STRIDE numbers each) and, from `count * STRIDE` on, the hash table (entry
   * number + 1 per slot, 0 = empty; a power-of-two size). `names` holds the decoded name of an entry whose
   * name is escaped (undefined when there is none, as in every event FreeSWITCH writes).
   */
  private constructor(
    readonly text: string,
    private readonly spans: Int32Array,
    readonly count: number,
    private readonly names: (string | undefined)[] | undefined,
    /** The `_body` member's value, or '' when there is none. */
    readonly body: string,
  ) {}

  get(name: string): string | undefined {
    const i = this.find(name);
    return i < 0 ? undefined : this.valueAt(i);
  }

  /** Entry number of header `name` (the last one when it is given twice), or -1. */
  find(name: string): number {
    const len = name.length;
    const k = len === 0 ? 0 : key(hashOf(name, len));
    const spans = this.spans;
    const base = this.count * STRIDE;
    const mask = spans.length - base - 1;
    for (let slot = k & mask; ; slot = (slot + 1) & mask) {
      const e = spans[base + slot]!;
      if (e === 0) return -1;
      if (spans[(e - 1) * STRIDE + 3]! >> 1 === k && this.nameIs(e - 1, name)) return e - 1;
    }
  }

  private nameIs(i: number, name: string): boolean {
    const decoded = this.names?.[i];
    if (decoded !== undefined) return decoded === name;
    const ks = this.spans[i * STRIDE]!;
    return this.spans[i * STRIDE + 1]! - 3 - ks === name.length && this.text.startsWith(name, ks);
  }

  nameAt(i: number): string {
    const decoded = this.names?.[i];
    if (decoded !== undefined) return decoded;
    return this.text.slice(this.spans[i * STRIDE]!, this.spans[i * STRIDE + 1]! - 3);
  }

  nameStartsWith(i: number, prefix: string): boolean {
    const decoded = this.names?.[i];
    if (decoded !== undefined) return decoded.startsWith(prefix);
    const ks = this.spans[i * STRIDE]!;
    return this.spans[i * STRIDE + 1]! - 3 - ks >= prefix.length && this.text.startsWith(prefix, ks);
  }

  valueAt(i: number): string {
    const o = i * STRIDE;
    const spans = this.spans;
    return decodeString(this.text, spans[o + 1]!, spans[o + 2]!, spans[o + 3]! & ESCAPED);
  }

  /** Body → index, or undefined when it is not a body this pass accepts. */
  static scan(text: string): JsonHeaderIndex | undefined {
    const count = NO_CONTROL.test(text) ? scanEntries(text) : -1;
    if (count < 0) return undefined;
    const names = scanNames;
    scanNames = undefined;
    const index = new JsonHeaderIndex(text, withTable(text, count, names), count, names, scanBody);
    return index;
  }
}

function decodeString(text: string, start: number, end: number, escaped: number): string {
  return escaped === 0 ? text.slice(start, end) : (JSON.parse(text.slice(start - 1, end + 1)) as string);
}

// What the last scan found besides its entries (in `scratch`): the decoded names and the body.
let scanNames: (string | undefined)[] | undefined;
let scanBody = '';

/**
 * `{"name":"value",…}` with nothing between the strings. Returns the number of entries, or -1 when the
 * body is not exactly that or holds an escape JSON.parse refuses.
 */
function scanEntries(text: string): number {
  const n = text.length;
  if (text.charCodeAt(0) !== OPEN || text.charCodeAt(1) !== QUOTE) return -1;
  scanNames = undefined;
  scanBody = '';
  nextEscape = text.indexOf('\\');
  let count = 0;
  let ks = 2;
  for (;;) {
    const ke = stringEnd(text, ks);
    if (ke < 0 || text.charCodeAt(ke + 1) !== COLON || text.charCodeAt(ke + 2) !== QUOTE) return -1;
    const nameFlag = stringFlag;
    const vs = ke + 3;
    const ve = stringEnd(text, vs);
    if (ve < 0) return -1;
    const valueFlag = stringFlag;
    const len = ke - ks;
    if (nameFlag === 0) {
      if (len === 5 && text.startsWith('_body', ks)) scanBody = decodeString(text, vs, ve, valueFlag);
      // An object given `__proto__` keeps that header only as JSON.parse defines it: the whole decoder decides.
      else if (len === 9 && text.startsWith('__proto__', ks)) return -1;
      else add(count++, ks, vs, ve, len === 0 ? 0 : key(hashRange(text, ks, len)), valueFlag);
    } else {
      const name = decodeString(text, ks, ke, nameFlag);
      if (name === '_body') scanBody = decodeString(text, vs, ve, valueFlag);
      else if (name === '__proto__') return -1;
      else {
        (scanNames ??= [])[count] = name;
        add(count++, ks, vs, ve, name.length === 0 ? 0 : key(hashOf(name, name.length)), valueFlag);
      }
    }
    const next = text.charCodeAt(ve + 1);
    if (next === COMMA && text.charCodeAt(ve + 2) === QUOTE) ks = ve + 3;
    else if (next === CLOSE && ve + 2 === n) return count;
    else return -1;
  }
}

/** The next backslash not yet passed by the scan (every one lies inside a string), or -1. */
let nextEscape = -1;
/** ESCAPED when the string stringEnd last ended holds an escape, else 0. */
let stringFlag = 0;

/**
 * From just after an opening quote: the index of the closing quote, or -1 when there is none or an
 * escape before it is not one JSON.parse accepts (the string holds no control character: NO_CONTROL).
 */
function stringEnd(text: string, from: number): number {
  let q = text.indexOf('"', from);
  stringFlag = 0;
  while (nextEscape >= 0 && nextEscape < q) {
    const at = nextEscape;
    const e = text.charCodeAt(at + 1);
    let after: number;
    if (e === 0x75) {
      if (!(isHex(text.charCodeAt(at + 2)) && isHex(text.charCodeAt(at + 3)) && isHex(text.charCodeAt(at + 4)) && isHex(text.charCodeAt(at + 5)))) return -1;
      after = at + 6;
    } else if (e === QUOTE || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
      after = at + 2;
    } else return -1;
    stringFlag = ESCAPED;
    if (after > q) q = text.indexOf('"', after); // the quote was the escape's own (\")
    nextEscape = text.indexOf('\\', after);
  }
  return q;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

/**
 * Entries are gathered in one scratch array reused by every scan, the hash table is built after them,
 * and the whole is copied once at its size (off the V8 heap: an index can outlive many collections).
 */
let scratch = new Int32Array(1024);

function add(i: number, ks: number, vs: number, ve: number, k: number, flag: number): void {
  const o = i * STRIDE;
  if (o + STRIDE > scratch.length) grow(o + STRIDE);
  scratch[o] = ks;
  scratch[o + 1] = vs;
  scratch[o + 2] = ve;
  scratch[o + 3] = (k << 1) | flag;
}

function scratchName(text: string, names: (string | undefined)[] | undefined, i: number): string {
  return names?.[i] ?? text.slice(scratch[i * STRIDE]!, scratch[i * STRIDE + 1]! - 3);
}

function grow(needed: number): void {
  let length = scratch.length * 2;
  while (length < needed) length *= 2;
  const bigger = new Int32Array(length);
  bigger.set(scratch);
  scratch = bigger;
}

function withTable(text: string, count: number, names: (string | undefined)[] | undefined): Int32Array {
  let size = 16;
  while (size * 3 < count * 4) size *= 2; // load ≤ 3/4
  const base = count * STRIDE;
  const mask = size - 1;
  if (base + size > scratch.length) grow(base + size);
  scratch.fill(0, base, base + size);
  for (let i = 0; i < count; i++) {
    const k = scratch[i * STRIDE + 3]! >> 1;
    for (let slot = k & mask; ; slot = (slot + 1) & mask) {
      const e = scratch[base + slot]!;
      if (e === 0) {
        scratch[base + slot] = i + 1;
        break;
      }
      if (scratch[(e - 1) * STRIDE + 3]! >> 1 === k && scratchName(text, names, e - 1) === scratchName(text, names, i)) {
        scratch[base + slot] = i + 1; // given twice: the last value wins, as in an object
        break;
      }
    }
  }
  return scratch.slice(0, base + size);
}
