/**
 * The publisher's backlog off the V8 heap: every accepted event is encoded once, as the AMQP frames
 * of its publish, into a ring of large preallocated byte chunks, and described by one slot in a few
 * typed arrays (chunk, offset, length, state, …). An entry keeps its bytes until it is done
 * (confirmed, dropped), so resending after a reconnect or a nack reuses them; space is reclaimed
 * from the oldest end as entries finish, and a chunk goes back to the spare list once every entry in
 * it is done. A flood's backlog is then a few large Buffers instead of two heap objects per event for
 * the garbage collector to trace and promote.
 *
 * Slots are numbered by a sequence that only grows (`seq`); the queue of entries waiting to be sent
 * (`pending`) holds seqs, so a nacked or resent entry can go back to its front without moving bytes.
 */
import type { PublishFields, PublishFrameEncoder } from './publish-frames.js';
import { SeqQueue } from './seq-queue.js';

export const PENDING = 0;
export const IN_FLIGHT = 1;
export const DONE = 2;

/** Chunk size: large enough that the per-chunk waste (at most one entry's reservation) is small. */
const DEFAULT_CHUNK_BYTES = 1 << 20;
/** Freed chunks kept for reuse, so a backlog that fills and empties does not allocate each time. */
const SPARE_CHUNKS = 2;

export class PublishBacklog {
  /** Waiting to be sent, in send order. */
  readonly pending = new SeqQueue();

  private chunks: Buffer[] = [];
  /** Number of `chunks[0]`; chunk numbers only grow. */
  private chunkBase = 0;
  private spare: Buffer[] = [];
  /** Write position in the newest chunk. */
  private tailOffset = 0;

  private cap = 1024;
  private mask = this.cap - 1;
  private chunkOf = new Int32Array(this.cap);
  private offsetOf = new Int32Array(this.cap);
  private lengthOf = new Int32Array(this.cap);
  private eventOf = new Int32Array(this.cap);
  private stateOf = new Uint8Array(this.cap);
  private nacksOf = new Uint8Array(this.cap);
  private tagOf = new Float64Array(this.cap);
  /** Oldest slot not yet reclaimed, and the next slot to hand out. */
  private head = 0;
  private tail = 0;

  /**
   * @param compactAbove slots held past which `append` moves the live entries together: entries done
   *   behind an older unfinished one (dropped while the oldest waits for its confirm on a blocked
   *   connection) would otherwise hold their slot and bytes for as long as that one waits.
   * @param queues other queues of seqs (the in-flight window) remapped by a compaction, as `pending` is.
   */
  constructor(
    private readonly compactAbove = Infinity,
    private readonly queues: SeqQueue[] = [],
    private readonly chunkBytes = DEFAULT_CHUNK_BYTES,
  ) {}

  /** Slots held (pending, in flight, or done behind an older unfinished one). */
  get slots(): number {
    return this.tail - this.head;
  }

  /** Bytes of chunk memory held (spares included). */
  get bytesHeld(): number {
    let n = 0;
    for (const c of this.chunks) n += c.length;
    for (const c of this.spare) n += c.length;
    return n;
  }

  /** Encodes one publish into the ring and queues it at the end of `pending`; returns its seq. */
  append(encoder: PublishFrameEncoder, fields: PublishFields, eventId: number): number {
    if (this.tail - this.head >= this.compactAbove) this.compact();
    const room = encoder.maxLength(fields);
    let chunk = this.chunks[this.chunks.length - 1];
    if (chunk === undefined || chunk.length - this.tailOffset < room) chunk = this.newChunk(room);
    const start = this.tailOffset;
    const end = encoder.encode(chunk, start, fields);
    this.tailOffset = end;
    if (this.tail - this.head === this.cap) this.grow();
    const seq = this.tail++;
    const i = seq & this.mask;
    this.chunkOf[i] = this.chunkBase + this.chunks.length - 1;
    this.offsetOf[i] = start;
    this.lengthOf[i] = end - start;
    this.eventOf[i] = eventId;
    this.stateOf[i] = PENDING;
    this.nacksOf[i] = 0;
    this.tagOf[i] = 0;
    this.pending.push(seq);
    return seq;
  }

  /** The encoded frames of an entry (a view into the ring: valid until the entry is done). */
  bytes(seq: number): Buffer {
    const i = seq & this.mask;
    const off = this.offsetOf[i]!;
    return this.chunks[this.chunkOf[i]! - this.chunkBase]!.subarray(off, off + this.lengthOf[i]!);
  }

  byteLength(seq: number): number {
    return this.lengthOf[seq & this.mask]!;
  }

  /** Copies an entry's frames into `out` at `at`; returns the end offset. */
  copyTo(seq: number, out: Buffer, at: number): number {
    const i = seq & this.mask;
    const off = this.offsetOf[i]!;
    return at + this.chunks[this.chunkOf[i]! - this.chunkBase]!.copy(out, at, off, off + this.lengthOf[i]!);
  }

  /** The entry `seq` is still held, in flight, and was last sent with delivery tag `tag`. */
  inFlightWith(seq: number, tag: number): boolean {
    if (seq < this.head || seq >= this.tail) return false;
    const i = seq & this.mask;
    return this.stateOf[i] === IN_FLIGHT && this.tagOf[i] === tag;
  }

  eventId(seq: number): number {
    return this.eventOf[seq & this.mask]!;
  }

  state(seq: number): number {
    return this.stateOf[seq & this.mask]!;
  }

  setState(seq: number, state: number): void {
    this.stateOf[seq & this.mask] = state;
  }

