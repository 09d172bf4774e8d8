import { describe, expect, it } from 'vitest';
import { DONE, IN_FLIGHT, PENDING, PublishBacklog } from '../../src/bus/publish-backlog.js';
import { PublishFrameEncoder, publishedMessageId, type PublishFields } from '../../src/bus/publish-frames.js';
import { SeqQueue } from '../../src/bus/seq-queue.js';

const encoder = new PublishFrameEncoder({ exchange: 'conference', mandatory: false, appId: 'confmgr' });

function fields(n: number, bodyBytes = 200): PublishFields {
  return { routingKey: `conference.event.r.c${n}`, messageId: `m-${n}`, timestamp: 1_700_000_000, type: 'add-member', headers: undefined, body: 'x'.repeat(bodyBytes) };
}

function encodedAlone(f: PublishFields): Buffer {
  const out = Buffer.alloc(encoder.maxLength(f));
  return out.subarray(0, encoder.encode(out, 0, f));
}

describe('PublishBacklog', () => {
  it('holds each entry’s frames as encoded, queues it pending in order, and reclaims done entries from the oldest end', () => {
    const b = new PublishBacklog(Infinity, [], 4096);
    const seqs = Array.from({ length: 50 }, (_, n) => b.append(encoder, fields(n), n % 3));
    expect(b.pending.length).toBe(50);
    expect(b.slots).toBe(50);
    for (let n = 0; n < 50; n++) {
      expect(b.bytes(seqs[n]!).equals(encodedAlone(fields(n)))).toBe(true);
      expect(b.eventId(seqs[n]!)).toBe(n % 3);
      expect(b.state(seqs[n]!)).toBe(PENDING);
      const out = Buffer.alloc(b.byteLength(seqs[n]!));
      expect(b.copyTo(seqs[n]!, out, 0)).toBe(out.length);
      expect(out.equals(encodedAlone(fields(n)))).toBe(true);
    }
    // Several chunks of 4 KiB: entries never straddle one.
    expect(b.bytesHeld).toBeGreaterThanOrEqual(4 * 4096);
    // Done out of order: nothing is reclaimed until the oldest is done.
    b.release(seqs[1]!);
    expect(b.slots).toBe(50);
    b.release(seqs[0]!);
    expect(b.slots).toBe(48);
    for (const s of seqs.slice(2)) b.release(s);
    expect(b.slots).toBe(0);
    // Empty: only the newest chunk and the spares stay.
    expect(b.bytesHeld).toBeLessThanOrEqual(3 * 4096);
  });

  it('tracks state, delivery tag and nacks per entry; inFlightWith matches only the current send', () => {
    const b = new PublishBacklog();
    const s = b.append(encoder, fields(1), 0);
    b.setState(s, IN_FLIGHT);
    b.setTag(s, 7);
    expect(b.inFlightWith(s, 7)).toBe(true);
    expect(b.inFlightWith(s, 6)).toBe(false);
    expect(b.addNack(s)).toBe(1);
    expect(b.addNack(s)).toBe(2);
    b.release(s);
    expect(b.inFlightWith(s, 7)).toBe(false);
    expect(b.state(b.append(encoder, fields(2), 0))).toBe(PENDING);
  });

  it('gives an entry larger than a chunk a chunk of its own', () => {
    const b = new PublishBacklog(Infinity, [], 1024);
    const big = fields(1, 10_000);
    const s = b.append(encoder, big, 0);
    const t = b.append(encoder, fields(2), 0);
    expect(b.bytes(s).equals(encodedAlone(big))).toBe(true);
    expect(b.bytes(t).equals(encodedAlone(fields(2)))).toBe(true);
  });

  it('grows its slot index past the initial capacity without losing entries', () => {
    const b = new PublishBacklog();
    const seqs = Array.from({ length: 5000 }, (_, n) => b.append(encoder, fields(n, 20), n));
    for (let n = 0; n < 5000; n += 499) {
      expect(publishedMessageId(b.bytes(seqs[n]!))).toBe(`m-${n}`);
      expect(b.eventId(seqs[n]!)).toBe(n);
    }
  });

  it('compacts when done entries pile up behind an unfinished oldest one, remapping every queue', () => {
    // The oldest entry is in flight (a blocked broker never confirms it); newer ones are dropped as
    // the buffer overflows. Without compaction their slots and bytes would be held behind it.
    const sent = new SeqQueue();
    const b = new PublishBacklog(100, [sent], 4096);
    const oldest = b.pending.shift();
    expect(oldest).toBe(-1);
    const first = b.append(encoder, fields(0), 0);
    b.pending.shift();
    b.setState(first, IN_FLIGHT);
    b.setTag(first, 1);
    sent.push(first);
    for (let n = 1; n < 1000; n++) {
      b.append(encoder, fields(n), 0);
      if (b.pending.length > 10) b.release(b.pending.shift()); // overflow: drop the oldest pending
    }
    expect(b.slots).toBeLessThanOrEqual(100);
    expect(b.pending.length).toBe(10);
    // The in-flight entry survived with its bytes, state and tag, under its new seq.
    const moved = sent.at(0);
    expect(b.inFlightWith(moved, 1)).toBe(true);
    expect(publishedMessageId(b.bytes(moved))).toBe('m-0');
    // The pending ones are the newest ten, in order.
    const ids = Array.from({ length: 10 }, (_, k) => publishedMessageId(b.bytes(b.pending.at(k))));
    expect(ids).toEqual(Array.from({ length: 10 }, (_, k) => `m-${990 + k}`));
    expect(b.bytesHeld).toBeLessThan(40 * 4096);
    b.release(moved);
    for (let s = b.pending.shift(); s >= 0; s = b.pending.shift()) b.release(s);
    expect(b.slots).toBe(0);
    expect(b.state(moved)).toBe(DONE);
  });
});

describe('SeqQueue', () => {
  it('is a growable deque of numbers', () => {
    const q = new SeqQueue(16);
    for (let i = 0; i < 100; i++) q.push(i + 2 ** 40);
    q.unshift(7);
    expect(q.length).toBe(101);
    expect(q.peek()).toBe(7);
    expect(q.shift()).toBe(7);
    expect(q.at(99)).toBe(99 + 2 ** 40);
    for (let i = 0; i < 100; i++) expect(q.shift()).toBe(i + 2 ** 40);
    expect(q.shift()).toBe(-1);
    expect(q.peek()).toBe(-1);
  });
});
