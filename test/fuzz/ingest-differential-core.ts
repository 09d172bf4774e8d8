/**
 * Differential check of the selective ESL ingest (decodeEvent: header index, values decoded when read)
 * against the whole decode (decodeEventWhole: JSON.parse / every header line split and decoded), shared
 * by the quick test (test/esl/ingest-differential.test.ts) and the long run (`npm run fuzz -- ingest`).
 * Inputs: real fixture frames (plain, json, and the json events rendered as xml), mutated by the codec
 * fuzzer's mutator, and json event bodies mutated with JSON's own tokens (escapes, whitespace, other kinds
 * of value, names JSON.parse treats apart) and framed again, so that they reach the json decoders rather
 * than the framing's errors (mutateIngest). For every event frame the parser yields:
 *  - both decoders throw the same EslProtocolError message, or neither throws;
 *  - name, subclass and body agree;
 *  - every header the bridge reads (BRIDGE_HEADERS), plus a few names taken from the event, reads the
 *    same through the index (headerLookup) and through `headers[name]`, before anything lists the headers;
 *  - the `variable_` headers (channel variables) and the whole header list, visited by prefix, agree in
 *    order and value with a for-in over the whole decode;
 *  - parseConferenceEvent gives the same ConferenceEvent (member, details, refusals) and the same
 *    outbound payload (msg_id included); the lazily decoded `headers` equal the whole ones.
 */
import { EslParser, byteLength, decodeEvent, decodeEventWhole, eachHeaderWithPrefix, encodeFrame, headerLookup, isEventFrame, type EslEvent, type EslFrame } from '../../src/esl/codec.js';
import { EslProtocolError } from '../../src/esl/errors.js';
import { decodeJsonEventSelectively } from '../../src/esl/event-decoding.js';
import { LazyEslEvent } from '../../src/esl/lazy-event.js';
import { DETAIL_TYPES, parseConferenceEvent } from '../../src/conference/events.js';
import { MEMBER_HEADERS } from '../../src/conference/member-fields.js';
import { toOutboundEvent } from '../../src/conference/payload.js';
import type { Refusal } from '../../src/conference/refusals.js';
import { FUZZ_LIMITS, mutate } from './codec-fuzz-core.js';

/** Every header name a reader above the ESL layer looks up by name (conference, state, connection). */
export const BRIDGE_HEADERS: readonly string[] = [
  ...new Set([
    'Event-Name',
    'Event-Subclass',
    'Content-Length',
    'Job-UUID',
    'Action',
    'Conference-Name',
    'Conference-Unique-ID',
    'Conference-Domain',
    'Conference-Profile-Name',
    'Conference-Size',
    'Member-ID',
    'FreeSWITCH-Switchname',
    'FreeSWITCH-Hostname',
    'Core-UUID',
    'Event-Date-Timestamp',
    'Event-Sequence',
    'Channel-Name',
    'Caller-Channel-Name',
    'Channel-Presence-ID',
    'Energy-Level',
    'New-ID',
    'Path',
    'Other-Recordings',
    'Volume-Level',
    '_body',
    '__proto__',
    'toString',
    ...MEMBER_HEADERS,
    ...Object.keys(DETAIL_TYPES),
  ]),
];

export class IngestMismatchError extends Error {}

export interface IngestStats {
  events: number;
  rejected: number;
  byType: Record<string, number>;
  /** Events the selective decoder read through its index (the others it decoded whole). */
  selective: Record<string, number>;
  conference: number;
  /** The same checks of every json frame with the json index (decodeJsonEventSelectively) as the selective decoder. */
  jsonIndex?: IngestStats;
}

export function newStats(): IngestStats {
  return { events: 0, rejected: 0, byType: {}, selective: {}, conference: 0 };
}

/** The event frames an input holds (those before a protocol error, if any). */
export function eventFramesOf(input: Buffer): EslFrame[] {
  const frames: EslFrame[] = [];
  try {
    new EslParser(FUZZ_LIMITS).feed(input, (f) => {
      if (isEventFrame(f)) frames.push(f);
    });
  } catch (err) {
    if (!(err instanceof EslProtocolError)) throw err;
  }
  return frames;
}

