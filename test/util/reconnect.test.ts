import { describe, expect, it } from 'vitest';
import { backoffDelay, reconnectLoop, sleep } from '../../src/util/reconnect.js';

describe('backoffDelay', () => {
  it('doubles from the initial delay within ±20 % jitter and never exceeds the cap', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const d = backoffDelay(attempt, { initialDelayMs: 100, maxDelayMs: 5000 });
      const base = Math.min(5000, 100 * 2 ** attempt);
      expect(d).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
      expect(d).toBeLessThanOrEqual(5000);
      expect(d).toBeLessThanOrEqual(Math.ceil(base * 1.2));
    }
  });
});

describe('reconnectLoop', () => {
  it('retries failed sessions with growing delays, resets after a connected session, stops on abort', async () => {
    const abort = new AbortController();
    const starts: number[] = [];
    const errors: unknown[] = [];
    let n = 0;
    const done = reconnectLoop({
      signal: abort.signal,
      backoff: { initialDelayMs: 20, maxDelayMs: 1000 },
      onError: (err) => errors.push(err),
      session: async (connected) => {
        starts.push(Date.now());
        n++;
        if (n <= 3) throw new Error(`connect failed ${n}`); // attempts 0, 1, 2: 20, 40, 80 ms
        if (n === 4) {
          connected(); // up, then lost: the next wait starts from the first delay again
          return;
        }
        abort.abort();
      },
    });
    await done;
    expect(n).toBe(5);
    expect(errors.map((e) => (e as Error).message)).toEqual(['connect failed 1', 'connect failed 2', 'connect failed 3']);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    // Timers only fire late, never early: each gap is at least the jittered minimum.
    expect(gaps[0]).toBeGreaterThanOrEqual(15);
    expect(gaps[1]).toBeGreaterThanOrEqual(31);
    expect(gaps[2]).toBeGreaterThanOrEqual(63);
    expect(gaps[3]).toBeGreaterThanOrEqual(15); // reset: back to ~20 ms
  });

  it('an abort during the backoff wait ends the loop at once, without another session', async () => {
    const abort = new AbortController();
    let sessions = 0;
    const done = reconnectLoop({
      signal: abort.signal,
      backoff: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
      session: async () => {
        sessions++;
        throw new Error('down');
      },
    });
    await sleep(20);
    const t0 = Date.now();
    abort.abort();
    await done;
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(sessions).toBe(1);
  });

  it('errors thrown after the abort are not reported', async () => {
    const abort = new AbortController();
    const errors: unknown[] = [];
    await reconnectLoop({
      signal: abort.signal,
      onError: (err) => errors.push(err),
      session: async () => {
        abort.abort();
        throw new Error('closed while stopping');
      },
    });
    expect(errors).toEqual([]);
  });
});
