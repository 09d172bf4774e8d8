import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FRAME_MAX,
  PublishFrameEncoder,
  largestFrame,
  publishedMessageId,
  publishedRoutingKey,
  reframe,
  type PublishFields,
  type PublishHeaders,
} from '../../src/bus/publish-frames.js';

// amqplib's own encoder, the reference: the broker must not be able to tell the two apart.
const require = createRequire(import.meta.url);
// Its internals are not in its package exports: reached by path.
const amqplibLib = join(dirname(require.resolve('amqplib')), 'lib');
const defs = require(join(amqplibLib, 'defs.js')) as {
  BasicPublish: number;
  BasicProperties: number;
  encodeMethod(id: number, channel: number, fields: unknown): Buffer;
  encodeProperties(id: number, channel: number, size: number, fields: unknown): Buffer;
};
const Args = require(join(amqplibLib, 'api_args.js')) as { publish(exchange: string, key: string, options: unknown): unknown };
const { makeBodyFrame } = require(join(amqplibLib, 'frame.js')) as { makeBodyFrame(channel: number, payload: Buffer): Buffer };

/** What amqplib's ConfirmChannel.publish writes for the same publish (connection.sendMessage / sendContent). */
function amqplibFrames(exchange: string, mandatory: boolean, appId: string, f: PublishFields, channel = 1, frameMax = DEFAULT_FRAME_MAX): Buffer {
  const fields = Args.publish(exchange, f.routingKey, {
    persistent: true,
    contentType: 'application/json',
    appId,
    mandatory,
    messageId: f.messageId,
    timestamp: f.timestamp,
    type: f.type,
    headers: f.headers,
  });
  const content = Buffer.from(f.body);
  const parts = [defs.encodeMethod(defs.BasicPublish, channel, fields), defs.encodeProperties(defs.BasicProperties, channel, content.length, fields)];
  const max = frameMax - 8;
  for (let at = 0; at < content.length; at += max) parts.push(makeBodyFrame(channel, content.subarray(at, Math.min(content.length, at + max))));
  return Buffer.concat(parts);
}

function ours(exchange: string, mandatory: boolean, appId: string, f: PublishFields, frameMax = DEFAULT_FRAME_MAX, channel = 1): Buffer {
  const encoder = new PublishFrameEncoder({ exchange, mandatory, appId }, frameMax, channel);
  const room = encoder.maxLength(f);
  const out = Buffer.alloc(room + 10, 0xaa);
  const end = encoder.encode(out, 5, f);
  expect(end - 5).toBeLessThanOrEqual(room);
  expect(out[end]).toBe(0xaa); // nothing written past the end
  return out.subarray(5, end);
}

const base: PublishFields = {
  routingKey: 'conference.event.room%2E1.call-1',
  messageId: 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3',
  timestamp: 1_764_000_000,
  type: 'add-member',
  headers: undefined,
  body: JSON.stringify({ event: 'add-member', conference_id: 'room.1', call_id: 'call-1', talking: false }),
};

describe('PublishFrameEncoder: byte-for-byte amqplib', () => {
  it('method, content header and body frames of a plain publish', () => {
    expect(ours('conference', false, 'confmgr', base).equals(amqplibFrames('conference', false, 'confmgr', base))).toBe(true);
  });

  it('with the identity headers NodeGate adds (strings and every integer width), mandatory, non-ASCII', () => {
    const headers: PublishHeaders = { 'x-confmgr-node': 'fs1', 'x-confmgr-core-uuid': 'd1c2-é', 'x-confmgr-seq': 1, s16: 300, s32: 70_000, s64: 2 ** 40, neg: -129, dbl: 1.5 };
    const f = { ...base, headers, routingKey: 'conference.event.r+%C3%A9.c+1', body: JSON.stringify({ name: 'Zoë ☃ 𝄞' }) };
    expect(ours('conf é', true, 'app', f).equals(amqplibFrames('conf é', true, 'app', f))).toBe(true);
  });

  it('an empty body has no body frame; a body over the frame max is split as amqplib splits it', () => {
    const empty = { ...base, body: '' };
    expect(ours('x', false, 'confmgr', empty).equals(amqplibFrames('x', false, 'confmgr', empty))).toBe(true);
    const big = { ...base, body: 'é'.repeat(10_000) + 'x'.repeat(3) };
    expect(ours('x', false, 'confmgr', big, 4096).equals(amqplibFrames('x', false, 'confmgr', big, 1, 4096))).toBe(true);
    expect(ours('x', false, 'confmgr', big).equals(amqplibFrames('x', false, 'confmgr', big))).toBe(true);
    expect(largestFrame(ours('x', false, 'confmgr', big, 4096))).toBe(4088);
  });

  it('another channel number', () => {
    expect(ours('conference', false, 'confmgr', base, DEFAULT_FRAME_MAX, 7).equals(amqplibFrames('conference', false, 'confmgr', base, 7))).toBe(true);
  });

  it('any fields (property-based)', () => {
    const str = (max: number) => fc.string({ unit: 'grapheme', maxLength: max });
    fc.assert(
      fc.property(
        fc.record({
          routingKey: str(60),
          messageId: str(60),
          timestamp: fc.integer({ min: 0, max: 2 ** 40 }),
          type: str(30),
          body: str(3000),
          headers: fc.option(fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.oneof(str(40), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }))), { nil: undefined }),
        }),
        fc.constantFrom(4096, 5000, DEFAULT_FRAME_MAX),
        fc.boolean(),
        (f, frameMax, mandatory) => {
          let reference: Buffer;
          try {
            reference = amqplibFrames('ex', mandatory, 'confmgr', f, 1, frameMax);
          } catch {
            // A number amqplib cannot encode either (an integer-valued double below -2^63): refused too.
            expect(() => ours('ex', mandatory, 'confmgr', f, frameMax)).toThrow(RangeError);
            return;
          }
          expect(ours('ex', mandatory, 'confmgr', f, frameMax).equals(reference)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('re-framing and reading back an encoded publish', () => {
  it('reframe(): another channel and a smaller frame max give amqplib’s frames for those', () => {
    const big = { ...base, body: 'b'.repeat(9000) };
    const encoded = ours('conference', false, 'confmgr', big);
    expect(reframe(encoded, 3, 4096).equals(amqplibFrames('conference', false, 'confmgr', big, 3, 4096))).toBe(true);
    expect(reframe(ours('conference', false, 'confmgr', base), 1, DEFAULT_FRAME_MAX).equals(amqplibFrames('conference', false, 'confmgr', base))).toBe(true);
  });

  it('publishedMessageId / publishedRoutingKey', () => {
    const f = { ...base, headers: { 'x-confmgr-node': 'fs1', n: 5 } };
    const bytes = ours('conference', false, 'confmgr', f);
    expect(publishedMessageId(bytes)).toBe(base.messageId);
    expect(publishedRoutingKey(bytes)).toBe(base.routingKey);
  });

  it('refuses a short string over 255 bytes (routing key, message id)', () => {
    const encoder = new PublishFrameEncoder({ exchange: 'x', mandatory: false, appId: 'confmgr' });
    expect(() => encoder.maxLength({ ...base, routingKey: 'k'.repeat(256) })).toThrow(RangeError);
  });
});
