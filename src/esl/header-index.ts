/**
 * Selective decoding of a text/event-plain body's headers: one pass records where each header's name
 * and value lie (no string made per header), and a small hash table finds a header by name. A value is
 * URL-decoded only when it is read. The bridge reads a few dozen of the ~90 headers of a member event;
 * the rest are never turned into strings.
 *
 * A header block the full decoder would refuse (a line without a name) is undefined here and the caller
 * decodes the event whole, so every value read here is the one the full decoder gives (the ingest
 * differential fuzz test checks it).
 */
import { urlDecode } from './url-coding.js';

/** Per entry: name start, name end, value start, value end, hash | flag bits. */
const STRIDE = 5;
/** The line holds a '%': the value is URL-decoded. */
const ENCODED = 1;


export class HeaderIndex {
  /**
   * `spans` holds the entries (STRIDE numbers each) and, from `count * STRIDE` on, the hash table (entry
   * number + 1 per slot, 0 = empty; a power-of-two size): one allocation per event, not two.
   */
  constructor(
    readonly text: string,
    private readonly spans: Int32Array,
    readonly count: number,
  ) {}

  /** The decoded value of header `name` (the last one when it is given twice), or undefined. */
  get(name: string): string | undefined {
    const i = this.find(name);
    return i < 0 ? undefined : this.valueAt(i);
  }

  /** Entry number of header `name`, or -1. */
  find(name: string): number {
    const len = name.length;
    if (len === 0) return -1;
    const h = hashOf(name, len);
    const spans = this.spans;
    const base = this.count * STRIDE;
    const mask = spans.length - base - 1;
    const text = this.text;
    for (let slot = (h & ~1) & mask; ; slot = (slot + 1) & mask) {
      const e = spans[base + slot]!;
      if (e === 0) return -1;
      const o = (e - 1) * STRIDE;
      const ks = spans[o]!;
      if (spans[o + 4]! >>> 1 === h >>> 1 && spans[o + 1]! - ks === len && text.startsWith(name, ks)) return e - 1;
    }
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
    return (spans[o + 4]! & ENCODED) === 0 ? raw : urlDecode(raw);
  }

  /** Plain body → index, or undefined when the header block is not one this scan accepts. */
  static plain(text: string, headerEnd: number): HeaderIndex | undefined {
    const b = builder(text);
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

function builder(text: string) {
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
      let size = 16;
      while (size < count * 2) size *= 2;
      const base = count * STRIDE;
      const spans = new Int32Array(base + size);
      spans.set(scratch.subarray(0, base));
      const mask = size - 1;
      for (let i = 0; i < count; i++) {
        const o = i * STRIDE;
        const ks = spans[o]!;
        const len = spans[o + 1]! - ks;
        const h = spans[o + 4]!;
        for (let slot = (h & ~1) & mask; ; slot = (slot + 1) & mask) {
          const e = spans[base + slot]!;
          if (e === 0) {
            spans[base + slot] = i + 1;
            break;
          }
          const p = (e - 1) * STRIDE;
          if (spans[p + 4]! >>> 1 === h >>> 1 && spans[p + 1]! - spans[p]! === len && text.startsWith(text.slice(ks, ks + len), spans[p]!)) {
            spans[base + slot] = i + 1; // given twice: the last value wins, as in an object
            break;
          }
        }
      }
      return new HeaderIndex(text, spans, count);
    },
  };
}
