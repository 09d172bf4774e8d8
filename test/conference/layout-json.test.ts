/**
 * A participant event's text (the layout writer, layout-json.ts) is byte for byte JSON.stringify of its
 * payload: over every member event of the recorded FreeSWITCH sessions, over payloads built from
 * fuzzed members (escapes, surrogates, odd numbers, channel variables), and after the payload was
 * changed in every way a caller could change it before the text is asked for.
 */
import { describe, expect, it } from 'vitest';
import { EslParser, decodeEvent, isEventFrame } from '../../src/esl/codec.js';
import { parseConferenceEvent } from '../../src/conference/events.js';
import { toOutboundEvent, type PayloadContext } from '../../src/conference/payload.js';
import { serializedPayload } from '../../src/conference/serialized-payload.js';
import { layoutJson } from '../../src/conference/layout-json.js';
import type { ConferenceEvent, MemberState } from '../../src/conference/types.js';
import { rawFixtureNames, readRaw } from '../helpers/fixtures.js';
import { rng } from '../fuzz/codec-fuzz-core.js';

const ctx: PayloadContext = { appName: 'confmgr', appVersion: '0.1.0', nodeName: 'confmgr@test' };

const PIECES = ['a', 'Z', '0', '-', ' ', '"', '\\', '/', '\n', '\t', '\u0000', '\u001f', '\u007f', 'é', '李', '\u2028', '\ud83d\ude00', '\ud800', '\udfff', '<', '&', "'"];

function text(r: () => number): string {
  const n = Math.floor(r() * 12);
  let s = '';
  for (let i = 0; i < n; i++) s += r() < 0.7 ? String.fromCharCode(0x61 + Math.floor(r() * 26)) : PIECES[Math.floor(r() * PIECES.length)]!;
  return s;
}

const NUMBERS = [0, -0, 1, -1, 53, 100, 2 ** 31, 2 ** 53 + 2, 1.5, -1e-7, 1e21, 1e300, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE];

function number(r: () => number): number {
  return r() < 0.5 ? Math.floor(r() * 1000) : NUMBERS[Math.floor(r() * NUMBERS.length)]!;
}

function fuzzedEvent(r: () => number): ConferenceEvent {
  const vars: Record<string, string> = {};
  for (let i = Math.floor(r() * 4); i > 0; i--) vars[`ecallmgr_${text(r) || 'X'}`] = text(r);
  if (r() < 0.3) vars['ecallmgr_Precedence'] = r() < 0.5 ? String(Math.floor(r() * 10)) : text(r);
  if (r() < 0.3) vars['presence_id'] = text(r);
  const member: MemberState = {
    memberId: number(r),
    isModerator: r() < 0.5,
    ghost: r() < 0.5,
    callId: text(r),
    callerIdName: text(r),
    callerIdNumber: text(r),
    floor: r() < 0.5,
    video: r() < 0.5,
    hear: r() < 0.5,
    see: r() < 0.5,
    speak: r() < 0.5,
    talking: r() < 0.5,
    muteDetect: r() < 0.5,
    hold: r() < 0.5,
    energyLevel: number(r),
    currentEnergy: number(r),
    channelVars: vars,
  };
  if (r() < 0.3) member.presenceId = text(r);
  return {
    action: r() < 0.5 ? 'start-talking' : text(r),
    known: true,
    node: text(r),
    switchname: r() < 0.5 ? '' : text(r),
    coreUuid: text(r),
    conferenceName: text(r),
    conferenceUuid: text(r),
    timestampUs: number(r),
    sequence: number(r),
    synthesized: r() < 0.2,
    headers: {},
    details: {},
    member,
  } as ConferenceEvent;
}

const ODD_VALUES: (() => unknown)[] = [
  () => undefined,
  () => null,
  () => () => 1,
  () => Symbol('s'),
  () => ({ nested: [1, 'x'] }),
  () => [1, undefined, 'a'],
  () => ({ toJSON: (key: string) => `to-json:${key}` }),
  () => new Date(0),
  () => 'plain "text"\n',
  () => 7,
  () => NaN,
  () => true,
  () => 12345678901234567,
];

/** Changes a payload as a caller might before its text is asked for. */
function mutate(payload: Record<string, unknown>, r: () => number): void {
  const keys = Object.keys(payload);
  const key = (): string => keys[Math.floor(r() * keys.length)]!;
  const odd = (): unknown => ODD_VALUES[Math.floor(r() * ODD_VALUES.length)]!();
  switch (Math.floor(r() * 11)) {
    case 0:
      payload[r() < 0.5 ? 'ts_us' : text(r)] = odd();
      break;
    case 1:
      delete payload[key()];
      break;
    case 2: {
      const k = key();
      const v = payload[k];
      delete payload[k];
      payload[k] = v;
      break;
    }
    case 3:
      payload[key()] = odd();
      break;
    case 4:
      Object.defineProperty(payload, key(), { enumerable: false });
      break;
    case 5: {
      const v = odd();
      Object.defineProperty(payload, r() < 0.5 ? key() : 'getter', { get: () => v, set: () => undefined, enumerable: true, configurable: true });
      break;
    }
    case 6:
      Object.setPrototypeOf(payload, r() < 0.5 ? null : { inherited: 1 });
      break;
    case 7:
      payload['toJSON'] = () => ({ replaced: true });
      break;
    case 8:
      payload[String(Math.floor(r() * 3))] = odd(); // an integer key goes first in JSON's order
      break;
    case 9: {
      const ccv = payload['custom_channel_vars'];
      if (typeof ccv === 'object' && ccv !== null && Object.isExtensible(ccv)) (ccv as Record<string, unknown>)[text(r)] = odd();
      break;
    }
    case 10:
      payload[key()] = text(r);
      break;
  }
}

