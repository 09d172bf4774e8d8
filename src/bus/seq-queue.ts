/**
 * A double-ended queue of numbers in a growable circular Float64Array: the publisher's queues of
 * backlog entries (pending, in flight) without one heap object per entry.
 */
export class SeqQueue {
  private items: Float64Array;
  private mask: number;
  private head = 0;
  private count = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.items = new Float64Array(cap);
    this.mask = cap - 1;
  }

  get length(): number {
    return this.count;
  }

  push(n: number): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & this.mask] = n;
    this.count++;
  }

  unshift(n: number): void {
    if (this.count === this.items.length) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.items[this.head] = n;
    this.count++;
  }

  /** The first item, or -1 when empty. */
  peek(): number {
    return this.count === 0 ? -1 : this.items[this.head]!;
  }

  /** Removes and returns the first item, or -1 when empty. */
  shift(): number {
    if (this.count === 0) return -1;
    const n = this.items[this.head]!;
    this.head = (this.head + 1) & this.mask;
    this.count--;
    return n;
  }

  /** The item at position `i` from the front (0 ≤ i < length). */
  at(i: number): number {
    return this.items[(this.head + i) & this.mask]!;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  private grow(): void {
    const next = new Float64Array(this.items.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) & this.mask]!;
    this.items = next;
    this.mask = next.length - 1;
    this.head = 0;
  }
}
