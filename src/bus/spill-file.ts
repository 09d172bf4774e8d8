/**
 * SpillFile: fixed-size slots in a temporary file, for backlog chunks over the backlog's memory bound.
 * The file is unlinked as soon as it is opened, so nothing is left on disk whatever way the process
 * ends, and its pages live in the kernel's page cache (reclaimable, not the process's RSS).
 * Reads and writes are synchronous: one chunk is written or read in well under a millisecond from
 * the page cache, and the backlog's callers are synchronous.
 */
import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class SpillFile {
  private fd = -1;
  private readonly free: number[] = [];
  private highWater = 0;

  /**
   * @param slotBytes size of one slot (the backlog's chunk size).
   * @param dir where the file is created (default: the OS temporary folder, `TMPDIR`).
   */
  constructor(
    readonly slotBytes: number,
    private readonly dir = tmpdir(),
  ) {}

  /** Slots holding a chunk. */
  get slotsUsed(): number {
    return this.highWater - this.free.length;
  }

  /** Writes `bytes` (at most one slot) into a free slot; returns the slot. Throws on an I/O error. */
  write(bytes: Buffer): number {
    if (this.fd < 0) this.open();
    const slot = this.free.pop() ?? this.highWater++;
    try {
      for (let at = 0; at < bytes.length; ) at += writeSync(this.fd, bytes, at, bytes.length - at, slot * this.slotBytes + at);
    } catch (err) {
      this.free.push(slot);
      throw err;
    }
    return slot;
  }

  /** Reads `into.length` bytes (at most one slot) of `slot` into `into`. Throws on an I/O error. */
  read(slot: number, into: Buffer): void {
    for (let at = 0; at < into.length; ) {
      const n = readSync(this.fd, into, at, into.length - at, slot * this.slotBytes + at);
      if (n === 0) throw new Error(`spill file ended inside slot ${slot}`);
      at += n;
    }
  }

  release(slot: number): void {
    this.free.push(slot);
    if (this.free.length === this.highWater) this.reset();
  }

  /** Every slot free: the file is truncated, giving its space back. */
  private reset(): void {
    this.free.length = 0;
    this.highWater = 0;
    if (this.fd >= 0) {
      try {
        ftruncateSync(this.fd, 0);
      } catch {
        // Space is given back at close at the latest.
      }
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.free.length = 0;
    this.highWater = 0;
  }

  private open(): void {
    const folder = mkdtempSync(join(this.dir, 'confmgr-backlog-'));
    const path = join(folder, 'spill');
    this.fd = openSync(path, 'w+', 0o600);
    unlinkSync(path);
    rmdirSync(folder);
  }
}
