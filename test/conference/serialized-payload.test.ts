import { describe, expect, it } from 'vitest';
import { SerializableEvent, serializedPayload } from '../../src/conference/serialized-payload.js';
import { toOutboundEvent } from '../../src/conference/payload.js';
import { blackholeEventText } from '../../src/api/websocket.js';
import type { OutboundEvent } from '../../src/conference/types.js';

const payloads: Record<string, unknown>[] = [
  { event: 'add-member', conference_id: 'room-1', call_id: 'a', participant_id: 7, speak: true, custom_channel_vars: { account_id: 'acc', precedence: 5 } },
  { event: 'play-file', details: { File: 'C:\\sounds\\"hi".wav', Path: 'line\nbreak\ttab' }, caller_id_name: 'Zoë 李 😀', n: null, f: 1.5e-7 },
  {},
];

function event(payload: Record<string, unknown>, callId?: string): OutboundEvent {
  return { event: 'add-member', conferenceId: 'rööm "1"', ...(callId ? { callId } : {}), timestampUs: 1, payload };
}

describe('serializedPayload', () => {
  it('is exactly JSON.stringify of the payload', () => {
    for (const p of payloads) expect(serializedPayload(event(p))).toBe(JSON.stringify(p));
  });

  it('serializes the payload of an event toOutboundEvent built once, whoever asks (publisher, WebSocket hub)', () => {
    let reads = 0;
    const payload = { event: 'x', get counted() { reads++; return reads; } };
    const e = new SerializableEvent('x', 'room', 'call', 1, payload, false);
    const first = serializedPayload(e);
    expect(serializedPayload(e)).toBe(first);
    expect(reads).toBe(1);
    expect(first).toBe('{"event":"x","counted":1}');
  });

  it('gives a payload built by toOutboundEvent its JSON.stringify text, msg_id included', () => {
    const out = toOutboundEvent(
      { appName: 'confmgr', appVersion: '1', nodeName: 'n@h' },
      {
        node: 'fs1', action: 'conference-create', conferenceName: 'room', conferenceUuid: 'u', timestampUs: 1_700_000_000_000_000,
        coreUuid: 'core', sequence: 42, details: {}, headers: {},
      } as never,
    );
    const before = JSON.stringify(out.payload);
    expect(serializedPayload(out)).toBe(before);
    expect(serializedPayload(out)).toBe(before);
    expect(Object.keys(out)).toEqual(['event', 'conferenceId', 'timestampUs', 'synthesized', 'payload']);
    expect(JSON.parse(serializedPayload(out)).msg_id).toBe(out.payload.msg_id);
  });
});

describe('blackholeEventText', () => {
  it('is byte-identical to JSON.stringify of the blackhole event object', () => {
    for (const p of payloads) {
      for (const callId of [undefined, 'call "x" \u2028']) {
        for (const binding of ['conference.event.*.*', 'conference.event.rööm "1".*']) {
          const e = event(p, callId);
          const object = {
            action: 'event',
            subscribed_key: binding,
            subscription_key: binding,
            name: e.event,
            routing_key: `conference.event.${e.conferenceId}.${e.callId ?? e.conferenceId}`,
            data: e.payload,
          };
          expect(Buffer.from(blackholeEventText(binding, e))).toEqual(Buffer.from(JSON.stringify(object)));
        }
      }
    }
  });
});

describe('serializedPayload leaves the payload as it was', () => {
  it('adds no key JSON, spreads, Object.keys or equality see, and serializes a frozen payload', () => {
    const p = { event: 'x', n: 1 };
    const e = event(p);
    serializedPayload(e);
    expect(Object.keys(e)).toEqual(['event', 'conferenceId', 'timestampUs', 'payload']);
    expect(e).toStrictEqual({ event: 'add-member', conferenceId: 'rööm "1"', timestampUs: 1, payload: { event: 'x', n: 1 } });
    expect(Object.keys(p)).toEqual(['event', 'n']);
    expect({ ...p }).toEqual({ event: 'x', n: 1 });
    expect(p).toStrictEqual({ event: 'x', n: 1 });
    expect(JSON.stringify(p)).toBe('{"event":"x","n":1}');
    const frozen = Object.freeze({ event: 'y' });
    expect(serializedPayload(Object.freeze(event(frozen)))).toBe('{"event":"y"}');
  });
});
