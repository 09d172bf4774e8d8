import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decimal, defaultMsgId } from '../../src/conference/payload.js';
import type { ConferenceEvent } from '../../src/conference/types.js';

/** The id as consumers that dedupe on it know it: sha1 of the identity fields joined by `|`. */
function reference(e: ConferenceEvent): string {
  const identity = [e.node, e.coreUuid, e.sequence, e.timestampUs, e.action, e.conferenceUuid, e.member?.memberId ?? '', e.synthesized ? 's' : 'r'].join('|');
  return createHash('sha1').update(identity).digest('hex').slice(0, 16);
}

const base = {
  node: 'fs1', action: 'start-talking', conferenceName: 'room', conferenceUuid: 'c-uuid', coreUuid: 'core-1', switchname: 'sw',
  timestampUs: 1_733_000_000_123_456, sequence: 98765, known: true, details: {}, headers: {}, synthesized: false,
} as unknown as ConferenceEvent;

describe('defaultMsgId', () => {
  it('is the same id as the identity fields joined by | (received, synthesized, member, missing fields)', () => {
    const cases: ConferenceEvent[] = [
      base,
      { ...base, synthesized: true },
      { ...base, member: { memberId: 42 } } as unknown as ConferenceEvent,
      { ...base, coreUuid: undefined, sequence: undefined, conferenceUuid: null } as unknown as ConferenceEvent,
      { ...base, node: 'nöde|1', action: '', timestampUs: 0, sequence: 0 },
    ];
    for (const e of cases) expect(defaultMsgId(e)).toBe(reference(e));
    expect(defaultMsgId(base)).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('decimal', () => {
  it('is String(n) for every kind of number, timestamps in µs included', () => {
    const edges = [0, -0, 1, -1, 99_999_999, 1e8, 1e8 + 1, 123_456_789, 1_733_000_000_123_456, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 1e21, -1_733_000_000_123_456, 1e8 + 0.5, NaN, Infinity, -Infinity];
    for (const n of edges) expect(decimal(n)).toBe(String(n));
    let x = 7;
    for (let i = 0; i < 100_000; i++) {
      x = (x * 48271) % 2147483647;
      const n = Math.floor((x / 2147483647) * 2 ** 53);
      expect(decimal(n)).toBe(String(n));
      expect(defaultMsgId({ ...base, timestampUs: n })).toBe(reference({ ...base, timestampUs: n }));
    }
  });
});
