import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IN_FLIGHT, PENDING, PublishBacklog } from '../../src/bus/publish-backlog.js';
import { PublishFrameEncoder, publishedMessageId, type PublishFields } from '../../src/bus/publish-frames.js';
import { SeqQueue } from '../../src/bus/seq-queue.js';

const encoder = new PublishFrameEncoder({ exchange: 'conference', mandatory: false, appId: 'confmgr' });
const CHUNK = 4096;

function fields(n: number, bodyBytes = 200 + (n % 7) * 37): PublishFields {
  return { routingKey: `conference.event.r.c${n}`, messageId: `m-${n}`, timestamp: 1_700_000_000, type: 'add-member', headers: undefined, body: String(n % 10).repeat(bodyBytes) };
}

function encodedAlone(f: PublishFields): Buffer {
  const out = Buffer.alloc(encoder.maxLength(f));
  return out.subarray(0, encoder.encode(out, 0, f));
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'backlog-spill-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A backlog holding at most `chunks` chunks of 4 KiB in memory, spilling into `dir`. */
function bounded(chunks: number, compactAbove = Infinity, queues: SeqQueue[] = []): PublishBacklog {
  return new PublishBacklog(compactAbove, queues, CHUNK, { memoryBytes: chunks * CHUNK, spillDir: dir });
}

describe('PublishBacklog over its memory bound', () => {
  it('spills chunks to a file and gives every entry back byte for byte, in order, within the bound', () => {
    const b = bounded(4);
    const seqs = Array.from({ length: 400 }, (_, n) => b.append(encoder, fields(n), n % 5));
    // ~100 KiB of entries, at most 4 chunks of it in memory (spares included), the rest in the file.
    expect(b.bytesHeld).toBeLessThanOrEqual(4 * CHUNK);
    expect(b.bytesSpilled).toBeGreaterThan(20 * CHUNK);
    expect(b.spillCounts.written).toBeGreaterThan(20);
    // The file is unlinked at once: nothing in the folder.
    expect(readdirSync(dir)).toEqual([]);
    // Sent in order as the publisher does: each entry's frames, exact.
    for (let n = 0; n < 400; n++) {
      const seq = b.pending.shift();
      expect(seq).toBe(seqs[n]);
      const out = Buffer.alloc(b.byteLength(seq));
      expect(b.copyTo(seq, out, 0)).toBe(out.length);
      expect(out.equals(encodedAlone(fields(n)))).toBe(true);
      expect(b.eventId(seq)).toBe(n % 5);
      b.setState(seq, IN_FLIGHT);
      expect(b.bytesHeld).toBeLessThanOrEqual(4 * CHUNK);
    }
    // Draining in order reads each spilled chunk back once.
    expect(b.spillCounts.read).toBeLessThanOrEqual(b.spillCounts.written);
    for (const s of seqs) b.release(s);
    expect(b.slots).toBe(0);
    expect(b.bytesSpilled).toBe(0);
    expect(b.spillCounts.failed).toBe(0);
    b.close();
  });

  it('keeps in-flight entries (spilled or not) until done, and resends them first and in order after a loss', () => {
    const b = bounded(4);
    const seqs = Array.from({ length: 300 }, (_, n) => b.append(encoder, fields(n), 0));
    // 200 sent (in flight), then the connection is lost: they go back to the front, in order.
    const sent: number[] = [];
    for (let k = 0; k < 200; k++) {
      const s = b.pending.shift();
      b.copyTo(s, Buffer.alloc(b.byteLength(s)), 0);
      b.setState(s, IN_FLIGHT);
      b.setTag(s, k + 1);
      sent.push(s);
    }
    // The first 50 were confirmed before the loss.
    for (const s of sent.slice(0, 50)) b.release(s);
    const back = sent.slice(50);
    for (const s of back) b.setState(s, PENDING);
    for (let i = back.length - 1; i >= 0; i--) b.pending.unshift(back[i]!);
    // More arrive meanwhile.
    for (let n = 300; n < 400; n++) seqs.push(b.append(encoder, fields(n), 0));
    const ids: string[] = [];
    for (let s = b.pending.shift(); s >= 0; s = b.pending.shift()) {
      const out = Buffer.alloc(b.byteLength(s));
      b.copyTo(s, out, 0);
      const n = Number(publishedMessageId(out).slice(2));
      expect(out.equals(encodedAlone(fields(n)))).toBe(true);
      ids.push(publishedMessageId(out));
      b.release(s);
    }
    expect(ids).toEqual(Array.from({ length: 350 }, (_, k) => `m-${k + 50}`));
    expect(b.slots).toBe(0);
    expect(b.bytesHeld).toBeLessThanOrEqual(4 * CHUNK);
  });

  it('compacts entries that live in spilled chunks, keeping their bytes, order and state', () => {
    const sent = new SeqQueue();
    const b = bounded(4, 100, [sent]);
    const first = b.append(encoder, fields(0), 0);
    b.pending.shift();
    b.setState(first, IN_FLIGHT);
    b.setTag(first, 1);
    sent.push(first);
    for (let n = 1; n < 3000; n++) {
      b.append(encoder, fields(n), 0);
      if (b.pending.length > 60) b.release(b.pending.shift()); // overflow: drop the oldest pending
    }
    expect(b.slots).toBeLessThanOrEqual(100);
    expect(b.bytesHeld).toBeLessThanOrEqual(4 * CHUNK);
    // Space behind the blocked oldest entry does not pile up in the file either.
    expect(b.bytesSpilled).toBeLessThanOrEqual(30 * CHUNK);
    const moved = sent.at(0);
    expect(b.inFlightWith(moved, 1)).toBe(true);
    expect(b.bytes(moved).equals(encodedAlone(fields(0)))).toBe(true);
    const n0 = 3000 - 60;
    for (let k = 0; k < 60; k++) {
      const s = b.pending.at(k);
      expect(b.bytes(s).equals(encodedAlone(fields(n0 + k)))).toBe(true);
    }
    b.release(moved);
    for (let s = b.pending.shift(); s >= 0; s = b.pending.shift()) b.release(s);
    expect(b.slots).toBe(0);
    expect(b.bytesSpilled).toBe(0);
  });

  it('keeps a chunk in memory, counted, when the spill file cannot be written', () => {
    const b = new PublishBacklog(Infinity, [], CHUNK, { memoryBytes: 4 * CHUNK, spillDir: join(dir, 'missing') });
    const seqs = Array.from({ length: 200 }, (_, n) => b.append(encoder, fields(n), 0));
    expect(b.spillCounts.failed).toBeGreaterThan(0);
    expect(b.spillCounts.written).toBe(0);
    expect(b.bytesHeld).toBeGreaterThan(4 * CHUNK);
    for (let n = 0; n < 200; n++) expect(b.bytes(seqs[n]!).equals(encodedAlone(fields(n)))).toBe(true);
  });

  it('never spills without a bound, nor an entry larger than a chunk', () => {
    const free = new PublishBacklog(Infinity, [], CHUNK, { spillDir: dir });
    for (let n = 0; n < 200; n++) free.append(encoder, fields(n), 0);
    expect(free.spillCounts.written).toBe(0);
    const b = bounded(4);
    const big = fields(1, 3 * CHUNK);
    const s = b.append(encoder, big, 0);
    for (let n = 2; n < 200; n++) b.append(encoder, fields(n), 0);
    expect(b.bytes(s).equals(encodedAlone(big))).toBe(true);
  });
});
