/**
 * Selective decoding of an event body's headers: one pass records where each header's name and value
 * lie (no string made per header), and a small hash table finds a header by name. A value becomes a
 * string only when it is read. The bridge reads a few dozen of the ~90 headers of a member event; the
 * rest are never turned into strings.
 *
 * Two scans fill the same index: `plain` (text/event-plain: a value URL-decoded when read) and `json`
 * (text/event-json as FreeSWITCH writes it: values are plain slices). A body either scan does not accept
 * with certainty is undefined here and the caller decodes the event whole, so every value read here is
 * the one the full decoder gives (the ingest differential fuzz test checks it).
 */
import { urlDecode } from './url-coding.js';

/**
 * An event's own array holds one number per entry: where its value ends, with two flags (below). The
 * entries follow each other with fixed separators (json `","`, plain a newline), so the rest is derived:
 * an entry's name starts one separator after the previous value's end (the first at `first`), its value
 * `nameLength + sep` after its name. Everything that depends only on the names (each one's hash and
 * length, the hash table) is in a Shape shared by every event with the same names in the same order:
 * FreeSWITCH writes an event kind's headers in a fixed order, so an event allocates one small array.
 */
/** Entry flag: the value is URL-encoded (plain). */
const ENCODED = 1 << 30;
/** Entry flag: one more character (a plain header's space after the colon) before the value. */
const SPACED = 1 << 29;
/** The value-end bits of an entry; a body this long or longer is decoded whole. */
const END = SPACED - 1;
/** Per entry while scanning: value end with flags (as above), key (hash | VARIABLE), name length. */
const SCAN_STRIDE = 3;
/** A shape's key: the name starts with `variable_` (the prefix walk for channel variables reads this bit). */
const VARIABLE = 2;
/** A shape's key: a later entry has the same hash and length (maybe the same name given twice). */
const TWIN = 1;
/** The hash bits a key keeps (the low two hold the flags). */
const HASH = ~3;
const VARIABLE_PREFIX = 'variable_';
/** From this length on, V8's String.prototype.slice returns a view of its parent (a sliced string). */
const SLICE_VIEW_LENGTH = 13;

/** A copy of `s` that shares no storage with the string it was sliced from. */
function own(s: string): string {
  return (' ' + s).slice(1);
}

const QUOTE = 0x22;
const COLON = 0x3a;
const COMMA = 0x2c;
const CLOSE = 0x7d;
const OPEN = 0x7b;
const LOWER_V = 0x76;
const UNDERSCORE = 0x5f;

/**
 * A json body holding any of these is decoded whole: a backslash may be an escape, and JSON.parse refuses
 * a control character inside a string. With none, every quote ends a string. One `indexOf` per character
 * (a native memchr-like search each) costs less than one pass of a character-class regular expression.
 */
const NOT_PLAIN_JSON: readonly string[] = ['\\', ...Array.from({ length: 0x20 }, (_, c) => String.fromCharCode(c))];

function isPlainJson(text: string): boolean {
  for (let i = 0; i < NOT_PLAIN_JSON.length; i++) if (text.indexOf(NOT_PLAIN_JSON[i]!) >= 0) return false;
  return true;
}

/**
 * The names of an event, as hashes and lengths: `meta` holds per entry its key (hash | flags) and name
 * length, then the hash table (entry number + 1 per slot, 0 = empty; a power-of-two size). Every entry is
 * in the table (a name given twice too): a lookup takes the last entry whose name matches.
 */
class Shape {
  constructor(
    readonly count: number,
    readonly meta: Int32Array,
    /** How many entries are channel variables (names starting with `variable_`). */
    readonly variables: number,
  ) {}
}

export class HeaderIndex {
  constructor(
    readonly text: string,
    private readonly ends: number[],
    private readonly shape: Shape,
    /** A json body's `_body` member ('' when none); plain bodies carry theirs after the header block. */
    readonly body: string,
    /** Where the first name starts; from a value's end to the next name (json `","` 3, plain `\n` 1); from a name's end to its value (json `":"` 3, plain `:` 1). */
    private readonly first: number,
    private readonly gap: number,
    private readonly sep: number,
  ) {}

  private nameStart(i: number): number {
    return i === 0 ? this.first : (this.ends[i - 1]! & END) + this.gap;
  }

  get count(): number {
    return this.shape.count;
  }

  get variables(): number {
    return this.shape.variables;
  }

  /** The decoded value of header `name` (the last one when it is given twice), or undefined. */
  get(name: string): string | undefined {
    const i = this.find(name);
    return i < 0 ? undefined : this.valueAt(i);
  }

