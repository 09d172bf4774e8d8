/** The hub's batched text frames, read back by ws's own frame parser as a client reads them. */
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { textFrames } from '../../src/api/websocket.js';

// ws's frame parser (not in its type declarations): a Writable emitting each message it parses.
const { Receiver } = createRequire(import.meta.url)('ws') as { Receiver: new (o: { isServer: boolean; maxPayload: number }) => Writable };

function readFrames(buf: Buffer): Promise<Array<{ text: string; binary: boolean }>> {
  return new Promise((resolve, reject) => {
    const got: Array<{ text: string; binary: boolean }> = [];
    const receiver = new Receiver({ isServer: false, maxPayload: 0 });
    receiver.on('message', (data: Buffer, binary: boolean) => got.push({ text: data.toString('utf8'), binary }));
    receiver.on('error', reject);
    receiver.write(buf, () => resolve(got));
  });
}

describe('textFrames', () => {
  it('frames every length form (7-bit, 16-bit, 64-bit) and multi-byte text, in order, as text messages', async () => {
    const texts = ['', 'a', 'x'.repeat(125), 'y'.repeat(126), 'z'.repeat(65_535), 'w'.repeat(65_536), '{"name":"Zoë 日本 😀"}', 'é'.repeat(63), 'é'.repeat(64)];
    const buf = textFrames(texts);
    const got = await readFrames(buf);
    expect(got.map((m) => m.text)).toEqual(texts);
    expect(got.every((m) => !m.binary)).toBe(true);
    // Nothing beyond the frames: each is a 2-, 4- or 10-byte header and its UTF-8 bytes.
    const size = texts.reduce((n, t) => {
      const b = Buffer.byteLength(t);
      return n + b + (b < 126 ? 2 : b < 65_536 ? 4 : 10);
    }, 0);
    expect(buf.length).toBe(size);
  });
});
