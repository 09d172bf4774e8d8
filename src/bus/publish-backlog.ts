/**
 * The publisher's backlog off the V8 heap: every accepted event is encoded once, as the AMQP frames
 * of its publish, into a ring of large byte chunks, and described by one slot in a few typed arrays
 * (chunk, offset, length, state, …). An entry keeps its bytes until it is done (confirmed, dropped),
 * so resending after a reconnect or a nack reuses them; space is reclaimed from the oldest end as
 * entries finish, and a chunk is freed once every entry in it is done. A flood's backlog is then a
 * few large Buffers instead of two heap objects per event for the garbage collector to trace.
 *
 * Memory bound: past `memoryBytes` of chunks, a chunk is written to a spill file (spill-file.ts) and
 * its buffer reused; it is read back when an entry in it is next needed (sent, resent, compacted).
 * The chunks spilled first are the newest full ones (sent last), so a backlog that drains in order
 * writes and reads each spilled chunk once, and a backlog within the bound never touches the file.
 *
 * Slots are numbered by a sequence that only grows (`seq`); the queue of entries waiting to be sent
 * (`pending`) holds seqs, so a nacked or resent entry can go back to its front without moving bytes.
 */
import type { PublishFields, PublishFrameEncoder } from './publish-frames.js';
import { SeqQueue } from './seq-queue.js';
import { SpillFile } from './spill-file.js';

export const PENDING = 0;
export const IN_FLIGHT = 1;
export const DONE = 2;

/** Chunk size: large enough that the per-chunk waste (at most one entry's reservation) is small. */
const DEFAULT_CHUNK_BYTES = 1 << 20;
/**
 * Freed chunks kept for reuse once the backlog is empty, so one that fills and empties does not
 * allocate each time. While it holds entries, a bounded backlog keeps every freed chunk up to its
 * bound instead: a dropped buffer is only freed by V8's next full collection, and under a flood
 * tens of them would wait for it, over the bound.
 */
const SPARE_CHUNKS = 2;
/** Chunk buffers always allowed: the newest, the next to send and the two a compaction copies between. */
const MIN_CHUNKS_IN_MEMORY = 4;

interface Chunk {
  /** The bytes, or undefined while the chunk is only in the spill file. */
  buf: Buffer | undefined;
  readonly size: number;
  /** Spill-file slot holding an exact copy of the chunk, or -1. */
  slot: number;
}

export interface BacklogMemoryOptions {
  /** Chunk bytes held in memory before chunks are spilled to a file (default: no bound, never spilled). */
  memoryBytes?: number;
  /** Folder of the spill file (default: the OS temporary folder). */
  spillDir?: string;
}

export class PublishBacklog {
  /** Waiting to be sent, in send order. */
  readonly pending = new SeqQueue();

