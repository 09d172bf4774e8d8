import { describe, expect, it } from 'vitest';
import { EslParser, decodeEvent, isEventFrame, type EslFrame } from '../../src/esl/codec.js';
import { rawFixtureNames, readRaw, readSummary } from '../helpers/fixtures.js';

function parseWhole(buf: Buffer): EslFrame[] {
  return new EslParser().push(buf);
}

function parseSplit(buf: Buffer, offsets: number[]): EslFrame[] {
  const p = new EslParser();
  const frames: EslFrame[] = [];
  let prev = 0;
  for (const o of [...offsets, buf.length]) {
    frames.push(...p.push(buf.subarray(prev, o)));
    prev = o;
  }
  expect(p.bufferedBytes).toBe(0);
  return frames;
}

function describeFrames(frames: EslFrame[]) {
  return frames.map((f) => {
    if (!isEventFrame(f)) return { contentType: f.type };
    const e = decodeEvent(f);
    const memberId = e.headers['Member-ID'];
    return {
      contentType: f.type,
      eventName: e.name,
      ...(e.headers['Action'] !== undefined ? { action: e.headers['Action'] } : {}),
      ...(memberId !== undefined ? { memberId: Number(memberId) } : {}),
    };
  });
}

// Deterministic pseudo-random offsets so a failure can be replayed.
function sampleOffsets(length: number, count: number, seed: number): number[] {
  let x = seed;
  const set = new Set<number>();
  while (set.size < Math.min(count, length - 1)) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    set.add(1 + (x % (length - 1)));
  }
  return [...set].sort((a, b) => a - b);
}

describe('codec against every FreeSWITCH fixture', () => {
  for (const name of rawFixtureNames()) {
    const raw = readRaw(name);
    const expected = readSummary(name).map((s) => ({
      contentType: s.contentType,
      ...(s.eventName !== undefined ? { eventName: s.eventName } : {}),
      ...(s.action !== undefined ? { action: s.action } : {}),
      ...(s.memberId !== undefined ? { memberId: s.memberId } : {}),
    }));

    it(`${name}: whole buffer parses into the summary's messages`, () => {
      expect(describeFrames(parseWhole(raw))).toEqual(expected);
    });

    it(`${name}: split at ${raw.length > 20_000 ? 'sampled' : 'every'} byte offset parses the same`, () => {
      const whole = parseWhole(raw);
      const offsets = raw.length > 20_000 ? sampleOffsets(raw.length, 1500, raw.length) : [...Array(raw.length - 1).keys()].map((i) => i + 1);
      for (const o of offsets) expect(parseSplit(raw, [o])).toEqual(whole);
      // And byte by byte, the worst case for a stateful parser.
      if (raw.length <= 20_000) expect(parseSplit(raw, [...Array(raw.length - 1).keys()].map((i) => i + 1))).toEqual(whole);
    });
  }

  it('plain and json versions of the demo decode to the same header values', () => {
    const plain = parseWhole(readRaw('demo-plain')).filter(isEventFrame).map(decodeEvent);
    const json = parseWhole(readRaw('demo-json')).filter(isEventFrame).map(decodeEvent);
    expect(plain.length).toBe(json.length);
    // Volatile values differ between the two captured runs; the shape and semantics must not.
    const volatile = /UUID|Unique-ID|Date|Timestamp|Sequence|Time$|Channel-Call-UUID|Caller-Unique-ID|Job-UUID|Energy|Talking|Floor|Old-ID|New-ID|^File$|Path|Size|Milliseconds|Samples|Offset/i;
    for (let i = 0; i < plain.length; i++) {
      const p = plain[i]!;
      const j = json[i]!;
      expect(Object.keys(p.headers).sort(), `event ${i} header names`).toEqual(Object.keys(j.headers).sort());
      for (const [k, v] of Object.entries(p.headers)) {
        if (volatile.test(k)) continue;
        expect(j.headers[k], `event ${i} (${p.headers['Action']}) header ${k}`).toBe(v);
      }
    }
  });
});