function attempt(decode: (f: EslFrame) => EslEvent, frame: EslFrame): EslEvent | string {
  try {
    return decode(frame);
  } catch (err) {
    if (!(err instanceof EslProtocolError)) throw new IngestMismatchError(`decoder threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
    return `error: ${err.message}`;
  }
}

const CTX = { appName: 'confmgr', appVersion: '0', nodeName: 'fuzz' };

function fail(what: string, a: unknown, b: unknown): never {
  throw new IngestMismatchError(`${what}: selective ${JSON.stringify(a)?.slice(0, 200)} vs whole ${JSON.stringify(b)?.slice(0, 200)}`);
}

function same(what: string, a: unknown, b: unknown): void {
  if (a !== b) fail(what, a, b);
}

function conferenceView(e: EslEvent): string {
  const refused: Refusal[] = [];
  const ev = parseConferenceEvent(e, 'fuzz', (r) => refused.push(r));
  if (ev === undefined) return JSON.stringify({ refused });
  const { headers: _headers, ...rest } = ev;
  return JSON.stringify({ ev: { ...rest, details: ev.details }, payload: toOutboundEvent(CTX, ev), refused });
}

/** Checks one event frame; throws IngestMismatchError on any difference. */
export function checkFrame(frame: EslFrame, next: () => number, stats: IngestStats, selective: (f: EslFrame) => EslEvent = decodeEvent): void {
  stats.events++;
  stats.byType[frame.type] = (stats.byType[frame.type] ?? 0) + 1;
  const lazy = attempt(selective, frame);
  const whole = attempt(decodeEventWhole, frame);
  if (typeof lazy === 'string' || typeof whole === 'string') {
    same('outcome', typeof lazy === 'string' ? lazy : 'event', typeof whole === 'string' ? whole : 'event');
    stats.rejected++;
    return;
  }
  if (lazy instanceof LazyEslEvent) stats.selective[frame.type] = (stats.selective[frame.type] ?? 0) + 1;
  same('name', lazy.name, whole.name);
  same('subclass', lazy.subclass, whole.subclass);
  same('body', lazy.body, whole.body);
  const wh = whole.headers;
  const names = Object.keys(wh);
  const picked = [...BRIDGE_HEADERS];
  for (let i = 0; i < 3 && names.length > 0; i++) picked.push(names[Math.floor(next() * names.length)]!);
  const get = headerLookup(lazy);
  for (const name of picked) {
    if (name === '__proto__' || name === 'toString') {
      same(`headers[${name}]`, lazy.headers[name], wh[name]);
      continue;
    }
    same(`get(${name})`, get(name), wh[name]);
    same(`headers[${name}]`, lazy.headers[name], wh[name]);
  }
  // Visits by prefix: channel variables, then every header, compared as the objects a caller builds.
  for (const prefix of ['variable_', '']) {
    const a: Record<string, string> = {};
    eachHeaderWithPrefix(lazy.headers, prefix, (n, v) => {
      a[n] = v;
    });
    const b: Record<string, string> = {};
    for (const n in wh) if (n.startsWith(prefix)) b[n] = wh[n]!;
    same(`headers with prefix ${JSON.stringify(prefix)}`, JSON.stringify(Object.entries(a)), JSON.stringify(Object.entries(b)));
  }
  const conf = conferenceView(lazy);
  if (conf.startsWith('{"ev"')) stats.conference++;
  same('parseConferenceEvent + payload', conf, conferenceView(whole));
  // Last: listing the headers decodes them whole; the view must then be the whole decode exactly.
  same('headers listed', JSON.stringify(Object.entries(lazy.headers)), JSON.stringify(Object.entries(wh)));
}

const jsonThroughIndex = (f: EslFrame): EslEvent => decodeJsonEventSelectively(f.body);

/** Every event frame of one input (json ones also through the json index); returns how many were checked. */
export function checkIngestInput(input: Buffer, next: () => number, stats: IngestStats): number {
  const frames = eventFramesOf(input);
  for (const f of frames) {
    checkFrame(f, next, stats);
    if (f.type === 'text/event-json') checkFrame(f, next, (stats.jsonIndex ??= newStats()), jsonThroughIndex);
  }
  return frames.length;
}

/** Text inserted inside a json string: escapes JSON.parse accepts or refuses, and characters it accepts or refuses raw. */
const STRING_TOKENS = [
  '\\\\', '\\"', '\\/', '\\b', '\\f', '\\n', '\\r', '\\t', '\\u00e9', '\\u0041', '\\u0022', '\\u005c', '\\uD83D\\uDE00', '\\ud800',
  '\\u12', '\\u00G1', '\\x', '\\a', '\\', '\\\\"', ' ', '\t', '\n', '\u00a0', '\ufeff', '\u0000', '\u001f', '\u007f', '\u00e9',
  '\u{1F600}', ':', ',', '{', '}', '[', '_body', '%41',
];

/** Text inserted between the strings, or a whole value or member: separators, whitespace, other kinds of value, names JSON.parse treats apart. */
const STRUCTURE_TOKENS = [
  '"', ':', ',', '":"', '","', ' ', '\t', '\n', '\r', '\u00a0', '\ufeff', '1', '-0.5e3', '[', ']', '{', '}', 'null', 'true', '["a","b"]', '{"x":"y"}',
  '"_body":"b\\nody",', '"_body":7,', '"__proto__":"p",', '"__pro\\u0074o__":"p",', '"_bod\\u0079":"e",', '"Act\\u0069on":"escaped",',
  '"Action":"dup",', '"":"empty",', '"Member-ID":"7",', '"Member-ID":["7","8"],', '"variable_x":"v\\"q",', '"Event-Name":"HEARTBEAT",', '"1":"n",',
  '"Conference-Name":"caf\\u00e9 \\"b\\"",',
];

/** Json event bodies of the corpus (as text). */
function jsonBodies(corpus: Buffer[]): string[] {
  const bodies: string[] = [];
  for (const input of corpus) for (const f of eventFramesOf(input)) if (f.type === 'text/event-json') bodies.push(f.body);
  return bodies;
}

const bodiesOf = new WeakMap<Buffer[], string[]>();

/** A json event body mutated with JSON_TOKENS (inserted, or replacing a value), framed again with its length. */
export function mutateJsonEvent(corpus: Buffer[], next: () => number): Buffer {
  let bodies = bodiesOf.get(corpus);
  if (bodies === undefined) bodiesOf.set(corpus, (bodies = jsonBodies(corpus)));
  let body = bodies[Math.floor(next() * bodies.length)]!;
  const ops = next() < 0.7 ? 1 : 2;
  const pick = (tokens: string[]): string => tokens[Math.floor(next() * tokens.length)]!;
  for (let k = 0; k < ops; k++) {
    const at = Math.floor(next() * (body.length + 1));
    const r = next();
    if (r < 0.5) {
      // Inside a string (most of a body is strings).
      body = body.slice(0, at) + pick(STRING_TOKENS) + body.slice(at);
    } else if (r < 0.75) {
      // Between the strings: a member at the start of one, else after a quote (whitespace, separators).
      const token = pick(STRUCTURE_TOKENS);
      const q = token.endsWith(',') ? body.indexOf(',"', at) + 1 : body.indexOf('"', at) + 1;
      const p = q <= 0 ? body.length : q;
      body = body.slice(0, p) + token + body.slice(p);
    } else if (r < 0.92) {
      // A whole value replaced (a number, an array, an escaped string, …).
      const colon = body.indexOf('":"', at);
      const end = colon < 0 ? -1 : body.indexOf('"', colon + 3);
      if (end >= 0) body = body.slice(0, colon + 2) + pick(STRUCTURE_TOKENS).replace(/,$/, '') + body.slice(end + 1);
    } else {
      body = body.slice(0, at) + body.slice(at + 1 + Math.floor(next() * 8)); // a run deleted
    }
  }
  return encodeFrame([['Content-Length', String(byteLength(body))], ['Content-Type', 'text/event-json']], body);
}

/** One fuzz input: the codec fuzzer's mutation of fixture frames, or (one in three) a mutated json event. */
export function mutateIngest(corpus: Buffer[], next: () => number): Buffer {
  return next() < 1 / 3 ? mutateJsonEvent(corpus, next) : mutate(corpus, next);
}