  /**
   * Entry number of header `name` (the last one when it is given twice), or -1. The event's names have
   * exactly the shape's hashes and lengths in order (checked when the shape was chosen), so a name whose
   * hash and length no entry has is absent, and a match is confirmed against this event's own text.
   */
  find(name: string): number {
    const len = name.length;
    if (len === 0) return -1;
    const h = hashRange(name, 0, len) & HASH;
    const meta = this.shape.meta;
    const base = this.shape.count * 2;
    const mask = meta.length - base - 1;
    let found = -1;
    for (let slot = (h >>> 2) & mask; ; slot = (slot + 1) & mask) {
      const e = meta[base + slot]!;
      if (e === 0) return found;
      const i = e - 1;
      const key = meta[i * 2]!;
      if ((key & HASH) === h && meta[i * 2 + 1] === len && this.text.startsWith(name, this.nameStart(i))) {
        if ((key & TWIN) === 0) return i;
        if (i > found) found = i;
      }
    }
  }

  nameAt(i: number): string {
    const ks = this.nameStart(i);
    return this.text.slice(ks, ks + this.shape.meta[i * 2 + 1]!);
  }

  /** Whether entry `i`'s name starts with `prefix` (no string made). */
  nameStartsWith(i: number, prefix: string): boolean {
    return this.shape.meta[i * 2 + 1]! >= prefix.length && this.text.startsWith(prefix, this.nameStart(i));
  }

  /** Whether entry `i`'s name starts with `variable_` (read from the shape). */
  isVariable(i: number): boolean {
    return (this.shape.meta[i * 2]! & VARIABLE) !== 0;
  }

  valueAt(i: number): string {
    const entry = this.ends[i]!;
    const ve = entry & END;
    const vs = this.nameStart(i) + this.shape.meta[i * 2 + 1]! + this.sep + ((entry & SPACED) === 0 ? 0 : 1);
    if ((entry & ENCODED) !== 0) return urlDecode(this.text.slice(vs, ve));
    // V8 makes a slice this long a view of the whole body; a value kept in long-lived state would keep
    // the body alive (promoted with it): copied into a string of its own instead.
    return ve - vs < SLICE_VIEW_LENGTH ? this.text.slice(vs, ve) : own(this.text.slice(vs, ve));
  }

  /** Plain body → index, or undefined when the header block is not one this scan accepts. */
  static plain(text: string, headerEnd: number): HeaderIndex | undefined {
    if (text.length >= END) return undefined;
    begin();
    let pos = 0;
    let first = -1;
    let nextPercent = text.indexOf('%');
    while (pos < headerEnd) {
      let eol = text.indexOf('\n', pos);
      if (eol < 0 || eol > headerEnd) eol = headerEnd;
      if (eol > pos) {
        // Entries are found from the previous one's end: an empty line between two is left to the full decoder.
        if (first < 0) first = pos;
        else if (pos !== (scratch[(count - 1) * SCAN_STRIDE]! & END) + 1) return undefined;
        const colon = text.indexOf(':', pos);
        if (colon < 0 || colon >= eol || colon === pos) return undefined;
        // An object given a `__proto__` key by assignment keeps no such header: the full decoder decides.
        if (colon - pos === 9 && text.startsWith('__proto__', pos)) return undefined;
        let flags = 0;
        if (text.charCodeAt(colon + 1) === 0x20) flags = SPACED;
        if (nextPercent >= 0 && nextPercent < eol) {
          // Same rule as the full decoder: a '%' anywhere on the line (urlDecode of a value without one is the value).
          flags |= ENCODED;
          nextPercent = text.indexOf('%', eol);
        }
        add(text, pos, colon, eol | flags);
      }
      pos = eol + 1;
    }
    return done(text, '', first < 0 ? 0 : first, 1, 1);
  }

  /**
   * Json body → index, or undefined unless it is exactly what FreeSWITCH writes: `{"name":"value",…}`,
   * string values only, nothing between the strings but `":"` and `,`, no escape, no control character,
   * no empty or `__proto__` name, nothing after the closing brace. JSON.parse gives such a body the same
   * names and values (a name given twice: the last value), and `_body` is the event's body.
   */
  static json(text: string): HeaderIndex | undefined {
    const n = text.length;
    if (n >= END || text.charCodeAt(0) !== OPEN || text.charCodeAt(1) !== QUOTE || !isPlainJson(text)) return undefined;
    // The entries are written straight into the scratch array (the scan's hot loop; see `add`).
    let sc = scratch;
    let o = 0;
    let seq = 0;
    let bodyStart = -1;
    let bodyEnd = -1;
    let ks = 2;
    for (;;) {
      const ke = text.indexOf('"', ks);
      if (ke <= ks || text.charCodeAt(ke + 1) !== COLON || text.charCodeAt(ke + 2) !== QUOTE) return undefined;
      const vs = ke + 3;
      const ve = text.indexOf('"', vs);
      if (ve < 0) return undefined;
      const len = ke - ks;
      const first = text.charCodeAt(ks);
      let header = true;
      if (first === UNDERSCORE && (len === 5 || len === 9)) {
        // `_body` is the body, not a header; `__proto__` is a name JSON.parse treats apart: decoded whole.
        if (len === 5 && text.startsWith('_body', ks)) {
          bodyStart = vs;
          bodyEnd = ve;
          header = false;
        } else if (text.startsWith('__proto__', ks)) return undefined;
      }
      if (header) {
        // Entries are found from the previous one's end: a header after `_body` is left to JSON.parse.
        if (bodyStart >= 0) return undefined;
        if (o + SCAN_STRIDE > sc.length) sc = growScratch();
        let key = hashRange(text, ks, len) & HASH;
        if (first === LOWER_V && len >= 9 && text.startsWith(VARIABLE_PREFIX, ks)) key |= VARIABLE;
        sc[o] = ve;
        sc[o + 1] = key;
        sc[o + 2] = len;
        seq = (Math.imul(seq, 0x01000193) ^ key ^ len) | 0;
        o += SCAN_STRIDE;
      }
      const next = text.charCodeAt(ve + 1);
      if (next === COMMA && text.charCodeAt(ve + 2) === QUOTE) ks = ve + 3;
      else if (next === CLOSE && ve + 2 === n) break;
      else return undefined;
    }
    count = o / SCAN_STRIDE;
    sequence = seq;
    return done(text, bodyStart < 0 ? '' : text.slice(bodyStart, bodyEnd), 2, 3, 3);
  }
}