function memberEventsOfFixtures(): ConferenceEvent[] {
  const out: ConferenceEvent[] = [];
  for (const name of rawFixtureNames()) {
    let frames;
    try {
      frames = new EslParser().push(readRaw(name)).filter(isEventFrame);
    } catch {
      continue; // a capture that is not an event stream
    }
    for (const f of frames) {
      const e = parseConferenceEvent(decodeEvent(f), 'fs1');
      if (e?.member) out.push(e);
    }
  }
  return out;
}

describe('participant event text', () => {
  it('is JSON.stringify of the payload for every member event of the recorded sessions', () => {
    const events = memberEventsOfFixtures();
    expect(events.length).toBeGreaterThan(50);
    for (const e of events) {
      const out = toOutboundEvent(ctx, e);
      expect(serializedPayload(out)).toBe(JSON.stringify(out.payload));
      const synthesized = toOutboundEvent(ctx, { ...e, synthesized: true });
      expect(serializedPayload(synthesized)).toBe(JSON.stringify(synthesized.payload));
    }
  });

  it('is JSON.stringify of the payload for fuzzed members, the context changing now and then', () => {
    for (let seed = 1; seed <= 20_000; seed++) {
      const r = rng(seed);
      const c: PayloadContext = r() < 0.7 ? ctx : { appName: text(r), appVersion: r() < 0.5 ? '0.1.0' : text(r), nodeName: text(r), ...(r() < 0.3 ? { routingKey: () => text(r) } : {}) };
      const out = toOutboundEvent(c, fuzzedEvent(r));
      const expected = JSON.stringify(out.payload);
      if (serializedPayload(out) !== expected) expect({ seed, text: serializedPayload(out) }).toEqual({ seed, text: expected });
    }
  });

  it('is JSON.stringify of the payload after the payload was changed before it was asked for', () => {
    for (let seed = 1; seed <= 20_000; seed++) {
      const r = rng(seed);
      const out = toOutboundEvent(ctx, fuzzedEvent(r));
      for (let i = 1 + Math.floor(r() * 3); i > 0; i--) mutate(out.payload, r);
      let expected: string | undefined;
      let thrown: unknown;
      try {
        expected = JSON.stringify(out.payload);
      } catch (err) {
        thrown = err;
      }
      if (thrown !== undefined) {
        expect(() => serializedPayload(out)).toThrow(TypeError);
        continue;
      }
      const got = serializedPayload(out);
      if (got !== expected) expect({ seed, got }).toEqual({ seed, got: expected });
    }
  });
});

describe('layoutJson', () => {
  const write = layoutJson([
    { key: 'a', kind: 'json' },
    { key: 'b', kind: 'string', optional: true },
    { key: 'c', kind: 'boolean' },
    { key: 'd', kind: 'boolean', optional: true },
    { key: 'e', kind: 'number' },
    { key: 'f', kind: 'string' },
    { key: 'g', kind: 'boolean' },
  ]);

  it.each([
    { a: {}, c: true, e: 1, f: 'x', g: false },
    { a: [1], b: 'é"', c: false, d: true, e: -0, f: '\ud800', g: true },
    { a: {}, c: true, d: false, e: NaN, f: '', g: false, h: 1, i: null, 'j"k': 'v' },
    { a: {}, c: true, e: 1, g: false, f: 'x' },
    { a: {}, c: true, e: 1, f: 'x' },
    { a: {}, b: 1, c: true, e: 1, f: 'x', g: false },
    { a: null, c: true, e: 1, f: 'x', g: false },
    { a: {}, c: 'true', e: 1, f: 'x', g: false },
    { a: {}, c: true, e: 1, f: 'x', g: false, h: undefined },
    { a: {}, c: true, e: 1, f: 'x', g: false, h: { deep: 1 } },
  ])('writes %j as JSON.stringify does', (o) => {
    expect(write(o)).toBe(JSON.stringify(o));
  });

  it('refuses a layout it cannot write', () => {
    expect(() => layoutJson([])).toThrow();
    expect(() => layoutJson([{ key: 'a', kind: 'string', optional: true }])).toThrow();
    expect(() => layoutJson([{ key: 'a', kind: 'string' }, { key: 'a', kind: 'number' }])).toThrow();
  });
});
