/**
 * Differential check of the selective ESL ingest (decodeEvent: header index, values decoded when read)
 * against the whole decode (decodeEventWhole: JSON.parse / every header line split and decoded), shared
 * by the quick test (test/esl/ingest-differential.test.ts) and the long run (`npm run fuzz -- ingest`).
 * Inputs: real fixture frames (plain, json, and the json events rendered as xml), mutated by the codec
 * fuzzer's mutator. For every event frame the parser yields:
 *  - both decoders throw the same EslProtocolError message, or neither throws;
 *  - name, subclass and body agree;
 *  - every header the bridge reads (BRIDGE_HEADERS), plus a few names taken from the event, reads the
 *    same through the index (headerLookup) and through `headers[name]`, before anything lists the headers;
 *  - the `variable_` headers (channel variables) and the whole header list, visited by prefix, agree in
 *    order and value with a for-in over the whole decode;
 *  - parseConferenceEvent gives the same ConferenceEvent (member, details, refusals) and the same
 *    outbound payload (msg_id included); the lazily decoded `headers` equal the whole ones.
 */
import { EslParser, decodeEvent, decodeEventWhole, eachHeaderWithPrefix, headerLookup, isEventFrame, type EslEvent, type EslFrame } from '../../src/esl/codec.js';
import { EslProtocolError } from '../../src/esl/errors.js';
import { DETAIL_TYPES, parseConferenceEvent } from '../../src/conference/events.js';
import { MEMBER_HEADERS } from '../../src/conference/member-fields.js';
import { toOutboundEvent } from '../../src/conference/payload.js';
import type { Refusal } from '../../src/conference/refusals.js';
import { FUZZ_LIMITS } from './codec-fuzz-core.js';

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
  conference: number;
}

export function newStats(): IngestStats {
  return { events: 0, rejected: 0, byType: {}, conference: 0 };
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
export function checkFrame(frame: EslFrame, next: () => number, stats: IngestStats): void {
  stats.events++;
  stats.byType[frame.type] = (stats.byType[frame.type] ?? 0) + 1;
  const lazy = attempt(decodeEvent, frame);
  const whole = attempt(decodeEventWhole, frame);
  if (typeof lazy === 'string' || typeof whole === 'string') {
    same('outcome', typeof lazy === 'string' ? lazy : 'event', typeof whole === 'string' ? whole : 'event');
    stats.rejected++;
    return;
  }
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

/** Every event frame of one input; returns how many were checked. */
export function checkIngestInput(input: Buffer, next: () => number, stats: IngestStats): number {
  const frames = eventFramesOf(input);
  for (const f of frames) checkFrame(f, next, stats);
  return frames.length;
}
