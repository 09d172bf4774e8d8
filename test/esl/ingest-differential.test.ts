import { describe, expect, it } from 'vitest';
import { encodeFrame, byteLength, decodeEvent, decodeEventWhole, eachHeaderWithPrefix, headerLookup, type EslFrame } from '../../src/esl/codec.js';
import { fuzzCorpus, mutate, rng } from '../fuzz/codec-fuzz-core.js';
import { BRIDGE_HEADERS, checkFrame, checkIngestInput, eventFramesOf, mutateJsonEvent, newStats } from '../fuzz/ingest-differential-core.js';
import { decodeJsonEvent, decodeJsonEventSelectively, type EslEvent } from '../../src/esl/event-decoding.js';
import { EslProtocolError } from '../../src/esl/errors.js';
import { LazyEslEvent } from '../../src/esl/lazy-event.js';

const corpus = fuzzCorpus();

function eventFrame(type: EslFrame['type'], body: string): EslFrame {
  const [frame] = eventFramesOf(encodeFrame([['Content-Length', String(byteLength(body))], ['Content-Type', type]], body));
  return frame!;
}

/**
 * The json index (decodeJsonEventSelectively, not decodeEvent's path for json) against JSON.parse: the
 * same error, or the same name, subclass, body, every header by name, channel variables and header list.
 * Returns 1 when the body was read through the index.
 */
function checkJsonIndex(body: string): number {
  const run = (f: (t: string) => EslEvent): EslEvent | string => {
    try {
      return f(body);
    } catch (err) {
      if (!(err instanceof EslProtocolError)) throw err;
      return err.message;
    }
  };
  const lazy = run(decodeJsonEventSelectively);
  const whole = run(decodeJsonEvent);
  if (typeof lazy === 'string' || typeof whole === 'string') {
    expect(lazy).toEqual(whole);
    return 0;
  }
  expect([lazy.name, lazy.subclass, lazy.body]).toEqual([whole.name, whole.subclass, whole.body]);
  const get = headerLookup(lazy);
  for (const name of [...BRIDGE_HEADERS, ...Object.keys(whole.headers)]) {
    if (name === '__proto__' || name === 'toString') continue;
    if (get(name) !== whole.headers[name]) expect(`${name}: ${get(name)}`).toBe(`${name}: ${whole.headers[name]}`);
  }
  for (const prefix of ['variable_', '']) {
    const a: Record<string, string> = {};
    eachHeaderWithPrefix(lazy.headers, prefix, (n, v) => (a[n] = v));
    const b: Record<string, string> = {};
    for (const n in whole.headers) if (n.startsWith(prefix)) b[n] = whole.headers[n]!;
    expect(Object.entries(a)).toEqual(Object.entries(b));
  }
  expect(Object.entries(lazy.headers)).toEqual(Object.entries(whole.headers));
  return lazy instanceof LazyEslEvent ? 1 : 0;
}

