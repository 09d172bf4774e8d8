import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  commandRoutingKey,
  decodeSegment,
  encodeSegment,
  eventBindingPattern,
  eventRoutingKey,
  parseRoutingKey,
  RoutingKeyDecodeError,
} from '../../src/bus/routing.js';

describe('routing keys', () => {
  it('builds event and command keys', () => {
    expect(eventRoutingKey('conf-1', 'call-9')).toBe('conference.event.conf-1.call-9');
    expect(eventRoutingKey('conf-1')).toBe('conference.event.conf-1.conf-1');
    expect(commandRoutingKey('conf-1')).toBe('conference.command.conf-1');
    expect(eventBindingPattern()).toBe('conference.event.*.*');
    expect(eventBindingPattern('room 1')).toBe('conference.event.room+1.*');
  });

  it('encodes like Kazoo amqp_util:encode/1 for ids Kazoo handles', () => {
    // Kazoo: safe [A-Za-z0-9_~-], space → "+", everything else %XX of the UTF-8 bytes, uppercase.
    expect(encodeSegment('a.b')).toBe('a%2Eb');
    expect(encodeSegment('a b')).toBe('a+b');
    expect(encodeSegment('x*y#z')).toBe('x%2Ay%23z');
    expect(encodeSegment('100%+')).toBe('100%25%2B');
    expect(encodeSegment('é')).toBe('%C3%A9');
    expect(encodeSegment('sales@example.com')).toBe('sales%40example%2Ecom');
    expect(encodeSegment('~_-AZaz09')).toBe('~_-AZaz09');
    expect(encodeSegment('')).toBe('');
  });

  it('never lets a lone * or # act as a wildcard (deliberate difference from Kazoo)', () => {
    expect(encodeSegment('*')).toBe('%2A');
    expect(encodeSegment('#')).toBe('%23');
    expect(eventRoutingKey('*', '#')).toBe('conference.event.%2A.%23');
  });

  it('every encoded segment is one literal topic word', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (id) => {
        expect(encodeSegment(id)).toMatch(/^[A-Za-z0-9_~%+-]*$/);
      }),
    );
  });

  it('decode inverts encode for any string (ASCII, unicode, specials)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary-ascii' }), fc.constantFrom('.', '*', '#', ' ', '%', '+', '..', 'a.b c*#')),
        (id) => {
          expect(decodeSegment(encodeSegment(id))).toBe(id);
          const parsed = parseRoutingKey(eventRoutingKey(id, `${id}!`));
          if (eventRoutingKey(id, `${id}!`).length <= 255 && !eventRoutingKey(id, `${id}!`).includes('=')) {
            expect(parsed).toEqual({ kind: 'event', conferenceId: id, callId: `${id}!` });
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('rejects text encode could not have produced', () => {
    for (const bad of ['%', '%4', '%ZZ', 'a.b', 'a*', '%C3', 'é']) {
      expect(() => decodeSegment(bad)).toThrow(RoutingKeyDecodeError);
    }
    expect(parseRoutingKey('conference.event.a')).toBeUndefined();
    expect(parseRoutingKey('conference.event.a.%ZZ')).toBeUndefined();
    expect(parseRoutingKey('conference.command.room%2E1')).toEqual({ kind: 'command', conferenceId: 'room.1' });
  });

  it('keeps keys within 255 bytes by hashing over-long ids deterministically', () => {
    const long = 'x'.repeat(300);
    const key = eventRoutingKey(long, 'call-1');
    expect(key.length).toBeLessThanOrEqual(255);
    expect(key).toMatch(/^conference\.event\.=[0-9a-f]{40}\.call-1$/);
    expect(eventRoutingKey(long, 'call-1')).toBe(key);
    expect(eventRoutingKey(`${long}y`, 'call-1')).not.toBe(key);
    const both = eventRoutingKey('é'.repeat(100), 'ü'.repeat(100));
    expect(both.length).toBeLessThanOrEqual(255);
    expect(parseRoutingKey(both)).toBeUndefined();
  });
});
