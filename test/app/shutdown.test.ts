/**
 * The stop path (stopInOrder) on fake parts: the order of the closes, and the deadline — a close that
 * hangs (a stalled broker's) is abandoned within its share of shutdown.timeout_ms, logged, and the
 * next step still runs: ESL and storage are closed and the whole stop ends before the deadline.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/util/log.js';
import { Deadline, INTAKE_DRAIN_MAX_MS, closeWithin, stopInOrder, type StoppableParts } from '../../src/app/shutdown.js';

const never = (): Promise<never> => new Promise(() => undefined);

function capture() {
  const lines: Array<Record<string, any>> = [];
  const logger = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l));
        cb();
      },
    }),
  });
  return { lines, logger };
}

function parts(order: string[], hang: Partial<Record<'intake' | 'http' | 'publisher' | 'esl' | 'storage', boolean>> = {}): StoppableParts & { drains: number[]; flushes: number[] } {
  const drains: number[] = [];
  const flushes: number[] = [];
  const step = (name: keyof typeof hang) => () => {
    order.push(name);
    return hang[name] ? never() : Promise.resolve();
  };
  return {
    drains,
    flushes,
    intake: {
      close: (drainMs) => {
        drains.push(drainMs);
        return step('intake')();
      },
    },
    http: { close: step('http') },
    stopEvents: () => void order.push('events off'),
    publisher: {
      close: (flushMs) => {
        flushes.push(flushMs);
        order.push('publisher');
        return hang.publisher ? never() : Promise.resolve({ flushed: true, dropped: 0, unconfirmed: 0 });
      },
      leftover: () => ({ dropped: 7, unconfirmed: 3 }),
    },
    esl: { close: step('esl') },
    records: { close: async () => void order.push('records') },
    storage: { close: step('storage') },
  };
}

describe('stopInOrder', () => {
  it('intake and HTTP, then events off and the publisher, then ESL, records, storage', async () => {
    const order: string[] = [];
    const p = parts(order);
    const { logger } = capture();
    const result = await stopInOrder(p, { timeoutMs: 10_000, flushTimeoutMs: 3_000, logger });
    expect(result).toEqual({ flushed: true, dropped: 0, unconfirmed: 0, complete: true });
    expect(order).toEqual(['intake', 'http', 'events off', 'publisher', 'esl', 'records', 'storage']);
    expect(p.drains).toEqual([INTAKE_DRAIN_MAX_MS]);
    expect(p.flushes[0]).toBeLessThanOrEqual(3_000);
    expect(p.flushes[0]).toBeGreaterThan(2_900);
  });

  it('a stalled broker: the intake and publisher closes are abandoned, ESL and storage still closed, all before the deadline', async () => {
    const order: string[] = [];
    const p = parts(order, { intake: true, publisher: true });
    const { lines, logger } = capture();
    const t0 = Date.now();
    const result = await stopInOrder(p, { timeoutMs: 1_000, flushTimeoutMs: 5_000, logger });
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeLessThan(1_000);
    expect(elapsed).toBeGreaterThanOrEqual(700); // the intake had its share: the deadline minus the local reserve
    expect(order).toEqual(['intake', 'http', 'events off', 'publisher', 'esl', 'records', 'storage']);
    expect(result).toEqual({ flushed: false, dropped: 7, unconfirmed: 3, complete: false }); // what the publisher had left
    expect(p.flushes[0]).toBeLessThan(250); // the flush gets what is left, not flush_timeout_ms
    const abandoned = lines.filter((l) => /abandoned/.test(l.msg)).map((l) => l.msg);
    expect(abandoned).toEqual([
      'closing the command intake did not finish within its share of the shutdown deadline; abandoned',
      'closing the AMQP publisher did not finish within its share of the shutdown deadline; abandoned',
    ]);
  });

  it('a close that hangs past the whole deadline is abandoned at the deadline', async () => {
    const order: string[] = [];
    const p = parts(order, { esl: true });
    const { logger } = capture();
    const t0 = Date.now();
    await stopInOrder(p, { timeoutMs: 200, flushTimeoutMs: 1_000, logger });
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(190);
    // The hanging close never settles: any finite bound proves it was abandoned (loose: CPU is shared).
    expect(elapsed).toBeLessThan(2_000);
    expect(order.slice(-3)).toEqual(['esl', 'records', 'storage']); // storage still asked to close
  });
});

describe('closeWithin and Deadline', () => {
  it('resolves true when done in time, true on failure (logged), false when abandoned', async () => {
    const { lines, logger } = capture();
    expect(await closeWithin('a', Promise.resolve(), 0, logger)).toBe(true);
    expect(await closeWithin('b', Promise.reject(new Error('boom')), 50, logger)).toBe(true);
    expect(await closeWithin('c', never(), 20, logger)).toBe(false);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [40, 'closing b failed'],
      [50, 'closing c did not finish within its share of the shutdown deadline; abandoned'],
    ]);
  });

  it('Deadline.remaining keeps the reserve back and never goes negative', () => {
    let now = 1_000;
    const d = new Deadline(500, () => now);
    expect(d.remaining()).toBe(500);
    expect(d.remaining(100)).toBe(400);
    now = 1_450;
    expect(d.remaining(100)).toBe(0);
    expect(d.remaining()).toBe(50);
    now = 2_000;
    expect(d.remaining()).toBe(0);
  });
});
