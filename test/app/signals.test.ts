/**
 * Signal handling of `confmgr start` (handleSignals), on a fake signal source: SIGTERM/SIGINT stop the
 * service once (exit 0 when flushed, 1 when not or when the stop fails), SIGHUP reloads, dispose
 * removes every handler; the deadline and a second signal end the wait with exit code 1.
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
  it('SIGTERM stops once; the exit code says whether everything was flushed', async () => {
    for (const [flushed, code] of [
      [true, 0],
      [false, 1],
    ] as const) {
      const signals = source();
      const stops: string[] = [];
      const h = handleSignals({ stop: async (s) => (stops.push(s), { flushed }), timeoutMs: 5_000, logger: silentLogger, signals });
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
    const h = handleSignals({ stop: async () => (stops++, { flushed: true }), timeoutMs: 5_000, logger: silentLogger, reload: () => reloads++, signals });
    expect(signals.count()).toBe(3);
    signals.send('SIGHUP');
    signals.send('SIGHUP');
    expect([reloads, stops]).toEqual([2, 0]);
    h.dispose();
    expect(signals.count()).toBe(0);
  });

  it('a stop that overruns the deadline, or a second signal, ends the wait with exit code 1', async () => {
    const signals = source();
    const h = handleSignals({ stop: () => deferred<{ flushed: boolean }>().promise, timeoutMs: 50, logger: silentLogger, signals });
    signals.send('SIGTERM');
    expect(await h.done).toBe(1);
    h.dispose();

    const again = source();
    const h2 = handleSignals({ stop: () => deferred<{ flushed: boolean }>().promise, timeoutMs: 60_000, logger: silentLogger, signals: again });
    again.send('SIGTERM');
    again.send('SIGTERM');
    expect(await h2.done).toBe(1);
    h2.dispose();
  });
});
