/**
 * AmqpPublisher's confirm tracking and send path against a scripted connection: what it writes is
 * read back frame by frame, and the test decides which delivery tags the "broker" acks or nacks
 * (single, multiple, out of order), when it blocks, when the socket pushes back and when the
 * connection is lost. The same behaviour against the real broker is in publisher.test.ts.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OutboundEvent } from '../../src/conference/types.js';
import { PublishFrameEncoder, publishedMessageId, publishedRoutingKey } from '../../src/bus/publish-frames.js';

class FakeSocket extends EventEmitter {
  written: Buffer[] = [];
  /** What write() answers (false: over the high-water mark). */
  writable = true;
  write(b: Buffer): boolean {
    this.written.push(Buffer.from(b));
    return this.writable;
  }
}

class FakeChannel extends EventEmitter {
  constructor(readonly ch: number) {
    super();
  }
  async assertExchange(): Promise<void> {}
}

class FakeConnection extends EventEmitter {
  readonly socket = new FakeSocket();
  readonly channel: FakeChannel;
  readonly connection: { stream: FakeSocket; frameMax: number; sentSinceLastCheck: boolean };
  closed = false;
  constructor(frameMax: number, ch: number) {
    super();
    this.channel = new FakeChannel(ch);
    this.connection = { stream: this.socket, frameMax, sentSinceLastCheck: false };
  }
  async createConfirmChannel(): Promise<FakeChannel> {
    return this.channel;
  }
  /** The broker's side of a loss: the channel and the connection close. */
  lose(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel.emit('close');
    this.emit('close');
  }
  async close(): Promise<void> {
    this.lose();
  }
  ack(deliveryTag: number, multiple = false): void {
    this.channel.emit('ack', { deliveryTag, multiple });
  }
  nack(deliveryTag: number, multiple = false): void {
    this.channel.emit('nack', { deliveryTag, multiple, requeue: false });
  }
  /** Whole publishes written so far: [frames, message id], in write order. */
  publishes(): Array<{ bytes: Buffer; id: string; key: string; frames: number }> {
    const all = Buffer.concat(this.socket.written);
    const out: Array<{ bytes: Buffer; id: string; key: string; frames: number }> = [];
    let at = 0;
    while (at < all.length) {
      expect(all[at]).toBe(1); // a method frame starts each publish
      const start = at;
      let frames = 0;
      let bodyLeft = -1;
      do {
        const size = all.readUInt32BE(at + 3);
        expect(all[at + 7 + size]).toBe(0xce);
        if (all[at] === 2) bodyLeft = all.readUInt32BE(at + 7 + 8);
        else if (all[at] === 3) bodyLeft -= size;
        at += size + 8;
        frames++;
      } while (bodyLeft !== 0 && at < all.length);
      const bytes = all.subarray(start, at);
      out.push({ bytes, id: publishedMessageId(bytes), key: publishedRoutingKey(bytes), frames });
    }
    return out;
  }
}

const connections: FakeConnection[] = [];
let nextFrameMax = 131_072;
let nextChannel = 1;

vi.mock('../../src/bus/connect.js', () => ({
  connectAmqp: async () => {
    const c = new FakeConnection(nextFrameMax, nextChannel);
    connections.push(c);
    return c;
  },
  closeWithin: async (c: FakeConnection) => c.close(),
}));

const { AmqpPublisher } = await import('../../src/bus/publisher.js');
type Publisher = InstanceType<typeof AmqpPublisher>;

function ev(n: number, conference = 'room'): OutboundEvent {
  return { event: 'add-member', conferenceId: conference, callId: `c${n}`, timestampUs: 1, payload: { n, msg_id: `m${n}` } };
}

const turns = async (k = 3): Promise<void> => {
  for (let i = 0; i < k; i++) await new Promise((r) => setImmediate(r));
};

const open: Publisher[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close(10);
  connections.length = 0;
  nextFrameMax = 131_072;
  nextChannel = 1;
});