describe('selective ESL ingest vs whole decode (quick sample; `npm run fuzz -- ingest` runs 1,000,000 frames)', () => {
  it('every unmutated fixture event: plain, json and xml agree field by field', () => {
    const stats = newStats();
    for (const input of corpus) checkIngestInput(input, rng(1), stats);
    expect(stats.byType['text/event-plain']).toBeGreaterThan(50);
    expect(stats.byType['text/event-json']).toBeGreaterThan(50);
    expect(stats.byType['text/event-xml']).toBeGreaterThan(50);
    expect(stats.conference).toBeGreaterThan(150);
    expect(stats.rejected).toBe(0);
    // Plain events are read through the index, not decoded whole.
    expect(stats.selective['text/event-plain']).toBe(stats.byType['text/event-plain']);
    // Json through the index (not decodeEvent's path): every fixture body but those with an escape.
    let indexed = 0;
    for (const input of corpus) for (const f of eventFramesOf(input)) if (f.type === 'text/event-json') indexed += checkJsonIndex(f.body);
    expect(indexed).toBeGreaterThan(stats.byType['text/event-json']! - 5);
  });

  it('5,000 mutated fixture streams agree, and the mutator reaches rejected events', () => {
    const next = rng(20261206);
    const stats = newStats();
    for (let i = 0; i < 5_000; i++) checkIngestInput(mutate(corpus, next), next, stats);
    expect(stats.events).toBeGreaterThan(4_000);
    expect(stats.rejected).toBeGreaterThan(100);
    expect(stats.conference).toBeGreaterThan(2_000);
  });

  it('6,000 json events mutated with JSON tokens, read through the json index: refused with the same error or read the same', () => {
    const next = rng(20261208);
    let indexed = 0;
    for (let i = 0; i < 6_000; i++) for (const f of eventFramesOf(mutateJsonEvent(corpus, next))) indexed += checkJsonIndex(f.body);
    expect(indexed).toBeGreaterThan(1_000);
  });

  it('6,000 json events mutated with JSON tokens: refused with EslProtocolError by both decoders, or read the same', () => {
    const next = rng(20261207);
    const stats = newStats();
    for (let i = 0; i < 6_000; i++) checkIngestInput(mutateJsonEvent(corpus, next), next, stats);
    expect(stats.byType['text/event-json']).toBe(6_000);
    expect(stats.rejected).toBeGreaterThan(1_000);
    expect(stats.events - stats.rejected).toBeGreaterThan(2_500);
    expect(stats.conference).toBeGreaterThan(2_000);
  });

  it('json: escapes in values, duplicate names, _body, non-string values and invalid text', () => {
    const bodies = [
      '{"Event-Name":"CUSTOM","Action":"a\\"b\\u00e9\\n","Action":"last","_body":"x\\ty"}',
      '{"Event-Name":"CUSTOM","Event-Subclass":"conference::maintenance","Member-ID":["1","2"]}',
      '{"Event-Name":"CUSTOM","Act\\u0069on":"escaped-name"}',
      '{"Event-Name":"CUSTOM","Action":"bad\\x"}',
      '{"Event-Name":"CUSTOM","Action":"raw\ttab"}',
      '{"Event-Name":"CUSTOM", "Action":"space"}',
      '{"Event-Name":"CUSTOM","":"empty name","__proto__":"p"}',
      '{"Action":"no name"}',
      '{"Event-Name":"CUSTOM","Action":"x"',
    ];
    const stats = newStats();
    for (const body of bodies) checkFrame(eventFrame('text/event-json', body), rng(2), stats);
    expect(stats.rejected).toBe(4);
    const ev = decodeEvent(eventFrame('text/event-json', bodies[0]!));
    expect(headerLookup(ev)('Action')).toBe('last');
    expect(ev.body).toBe('x\ty');
    expect(Object.keys(ev.headers)).toEqual(['Event-Name', 'Action']);
  });

  it('json read through the index: duplicate names (last wins, listed once), _body, channel variables, names JSON.parse treats apart', () => {
    const bodies = [
      '{"Event-Name":"CUSTOM","Action":"first","variable_a":"1","Action":"last","variable_b":"2","_body":"text"}',
      '{"Event-Name":"CUSTOM","_body":"one","Member-ID":"4","_body":"two"}',
      '{"Event-Name":"CUSTOM","variable_":"bare","Variable_x":"no","variablex":"no"}',
      '{"Event-Name":"CUSTOM","1":"index","Action":"a"}',
      '{"Event-Name":"CUSTOM","__proto__":"p"}',
      '{"Event-Name":"CUSTOM","":"empty"}',
      '{"Event-Name":"CUSTOM"} ',
      '{"Event-Name":"CUSTOM","Action":1}',
    ];
    // A header after `_body` (FreeSWITCH writes `_body` last) is left to JSON.parse: entries are found from the previous one's end.
    expect(bodies.map(checkJsonIndex)).toEqual([1, 0, 1, 1, 0, 0, 0, 0]);
    const ev = decodeJsonEventSelectively(bodies[0]!);
    expect(headerLookup(ev)('Action')).toBe('last');
    expect(ev.body).toBe('text');
    const vars: string[] = [];
    eachHeaderWithPrefix(ev.headers, 'variable_', (n, v) => vars.push(`${n}=${v}`));
    expect(vars).toEqual(['variable_a=1', 'variable_b=2']);
    expect(decodeJsonEventSelectively(bodies[1]!).body).toBe('two');
    expect(Object.keys(ev.headers)).toEqual(['Event-Name', 'Action', 'variable_a', 'variable_b']);
  });

  it('json: events whose names share hashes and lengths reuse one shape and still read their own names', () => {
    // `…-Codec-Name` and `…-Codec-Rate` (and Caller/Callee) have the same hash and length in the index.
    const bodies = [
      '{"Event-Name":"CUSTOM","Channel-Read-Codec-Name":"PCMU","Caller-Caller-ID-Name":"a"}',
      '{"Event-Name":"CUSTOM","Channel-Read-Codec-Rate":"8000","Caller-Callee-ID-Name":"b"}',
      '{"Event-Name":"CUSTOM","Channel-Read-Codec-Name":"PCMU","Channel-Read-Codec-Rate":"8000","Channel-Read-Codec-Name":"G722"}',
      '{"Event-Name":"CUSTOM","Channel-Read-Codec-Rate":"1","Channel-Read-Codec-Name":"2","Channel-Read-Codec-Rate":"3"}',
      '{"Event-Name":"CUSTOM","Channel-Read-Codec-Name":"1","Channel-Read-Codec-Name":"2","Channel-Read-Codec-Name":"3"}',
    ];
    let indexed = 0;
    for (const body of [...bodies, ...bodies.reverse()]) {
      indexed += checkJsonIndex(body);
      const ev = decodeJsonEventSelectively(body);
      const whole = JSON.parse(body) as Record<string, string>;
      for (const name of ['Channel-Read-Codec-Name', 'Channel-Read-Codec-Rate', 'Caller-Caller-ID-Name', 'Caller-Callee-ID-Name']) {
        expect(headerLookup(ev)(name)).toBe(whole[name]);
      }
    }
    expect(indexed).toBe(10);
  });

  it('plain: URL-encoded values, a % in a name, duplicates, a nested body and malformed lines', () => {
    const bodies = [
      'Event-Name: CUSTOM\nAction: a%20b%E2%82%AC\nAction: c\nX%41: y\n',
      'Event-Name: BACKGROUND_JOB\nJob-UUID: j\nContent-Length: 3\n\n+OK trailing',
      'Event-Name: CUSTOM\n__proto__: p\nAction: x\n',
      'Event-Name: CUSTOM\nno colon here\n',
      'Action: no name\n',
    ];
    const stats = newStats();
    for (const body of bodies) checkFrame(eventFrame('text/event-plain', body), rng(3), stats);
    expect(stats.rejected).toBe(2);
    const ev = decodeEvent(eventFrame('text/event-plain', bodies[0]!));
    expect(headerLookup(ev)('Action')).toBe('c');
    expect(ev.headers['X%41']).toBe('y');
    expect(decodeEvent(eventFrame('text/event-plain', bodies[1]!)).body).toBe(decodeEventWhole(eventFrame('text/event-plain', bodies[1]!)).body);
  });
});