  private chunks: Chunk[] = [];
  /** Number of `chunks[0]`; chunk numbers only grow. */
  private chunkBase = 0;
  private spare: Buffer[] = [];
  /** Write position in the newest chunk. */
  private tailOffset = 0;
  /** Chunk-size buffers held by chunks (entries larger than a chunk have their own, not counted). */
  private inMemory = 0;
  private readonly maxInMemory: number;
  private readonly spill: SpillFile;
  /** Chunks a compaction is copying between: never spilled meanwhile. */
  private readonly pinned: Chunk[] = [];
  /** Chunks written to the spill file, read back, and spill writes that failed (kept in memory). */
  readonly spillCounts = { written: 0, read: 0, failed: 0 };

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
    memory: BacklogMemoryOptions = {},
  ) {
    const bound = memory.memoryBytes ?? Infinity;
    this.maxInMemory = Math.max(MIN_CHUNKS_IN_MEMORY, Math.floor(bound / chunkBytes));
    this.spill = new SpillFile(chunkBytes, memory.spillDir);
  }

  /** Slots held (pending, in flight, or done behind an older unfinished one). */
  get slots(): number {
    return this.tail - this.head;
  }

  /** Bytes of chunk memory held (spares included). */
  get bytesHeld(): number {
    let n = 0;
    for (const c of this.chunks) if (c.buf) n += c.size;
    for (const c of this.spare) n += c.length;
    return n;
  }

  /** Bytes of chunks held only in the spill file (or also, as a clean copy, in memory). */
  get bytesSpilled(): number {
    return this.spill.slotsUsed * this.chunkBytes;
  }

  /** Encodes one publish into the ring and queues it at the end of `pending`; returns its seq. */
  append(encoder: PublishFrameEncoder, fields: PublishFields, eventId: number): number {
    if (this.tail - this.head >= this.compactAbove) this.compact();
    const room = encoder.maxLength(fields);
    let chunk = this.chunks[this.chunks.length - 1];
    if (chunk === undefined || chunk.size - this.tailOffset < room) chunk = this.newChunk(room);
    const start = this.tailOffset;
    const end = encoder.encode(chunk.buf!, start, fields);
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

  /** The encoded frames of an entry (a view into the ring: valid until the next call on the backlog). */
  bytes(seq: number): Buffer {
    const i = seq & this.mask;
    const off = this.offsetOf[i]!;
    return this.loaded(this.chunks[this.chunkOf[i]! - this.chunkBase]!).subarray(off, off + this.lengthOf[i]!);
  }

  byteLength(seq: number): number {
    return this.lengthOf[seq & this.mask]!;
  }

  /** Copies an entry's frames into `out` at `at`; returns the end offset. */
  copyTo(seq: number, out: Buffer, at: number): number {
    const i = seq & this.mask;
    const off = this.offsetOf[i]!;
    return at + this.loaded(this.chunks[this.chunkOf[i]! - this.chunkBase]!).copy(out, at, off, off + this.lengthOf[i]!);
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

  /** Closes the spill file (every entry should be done); the backlog reopens one if it spills again. */
  close(): void {
    this.spill.close();
    for (const c of this.chunks) c.slot = -1;
  }

  private reclaim(): void {
    while (this.head < this.tail && this.stateOf[this.head & this.mask] === DONE) this.head++;
    if (this.head === this.tail) {
      // Empty: every chunk but the newest can go, and the newest is written from its start again.
      while (this.chunks.length > 1) this.freeOldestChunk();
      if (this.spare.length > SPARE_CHUNKS) this.spare.length = SPARE_CHUNKS;
      const last = this.chunks[0];
      if (last) this.dirty(last);
      this.tailOffset = 0;
      return;
    }
    const oldestInUse = this.chunkOf[this.head & this.mask]!;
    while (this.chunkBase < oldestInUse) this.freeOldestChunk();
  }

  /**
   * Moves every unfinished entry, in order, towards the oldest end (in place: an entry only ever
   * moves to an earlier position), gives them new slots with new seqs, frees the chunks left empty,
   * and rewrites the seqs in `pending` and the other queues (a done entry's seq becomes -1 there).
   */
  private compact(): void {
    const live: number[] = [];
    for (let s = this.head; s < this.tail; s++) if (this.stateOf[s & this.mask] !== DONE) live.push(s);
    let cap = 1024;
    while (cap < live.length * 2) cap *= 2;
    const mask = cap - 1;
    const chunkOf = new Int32Array(cap);
    const offsetOf = new Int32Array(cap);
    const lengthOf = new Int32Array(cap);
    const eventOf = new Int32Array(cap);
    const stateOf = new Uint8Array(cap);
    const nacksOf = new Uint8Array(cap);
    const tagOf = new Float64Array(cap);
    const firstNew = this.tail;
    const remap = new Map<number, number>();
    // Write position (chunk index, offset): never past the entry being moved.
    let w = -1;
    let o = 0;
    for (let k = 0; k < live.length; k++) {
      const s = live[k]!;
      const from = s & this.mask;
      const len = this.lengthOf[from]!;
      const r = this.chunkOf[from]! - this.chunkBase;
      const off = this.offsetOf[from]!;
      if (w < 0) {
        w = r;
        o = off;
      } else {
        while (w < r && this.chunks[w]!.size - o < len) {
          w++;
          o = 0;
        }
        if (w !== r || o !== off) this.move(this.chunks[r]!, off, this.chunks[w]!, o, len);
      }
      const seq = firstNew + k;
      const i = seq & mask;
      chunkOf[i] = this.chunkBase + w;
      offsetOf[i] = o;
      lengthOf[i] = len;
      eventOf[i] = this.eventOf[from]!;
      stateOf[i] = this.stateOf[from]!;
      nacksOf[i] = this.nacksOf[from]!;
      tagOf[i] = this.tagOf[from]!;
      o += len;
      remap.set(s, seq);
    }
    if (w < 0) {
      w = this.chunks.length - 1;
      o = 0;
    }
    while (this.chunks.length - 1 > w) this.freeChunk(this.chunks.pop()!);
    const newest = this.chunks[w];
    if (newest) {
      this.loaded(newest);
      this.dirty(newest);
    }
    this.tailOffset = o;
    this.cap = cap;
    this.mask = mask;
    this.chunkOf = chunkOf;
    this.offsetOf = offsetOf;
    this.lengthOf = lengthOf;
    this.eventOf = eventOf;
    this.stateOf = stateOf;
    this.nacksOf = nacksOf;
    this.tagOf = tagOf;
    this.head = firstNew;
    this.tail = firstNew + live.length;
    for (const q of [this.pending, ...this.queues]) {
      const items: number[] = [];
      while (q.length > 0) items.push(q.shift());
      for (const s of items) q.push(remap.get(s) ?? -1);
    }
  }

  /** Copies `len` bytes from one chunk position to an earlier one (possibly in the same chunk). */
  private move(src: Chunk, srcOff: number, dst: Chunk, dstOff: number, len: number): void {
    this.pinned.push(src, dst);
    try {
      const from = this.loaded(src);
      const to = this.loaded(dst);
      this.dirty(dst);
      from.copy(to, dstOff, srcOff, srcOff + len);
    } finally {
      this.pinned.length = 0;
    }
  }

  /** A chunk's bytes change: its spill-file copy is stale. */
  private dirty(c: Chunk): void {
    if (c.slot >= 0) this.spill.release(c.slot);
    c.slot = -1;
  }

  /** The chunk's bytes, read back from the spill file if it is there only. */
  private loaded(c: Chunk): Buffer {
    if (c.buf) return c.buf;
    const buf = this.takeBuffer(c);
    this.spill.read(c.slot, buf);
    this.spillCounts.read++;
    c.buf = buf;
    return buf;
  }

  private freeOldestChunk(): void {
    this.freeChunk(this.chunks.shift()!);
    this.chunkBase++;
  }

  private freeChunk(c: Chunk): void {
    this.dirty(c);
    if (c.buf && c.size === this.chunkBytes) {
      this.inMemory--;
      const keep = Number.isFinite(this.maxInMemory) ? this.maxInMemory - this.inMemory : SPARE_CHUNKS;
      if (this.spare.length < keep) this.spare.push(c.buf);
    }
    c.buf = undefined;
  }

  private newChunk(room: number): Chunk {
    const c: Chunk = { buf: undefined, size: Math.max(room, this.chunkBytes), slot: -1 };
    this.chunks.push(c);
    // An entry over the chunk size gets a chunk of its own, kept in memory.
    c.buf = room <= this.chunkBytes ? this.takeBuffer(c) : Buffer.allocUnsafeSlow(room);
    this.tailOffset = 0;
    return c;
  }

  /**
   * A chunk-size buffer for `forChunk`: a spare or a new one while under the memory bound, else the
   * buffer of a chunk spilled to the file for it (over the bound anyway if no chunk can be spilled).
   */
  private takeBuffer(forChunk: Chunk): Buffer {
    if (this.inMemory >= this.maxInMemory) {
      const victim = this.victim(forChunk);
      if (victim && this.spillOut(victim)) {
        const buf = victim.buf!;
        victim.buf = undefined;
        return buf;
      }
    }
    this.inMemory++;
    return this.spare.pop() ?? Buffer.allocUnsafeSlow(this.chunkBytes);
  }

  /**
   * The chunk to spill: the newest in memory (its entries are sent last), except the newest of all
   * (being appended to), the one holding the next entry to send, and pinned ones.
   */
  private victim(forChunk: Chunk): Chunk | undefined {
    const front = this.pending.peek();
    const frontChunk = front >= this.head && front < this.tail ? this.chunkOf[front & this.mask]! - this.chunkBase : -1;
    const chunks = this.chunks;
    for (let i = chunks.length - 2; i >= 0; i--) {
      const c = chunks[i]!;
      if (c === forChunk || i === frontChunk || c.buf === undefined || c.size !== this.chunkBytes || this.pinned.includes(c)) continue;
      return c;
    }
    return undefined;
  }

  /** Makes sure the chunk has a copy in the spill file; false when the write failed. */
  private spillOut(c: Chunk): boolean {
    if (c.slot >= 0) return true;
    try {
      c.slot = this.spill.write(c.buf!);
    } catch {
      this.spillCounts.failed++;
      return false;
    }
    this.spillCounts.written++;
    return true;
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