async function started(opts: Partial<ConstructorParameters<typeof AmqpPublisher>[0]> = {}): Promise<{ p: Publisher; c: () => FakeConnection }> {
  // Every turn writes (the turn-by-turn scripts below); the coalescing of writes has its own test.
  const p = new AmqpPublisher({ url: 'amqp://fake', reconnect: { baseMs: 1, capMs: 5 }, writeCoalesceMs: 0, ...opts });
  open.push(p);
  await p.start();
  return { p, c: () => connections[connections.length - 1]! };
}

const ids = (c: FakeConnection): string[] => c.publishes().map((x) => x.id);
const range = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, k) => `m${from + k}`);

describe('AmqpPublisher confirms (scripted broker)', () => {
  it('writes a turn’s publishes in one socket write, in publish() order, each with its own frames', async () => {
    const { p, c } = await started();
    for (let n = 0; n < 100; n++) p.publish(ev(n));
    await turns();
    expect(c().socket.written.length).toBe(1);
    expect(ids(c())).toEqual(range(0, 100));
    expect(c().publishes()[3]!.key).toBe('conference.event.room.c3');
    expect(c().connection.sentSinceLastCheck).toBe(true);
    expect(p.stats()).toMatchObject({ sent: 100, inFlight: 100, confirmed: 0, buffered: 0 });
  });

  it('at a steady rate, what is published within writeCoalesceMs of a write leaves in the next write, together', async () => {
    const { p, c } = await started({ writeCoalesceMs: 20 });
    p.publish(ev(0));
    await turns();
    expect(c().socket.written.length).toBe(1); // nothing written just before: at once
    for (let n = 1; n < 6; n++) {
      p.publish(ev(n));
      await turns();
    }
    expect(c().socket.written.length).toBe(1); // held: the last write was under 20 ms ago
    await new Promise((r) => setTimeout(r, 40));
    expect(c().socket.written.length).toBe(2);
    expect(ids(c())).toEqual(range(0, 6));
    // A whole batch pending does not wait.
    const { p: q, c: qc } = await started({ writeCoalesceMs: 10_000, batchSize: 4 });
    q.publish(ev(0));
    await turns();
    for (let n = 1; n < 5; n++) q.publish(ev(n));
    await turns();
    expect(qc().socket.written.length).toBe(2);
    expect(ids(qc())).toEqual(range(0, 5));
  });

  it('a multiple ack confirms every tag up to it; single acks out of order; flush waits for the last', async () => {
    const { p, c } = await started();
    for (let n = 0; n < 10; n++) p.publish(ev(n));
    await turns();
    c().ack(4, true);
    expect(p.stats()).toMatchObject({ confirmed: 4, inFlight: 6 });
    c().ack(7);
    c().ack(5);
    expect(p.stats()).toMatchObject({ confirmed: 6, inFlight: 4 });
    c().ack(5); // a repeated ack is ignored
    expect(p.stats().confirmed).toBe(6);
    const flushed = p.flush(1000);
    c().ack(9, true);
    expect(p.stats()).toMatchObject({ confirmed: 9, inFlight: 1 });
    c().ack(10);
    expect(await flushed).toBe(true);
    expect(p.stats()).toMatchObject({ confirmed: 10, inFlight: 0, nacked: 0 });
    expect(p.stats().byEvent['add-member']!.confirmed).toBe(10);
  });

  it('keeps at most maxInFlight unconfirmed; each confirm lets the next ones out', async () => {
    const { p, c } = await started({ maxInFlight: 4 });
    for (let n = 0; n < 10; n++) p.publish(ev(n));
    await turns();
    expect(ids(c())).toEqual(range(0, 4));
    expect(p.stats()).toMatchObject({ inFlight: 4, buffered: 6 });
    c().ack(2, true);
    await turns();
    expect(ids(c())).toEqual(range(0, 6));
    c().ack(6, true);
    await turns();
    c().ack(10, true);
    await turns();
    expect(ids(c())).toEqual(range(0, 10));
    expect(await p.flush(100)).toBe(true);
  });

  it('a nacked message goes back to the front and is sent again; past maxNackRetries it is dropped (nacked)', async () => {
    const { p, c } = await started({ maxNackRetries: 1, maxInFlight: 3 });
    for (let n = 0; n < 5; n++) p.publish(ev(n));
    await turns();
    expect(ids(c())).toEqual(['m0', 'm1', 'm2']);
    c().nack(2); // m1
    c().ack(1);
    await turns();
    // m1 again before m3 (its retry precedes what was still waiting), then m3 fills the window
    expect(ids(c())).toEqual(['m0', 'm1', 'm2', 'm1', 'm3']);
    c().nack(4); // m1's second nack: over maxNackRetries
    expect(p.stats()).toMatchObject({ nacked: 2, dropped: { nacked: 1, overflow: 0, shutdown: 0 } });
    c().ack(3);
    c().ack(5);
    await turns();
    expect(ids(c()).slice(5)).toEqual(['m4']);
    c().ack(6);
    expect(await p.flush(100)).toBe(true);
    expect(p.stats()).toMatchObject({ confirmed: 4, sent: 6 });
  });

  it('a multiple nack retries every unconfirmed message up to it, in their order', async () => {
    const { p, c } = await started();
    for (let n = 0; n < 4; n++) p.publish(ev(n));
    await turns();
    c().ack(2);
    c().nack(3, true); // tags 1 and 3 (2 is already confirmed)
    await turns();
    expect(ids(c())).toEqual(['m0', 'm1', 'm2', 'm3', 'm0', 'm2']);
    expect(p.stats()).toMatchObject({ nacked: 2, confirmed: 1, inFlight: 3 });
    c().ack(6, true);
    expect(await p.flush(100)).toBe(true);
  });

  it('on connection loss every unconfirmed message is sent again first, in order, then the rest; late acks of the old channel are ignored', async () => {
    const { p, c } = await started({ maxInFlight: 5 });
    for (let n = 0; n < 8; n++) p.publish(ev(n));
    await turns();
    const first = c();
    first.ack(1);
    first.ack(3);
    first.lose();
    first.ack(5, true); // too late: that channel is gone
    expect(p.stats()).toMatchObject({ confirmed: 2, resent: 3, buffered: 6, inFlight: 0, connected: false });
    await vi.waitFor(() => expect(connections.length).toBe(2));
    await turns();
    const second = c();
    expect(ids(second)).toEqual(['m1', 'm3', 'm4', 'm5', 'm6']);
    second.ack(5, true);
    await turns();
    second.ack(6);
    expect(await p.flush(200)).toBe(true);
    expect(p.stats()).toMatchObject({ confirmed: 8, connects: 2, dropped: { overflow: 0, nacked: 0, shutdown: 0 } });
  });

  it('sends nothing while the broker blocks the connection; resumes on unblocked', async () => {
    const { p, c } = await started();
    c().emit('blocked', 'low on memory');
    for (let n = 0; n < 3; n++) p.publish(ev(n));
    await turns();
    expect(c().socket.written.length).toBe(0);
    expect(p.stats()).toMatchObject({ blocked: true, buffered: 3 });
    await p.whenBufferedBelow(1, 5000); // blocked: resolves at once (buffering is the point)
    c().emit('unblocked');
    await turns();
    expect(ids(c())).toEqual(range(0, 3));
    expect(p.stats().blocked).toBe(false);
  });

  it('overflow while the oldest waits for its confirm: memory stays bounded (compaction), confirms still match after it', async () => {
    const { p, c } = await started({ maxInFlight: 2, bufferSize: 10 });
    p.publish(ev(0));
    p.publish(ev(1));
    await turns();
    expect(ids(c())).toEqual(['m0', 'm1']);
    c().emit('blocked', 'disk alarm');
    for (let n = 2; n < 20_002; n++) p.publish(ev(n));
    expect(p.stats()).toMatchObject({ buffered: 10, inFlight: 2, dropped: { overflow: 19_990, nacked: 0, shutdown: 0 } });
    // Held slots stay within the compaction bound (2 × (bufferSize + maxInFlight) + 4096), not 20,002.
    expect((p as unknown as { backlog: { slots: number } }).backlog.slots).toBeLessThanOrEqual(2 * 12 + 4096 + 1);
    c().emit('unblocked');
    c().ack(2, true); // the two sent before compaction moved them
    expect(p.stats()).toMatchObject({ confirmed: 2, inFlight: 0 });
    await turns();
    c().ack(4, true);
    await turns();
    c().ack(6, true);
    await turns();
    c().ack(8, true);
    await turns();
    c().ack(10, true);
    await turns();
    c().ack(12, true);
    expect(ids(c())).toEqual(['m0', 'm1', ...range(19_992, 20_002)]);
    expect(await p.flush(100)).toBe(true);
    expect(p.stats()).toMatchObject({ confirmed: 12, buffered: 0, inFlight: 0 });
  });

  it('stops writing while the socket pushes back, until it drains', async () => {
    const { p, c } = await started({ batchSize: 2 });
    c().socket.writable = false;
    for (let n = 0; n < 6; n++) p.publish(ev(n));
    await turns(5);
    expect(ids(c())).toEqual(['m0', 'm1']);
    c().socket.writable = true;
    c().socket.emit('drain');
    await turns(5);
    expect(ids(c())).toEqual(range(0, 6));
  });

  it('re-frames for a connection with another channel number or a smaller frame max', async () => {
    nextFrameMax = 4096;
    nextChannel = 2;
    const { p, c } = await started();
    const big: OutboundEvent = { event: 'add-member', conferenceId: 'r', callId: 'c', timestampUs: 1, payload: { msg_id: 'big', text: 'é'.repeat(5000) } };
    p.publish(big);
    await turns();
    const [w] = c().publishes();
    expect(w!.frames).toBe(2 + 3); // method, header, 10 KB of body in three frames of ≤ 4088
    const encoder = new PublishFrameEncoder({ exchange: 'conference', mandatory: false, appId: 'confmgr' }, 4096, 2);
    const fields = { routingKey: 'conference.event.r.c', messageId: 'big', timestamp: readTimestamp(w!.bytes), type: 'add-member', headers: undefined, body: JSON.stringify(big.payload) };
    const expected = Buffer.alloc(encoder.maxLength(fields));
    expect(w!.bytes.equals(expected.subarray(0, encoder.encode(expected, 0, fields)))).toBe(true);
  });

  it('close(): events never written are dropped (shutdown), written ones reported unconfirmed', async () => {
    const { p, c } = await started({ maxInFlight: 2 });
    for (let n = 0; n < 5; n++) p.publish(ev(n));
    await turns();
    c().ack(1);
    await turns();
    expect(ids(c())).toEqual(range(0, 3));
    const result = await p.close(20);
    open.length = 0;
    expect(result).toEqual({ flushed: false, dropped: 2, unconfirmed: 2 });
    expect(p.stats()).toMatchObject({ dropped: { shutdown: 2, overflow: 0, nacked: 0 }, unconfirmedAtClose: 2, inFlight: 0, buffered: 0, confirmed: 1 });
    expect(p.publish(ev(9))).toBe('closed');
  });
});

/** The timestamp property of an encoded publish written by the publisher (its second's clock). */
function readTimestamp(bytes: Buffer): number {
  const methodSize = bytes.readUInt32BE(3);
  let at = methodSize + 8 + 7 + 14;
  at += 1 + bytes[at]!;
  at += 4 + bytes.readUInt32BE(at);
  at += 1;
  at += 1 + bytes[at]!;
  return bytes.readUInt32BE(at) * 2 ** 32 + bytes.readUInt32BE(at + 4);
}