  /** The delivery tag of an entry's current send (0: not sent on the current channel). */
  tag(seq: number): number {
    return this.tagOf[seq & this.mask]!;
  }

  setTag(seq: number, tag: number): void {
    this.tagOf[seq & this.mask] = tag;
  }

  /** Counts one more nack of an entry; returns how many it had. */
  addNack(seq: number): number {
    const i = seq & this.mask;
    const n = Math.min(255, this.nacksOf[i]! + 1);
    this.nacksOf[i] = n;
    return n;
  }

  /** Marks an entry done; its space is reclaimed once every older entry is done too. */
  release(seq: number): void {
    this.stateOf[seq & this.mask] = DONE;
    if (seq === this.head) this.reclaim();
  }

  private reclaim(): void {
    while (this.head < this.tail && this.stateOf[this.head & this.mask] === DONE) this.head++;
    if (this.head === this.tail) {
      // Empty: every chunk but the newest can go, and the newest is written from its start again.
      while (this.chunks.length > 1) this.freeOldestChunk();
      this.tailOffset = 0;
      return;
    }
    const oldestInUse = this.chunkOf[this.head & this.mask]!;
    while (this.chunkBase < oldestInUse) this.freeOldestChunk();
  }

  /**
   * Moves every unfinished entry, in order, into fresh chunks and slots with new seqs, and rewrites
   * the seqs in `pending` and the other queues (a done entry's seq becomes -1 there).
   */
  private compact(): void {
    const live: number[] = [];
    for (let s = this.head; s < this.tail; s++) if (this.stateOf[s & this.mask] !== DONE) live.push(s);
    const old = {
      chunks: this.chunks,
      chunkBase: this.chunkBase,
      mask: this.mask,
      chunkOf: this.chunkOf,
      offsetOf: this.offsetOf,
      lengthOf: this.lengthOf,
      eventOf: this.eventOf,
      stateOf: this.stateOf,
      nacksOf: this.nacksOf,
      tagOf: this.tagOf,
    };
    let cap = 1024;
    while (cap < live.length * 2) cap *= 2;
    this.cap = cap;
    this.mask = cap - 1;
    this.chunkOf = new Int32Array(cap);
    this.offsetOf = new Int32Array(cap);
    this.lengthOf = new Int32Array(cap);
    this.eventOf = new Int32Array(cap);
    this.stateOf = new Uint8Array(cap);
    this.nacksOf = new Uint8Array(cap);
    this.tagOf = new Float64Array(cap);
    this.chunkBase += this.chunks.length;
    this.chunks = [];
    this.tailOffset = 0;
    const firstNew = this.tail;
    const remap = new Map<number, number>();
    for (let k = 0; k < live.length; k++) {
      const s = live[k]!;
      const o = s & old.mask;
      const len = old.lengthOf[o]!;
      let chunk = this.chunks[this.chunks.length - 1];
      if (chunk === undefined || chunk.length - this.tailOffset < len) chunk = this.newChunk(len);
      const src = old.chunks[old.chunkOf[o]! - old.chunkBase]!;
      src.copy(chunk, this.tailOffset, old.offsetOf[o]!, old.offsetOf[o]! + len);
      const seq = firstNew + k;
      const i = seq & this.mask;
      this.chunkOf[i] = this.chunkBase + this.chunks.length - 1;
      this.offsetOf[i] = this.tailOffset;
      this.lengthOf[i] = len;
      this.eventOf[i] = old.eventOf[o]!;
      this.stateOf[i] = old.stateOf[o]!;
      this.nacksOf[i] = old.nacksOf[o]!;
      this.tagOf[i] = old.tagOf[o]!;
      this.tailOffset += len;
      remap.set(s, seq);
    }
    this.head = firstNew;
    this.tail = firstNew + live.length;
    for (const q of [this.pending, ...this.queues]) {
      const items: number[] = [];
      while (q.length > 0) items.push(q.shift());
      for (const s of items) q.push(remap.get(s) ?? -1);
    }
    for (const c of old.chunks) if (this.spare.length < SPARE_CHUNKS && c.length === this.chunkBytes) this.spare.push(c);
  }

  private freeOldestChunk(): void {
    const c = this.chunks.shift()!;
    this.chunkBase++;
    if (this.spare.length < SPARE_CHUNKS && c.length === this.chunkBytes) this.spare.push(c);
  }

  private newChunk(room: number): Buffer {
    let c: Buffer | undefined;
    if (room <= this.chunkBytes) c = this.spare.pop() ?? Buffer.allocUnsafeSlow(this.chunkBytes);
    else c = Buffer.allocUnsafeSlow(room); // an entry over the chunk size gets a chunk of its own
    this.chunks.push(c);
    this.tailOffset = 0;
    return c;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const mask = cap - 1;
    const move = <A extends Int32Array | Uint8Array | Float64Array>(from: A, to: A): A => {
      for (let s = this.head; s < this.tail; s++) to[s & mask] = from[s & this.mask]!;
      return to;
    };
    this.chunkOf = move(this.chunkOf, new Int32Array(cap));
    this.offsetOf = move(this.offsetOf, new Int32Array(cap));
    this.lengthOf = move(this.lengthOf, new Int32Array(cap));
    this.eventOf = move(this.eventOf, new Int32Array(cap));
    this.stateOf = move(this.stateOf, new Uint8Array(cap));
    this.nacksOf = move(this.nacksOf, new Uint8Array(cap));
    this.tagOf = move(this.tagOf, new Float64Array(cap));
    this.cap = cap;
    this.mask = mask;
  }
}
