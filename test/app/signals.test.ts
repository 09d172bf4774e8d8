/**
 * Signal handling of `confmgr start` (handleSignals), on a fake signal source: SIGTERM/SIGINT stop the
 * service once (exit 0 when no event was lost, 1 when some were or when the stop fails), SIGHUP reloads, dispose
 * removes every handler; the deadline is hard and a second signal immediate (exit code 1 both).
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/util/log.js';
import { handleSignals, type SignalSource } from '../../src/app/signals.js';

function source(): SignalSource & { send(signal: NodeJS.Signals): void; count(): number } {
  const e = new EventEmitter();
  return {
    on: (s, l) => e.on(s, l),
    off: (s, l) => e.off(s, l),
    send: (s) => void e.emit(s, s),
    count: () => e.listenerCount('SIGTERM') + e.listenerCount('SIGINT') + e.listenerCount('SIGHUP'),
  };
}

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: Error): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('handleSignals', () => {
  it('SIGTERM stops once; the exit code says whether any event was never sent (lost)', async () => {
    for (const [dropped, complete, code] of [
      [0, true, 0],
      [3, true, 1],
      [0, false, 1], // a close abandoned at the deadline
    ] as const) {
      const signals = source();
      const stops: string[] = [];
      const h = handleSignals({ stop: async (s) => (stops.push(s), { dropped, complete }), timeoutMs: 5_000, logger: silentLogger, signals });
      signals.send('SIGTERM');
      expect(await h.done).toBe(code);
      expect(stops).toEqual(['SIGTERM']);
      h.dispose();
    }
  });

  it('SIGINT stops too; a failing stop exits 1', async () => {
    const signals = source();
    const h = handleSignals({ stop: async () => Promise.reject(new Error('boom')), timeoutMs: 5_000, logger: silentLogger, signals });
    signals.send('SIGINT');
    expect(await h.done).toBe(1);
    h.dispose();
  });

  it('SIGHUP reloads and stops nothing; dispose removes every handler', () => {
    const signals = source();
    let reloads = 0;
    let stops = 0;
    const h = handleSignals({ stop: async () => (stops++, { dropped: 0, complete: true }), timeoutMs: 5_000, logger: silentLogger, reload: () => reloads++, signals });
    expect(signals.count()).toBe(3);
    signals.send('SIGHUP');
    signals.send('SIGHUP');
    expect([reloads, stops]).toEqual([2, 0]);
    h.dispose();
    expect(signals.count()).toBe(0);
  });

  it('the deadline is hard: a stop that overruns it exits 1 at the deadline', async () => {
    const signals = source();
    const exits: Array<[number, number]> = [];
    const t0 = Date.now();
    const h = handleSignals({
      stop: () => deferred<{ dropped: number; complete: boolean }>().promise,
      timeoutMs: 80,
      logger: silentLogger,
      signals,
      exit: (code) => void exits.push([code, Date.now() - t0]),
    });
    signals.send('SIGTERM');
    await new Promise((r) => setTimeout(r, 40));
    expect(exits).toEqual([]);
    await new Promise((r) => setTimeout(r, 200));
    expect(exits).toHaveLength(1);
    expect(exits[0]![0]).toBe(1);
    expect(exits[0]![1]).toBeGreaterThanOrEqual(75);
    h.dispose();
  });

  it('a second SIGTERM or SIGINT while stopping exits 1 at once', () => {
    for (const second of ['SIGTERM', 'SIGINT'] as const) {
      const signals = source();
      const exits: number[] = [];
      let stops = 0;
      const h = handleSignals({
        stop: () => (stops++, deferred<{ dropped: number; complete: boolean }>().promise),
        timeoutMs: 60_000,
        logger: silentLogger,
        signals,
        exit: (code) => void exits.push(code),
      });
      signals.send('SIGTERM');
      expect(exits).toEqual([]);
      signals.send(second);
      expect(exits).toEqual([1]);
      expect(stops).toBe(1);
      h.dispose();
    }
  });

  it('a stop that finishes in time cancels the deadline', async () => {
    const signals = source();
    const exits: number[] = [];
    const h = handleSignals({ stop: async () => ({ dropped: 0, complete: true }), timeoutMs: 30, logger: silentLogger, signals, exit: (code) => void exits.push(code) });
    signals.send('SIGTERM');
    expect(await h.done).toBe(0);
    await new Promise((r) => setTimeout(r, 80));
    expect(exits).toEqual([]);
    h.dispose();
  });
});
