/**
 * MemoryCompactor: one collection per burst, after its output has left; and the real collection (the
 * inspector's HeapProfiler.collectGarbage) really hands V8's heap back.
 */
import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { MemoryCompactor } from '../../src/app/memory-compactor.js';

const silent = pino({ level: 'silent' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('MemoryCompactor', () => {
  it('coalesces the requests of a burst into one collection, after settled() and the quiet time', async () => {
    const settle = deferred();
    let settledCalls = 0;
    const collected: number[] = [];
    const c = new MemoryCompactor({
      quietMs: 20,
      logger: silent,
      settled: () => {
        settledCalls++;
        return settle.promise;
      },
      collect: async () => {
        collected.push(performance.now());
      },
    });
    c.request('resync fs1');
    c.request('resync fs2');
    c.request('startup');
    await sleep(80);
    expect(settledCalls).toBe(1);
    expect(collected).toHaveLength(0); // the burst's output has not left yet
    const releasedAt = performance.now();
    settle.resolve();
    await c.idle();
    expect(collected).toHaveLength(1);
    expect(collected[0]! - releasedAt).toBeGreaterThanOrEqual(15); // quiet time after settling
  });

  it('a request while settling restarts the wait: still one collection, after the last burst', async () => {
    const gates = [deferred(), deferred()];
    let n = 0;
    let collections = 0;
    const c = new MemoryCompactor({
      quietMs: 5,
      logger: silent,
      settled: () => gates[Math.min(n++, 1)]!.promise,
      collect: async () => {
        collections++;
      },
    });
    c.request('resync fs1');
    await sleep(30);
    c.request('resync fs2'); // a second node's burst starts before the first one's output has left
    gates[0]!.resolve();
    await sleep(30);
    expect(collections).toBe(0);
    gates[1]!.resolve();
    await c.idle();
    expect(collections).toBe(1);
    expect(n).toBe(2);
  });

  it('a later burst gets its own collection', async () => {
    let collections = 0;
    const c = new MemoryCompactor({ quietMs: 5, logger: silent, settled: async () => {}, collect: async () => void collections++ });
    c.request('resync fs1');
    await c.idle();
    c.request('resync fs1');
    await c.idle();
    expect(collections).toBe(2);
  });

  it('compactNow() collects at once, without waiting for settled(); not after close()', async () => {
    let collections = 0;
    let settledCalls = 0;
    const c = new MemoryCompactor({
      quietMs: 10_000,
      logger: silent,
      settled: async () => void settledCalls++,
      collect: async () => void collections++,
    });
    await c.compactNow('startup');
    expect(collections).toBe(1);
    expect(settledCalls).toBe(0);
    c.close();
    await c.compactNow('startup');
    expect(collections).toBe(1);
  });

  it('close() cancels a pending collection', async () => {
    let collections = 0;
    const c = new MemoryCompactor({ quietMs: 20, logger: silent, settled: async () => {}, collect: async () => void collections++ });
    c.request('resync fs1');
    c.close();
    await sleep(60);
    c.request('resync fs1');
    await sleep(60);
    expect(collections).toBe(0);
  });

  it('a collection that fails (no inspector in this node build) disables it, once, with a log line', async () => {
    let attempts = 0;
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    const c = new MemoryCompactor({
      quietMs: 5,
      logger,
      settled: async () => {},
      collect: async () => {
        attempts++;
        throw Object.assign(new Error('Inspector is not available'), { code: 'ERR_INSPECTOR_NOT_AVAILABLE' });
      },
    });
    c.request('startup');
    await c.idle();
    c.request('resync fs1');
    await c.idle();
    await sleep(30);
    expect(attempts).toBe(1);
    expect(lines.filter((l) => l.includes('memory compaction unavailable'))).toHaveLength(1);
  });

  it('the default collection hands a grown heap back to the kernel', async () => {
    // Grow V8's heap with ~80 MB that becomes garbage: the heap keeps the pages until collected.
    let garbage: unknown[] | undefined = [];
    for (let i = 0; i < 400_000; i++) garbage.push({ s: `participant-${i}-${'x'.repeat(100)}`, n: [i, i + 1] });
    const grown = getHeapStatistics().total_heap_size;
    garbage = undefined;
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    const c = new MemoryCompactor({ quietMs: 1, logger, settled: async () => {} });
    c.request('test');
    await c.idle();
    const after = getHeapStatistics().total_heap_size;
    expect(garbage).toBeUndefined();
    expect(grown - after).toBeGreaterThan(40 * 1024 * 1024);
    const logged = JSON.parse(lines.find((l) => l.includes('memory compacted after a burst'))!) as { reasons: string[]; heapMb: number[] };
    expect(logged.reasons).toEqual(['test']);
    expect(logged.heapMb[0]!).toBeGreaterThan(logged.heapMb[1]!);
  });
});
