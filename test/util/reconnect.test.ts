import { describe, expect, it } from 'vitest';
import { reconnectLoop, sleep } from '../../src/util/reconnect.js';

describe('reconnectLoop', () => {
  it('retries failed sessions with growing delays, resets after a connected session, stops on abort', async () => {
    const abort = new AbortController();
    const starts: number[] = [];
    const errors: unknown[] = [];
    let n = 0;
    const done = reconnectLoop({
      signal: abort.signal,
      // Jitter pinned near the top of each full-jitter range: delays 19, 39, 79 ms, then 19 again.
      backoff: { baseMs: 20, capMs: 1000, random: () => 0.99 },
      onError: (err) => errors.push(err),
      session: async (connected) => {
        starts.push(Date.now());
        n++;
        if (n <= 3) throw new Error(`connect failed ${n}`); // attempts 0, 1, 2: 19, 39, 79 ms
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
    // Timers only fire late, never early (Date.now() may round a ms down): each gap is at least its delay.
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[1]).toBeGreaterThanOrEqual(38);
    expect(gaps[2]).toBeGreaterThanOrEqual(78);
    expect(gaps[3]).toBeGreaterThanOrEqual(18); // reset: back to the first delay
  });

  it('an abort during the backoff wait ends the loop at once, without another session', async () => {
    const abort = new AbortController();
    let sessions = 0;
    const done = reconnectLoop({
      signal: abort.signal,
      backoff: { baseMs: 60_000, capMs: 60_000, random: () => 0.99 },
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
