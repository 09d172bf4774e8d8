import { describe, expect, it } from 'vitest';
import { forEachConcurrently } from '../../src/util/concurrency.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A task recording start order and the most tasks running at once. */
function tracked(delayMs: (i: number) => number = () => 2) {
  const started: number[] = [];
  let running = 0;
  let maxRunning = 0;
  const task = async (_item: unknown, i: number): Promise<void> => {
    started.push(i);
    running++;
    maxRunning = Math.max(maxRunning, running);
    await sleep(delayMs(i));
    running--;
  };
  return {
    task,
    started,
    get maxRunning(): number {
      return maxRunning;
    },
    get running(): number {
      return running;
    },
  };
}

describe('forEachConcurrently', () => {
  it('runs every item once, in order of start, never more than `concurrency` at once', async () => {
    const t = tracked((i) => (i % 3) + 1);
    await forEachConcurrently(Array.from({ length: 20 }, (_, i) => `item-${i}`), 3, t.task);
    expect(t.started).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(t.maxRunning).toBe(3);
    expect(t.running).toBe(0);
  });

  it('passes each item with its index', async () => {
    const seen: string[] = [];
    await forEachConcurrently(['a', 'b', 'c'], 2, async (item, i) => {
      seen[i] = item;
    });
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('starts no more than there are items, and at least one worker for a limit below 1', async () => {
    const few = tracked();
    await forEachConcurrently([1, 2], 8, few.task);
    expect(few.started).toEqual([0, 1]);
    for (const limit of [0, -1, Number.NaN, 0.5]) {
      const t = tracked();
      await forEachConcurrently([1, 2, 3], limit, t.task);
      expect(t.started).toEqual([0, 1, 2]);
      expect(t.maxRunning).toBe(1);
    }
    await expect(forEachConcurrently([], 4, () => Promise.reject(new Error('never called')))).resolves.toBeUndefined();
  });

  it('starts nothing more once `stop` says so, and lets the running tasks finish', async () => {
    const t = tracked();
    let stop = false;
    const done = forEachConcurrently(Array.from({ length: 10 }), 2, async (item, i) => {
      await t.task(item, i);
      if (i === 3) stop = true;
    }, { stop: () => stop });
    await done;
    expect(t.running).toBe(0);
    // 0..3 ran; the worker busy with 4 when 3 finished completes it, nothing after.
    expect(t.started).toEqual([0, 1, 2, 3, 4]);
  });

  it('on a rejected task: starts no further item, waits for the running ones, rejects with the first error', async () => {
    const t = tracked((i) => (i === 1 ? 20 : 2));
    const first = new Error('first');
    const result = forEachConcurrently(Array.from({ length: 10 }), 2, async (item, i) => {
      await t.task(item, i);
      if (i === 2) throw first;
      if (i === 1) throw new Error('second, while the first was known');
    });
    await expect(result).rejects.toBe(first);
    expect(t.running).toBe(0); // item 1 (slow) had settled before the promise rejected
    expect(t.started).toEqual([0, 1, 2]);
  });

  it('takes a task that throws synchronously as a rejection', async () => {
    const boom = new Error('sync');
    await expect(
      forEachConcurrently([1], 1, () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
  });
});