function hashRange(text: string, start: number, len: number): number {
  let h = Math.imul(len, 0x9e3779b1);
  h = Math.imul(h ^ text.charCodeAt(start), 0x85ebca6b);
  h = Math.imul(h ^ text.charCodeAt(start + (len >> 1)), 0xc2b2ae35);
  h = Math.imul(h ^ text.charCodeAt(start + len - 1), 0x27d4eb2f);
  h = Math.imul(h ^ text.charCodeAt(start + ((len * 3) >> 2)), 0x165667b1);
  return h ^ (h >>> 15);
}

// One scan at a time: its entries gather in one scratch array reused by every scan (module state, no
// builder object per event); only the positions are copied out per event.
let scratch = new Int32Array(256 * SCAN_STRIDE);
let count = 0;
/** A hash of the scanned names' keys and lengths in order: picks the cached shape to compare with. */
let sequence = 0;

function begin(): void {
  count = 0;
  sequence = 0;
}

function growScratch(): typeof scratch {
  const bigger = new Int32Array(scratch.length * 2);
  bigger.set(scratch);
  return (scratch = bigger);
}

function add(text: string, ks: number, ke: number, entry: number): void {
  const o = count * SCAN_STRIDE;
  if (o + SCAN_STRIDE > scratch.length) growScratch();
  const len = ke - ks;
  let key = hashRange(text, ks, len) & HASH;
  if (len >= 9 && text.charCodeAt(ks) === LOWER_V && text.startsWith(VARIABLE_PREFIX, ks)) key |= VARIABLE;
  scratch[o] = entry;
  scratch[o + 1] = key;
  scratch[o + 2] = len;
  sequence = (Math.imul(sequence, 0x01000193) ^ key ^ len) | 0;
  count++;
}

/** Recently seen shapes, by sequence hash (a direct-mapped cache: a new shape replaces the one in its slot). */
const shapes: (Shape | undefined)[] = new Array<Shape | undefined>(256).fill(undefined);

function done(text: string, body: string, first: number, gap: number, sep: number): HeaderIndex {
  const n = count;
  const slot = (sequence ^ n) & (shapes.length - 1);
  let shape = shapes[slot];
  // One pass copies the value ends out and compares the names with the cached shape's.
  let same = shape !== undefined && shape.count === n;
  const meta = same ? shape!.meta : undefined;
  const ends = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const o = i * SCAN_STRIDE;
    ends[i] = scratch[o]!;
    if (same && ((meta![i * 2]! & ~TWIN) !== scratch[o + 1] || meta![i * 2 + 1] !== scratch[o + 2])) same = false;
  }
  if (!same) shapes[slot] = shape = newShape(n);
  return new HeaderIndex(text, ends, shape!, body, first, gap, sep);
}

function newShape(n: number): Shape {
  let size = 16;
  while (size < n * 2) size *= 2;
  const base = n * 2;
  const meta = new Int32Array(base + size);
  let variables = 0;
  for (let i = 0; i < n; i++) {
    meta[i * 2] = scratch[i * SCAN_STRIDE + 1]!;
    meta[i * 2 + 1] = scratch[i * SCAN_STRIDE + 2]!;
    if ((meta[i * 2]! & VARIABLE) !== 0) variables++;
  }
  const mask = size - 1;
  for (let i = 0; i < n; i++) {
    const h = meta[i * 2]! & HASH;
    const len = meta[i * 2 + 1]!;
    for (let slot = (h >>> 2) & mask; ; slot = (slot + 1) & mask) {
      const e = meta[base + slot]!;
      if (e === 0) {
        meta[base + slot] = i + 1;
        break;
      }
      // An earlier entry with the same hash and length: a lookup that finds it looks on for a later one.
      if ((meta[(e - 1) * 2]! & HASH) === h && meta[(e - 1) * 2 + 1] === len) meta[(e - 1) * 2] = meta[(e - 1) * 2]! | TWIN;
    }
  }
  return new Shape(n, meta, variables);
}
