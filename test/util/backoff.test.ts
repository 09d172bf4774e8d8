import { afterEach, describe, expect, it, vi } from 'vitest';
import { Backoff } from '../../src/util/backoff.js';

describe('Backoff (the one reconnect policy)', () => {
  it('full jitter: each delay lies in [0, ceiling), the ceiling doubles from baseMs and stops at capMs', () => {
    let r = 0;
    const b = new Backoff({ baseMs: 100, capMs: 5000, random: () => r });
    for (let attempt = 0; attempt < 40; attempt++) {
      const ceiling = Math.min(5000, 100 * 2 ** attempt);
      expect(b.ceiling()).toBe(ceiling);
      r = attempt % 2 === 0 ? 0.999999 : 0;
      const d = b.next();
      expect(d).toBe(r === 0 ? 0 : ceiling - 1);
      expect(b.attempts).toBe(attempt + 1);
    }
  });

  it('reset() starts again from baseMs', () => {
    const b = new Backoff({ baseMs: 20, capMs: 1000, random: () => 0.5 });
    expect([b.next(), b.next(), b.next()]).toEqual([10, 20, 40]);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(10);
  });

  it('defaults 250 / 30000; a cap below the base is raised to it', () => {
    const d = new Backoff();
    expect([d.baseMs, d.capMs]).toEqual([250, 30_000]);
    const odd = new Backoff({ baseMs: 500, capMs: 100 });
    expect([odd.baseMs, odd.capMs]).toEqual([500, 500]);
  });

  describe('connected() with resetAfterMs', () => {
    afterEach(() => vi.useRealTimers());

    it('a connection lost before resetAfterMs keeps backing off; one that stayed up starts over', () => {
      vi.useFakeTimers();
      const b = new Backoff({ baseMs: 20, capMs: 10_000, resetAfterMs: 5000, random: () => 0.5 });
      expect([b.next(), b.next()]).toEqual([10, 20]);
      b.connected();
      vi.advanceTimersByTime(4999);
      expect(b.next()).toBe(40); // up 4999 ms: not proved healthy
      b.connected();
      vi.advanceTimersByTime(5000);
      expect(b.next()).toBe(10); // up 5000 ms: starts over
      expect(b.attempts).toBe(1);
    });

    it('without resetAfterMs (the default), connected() starts over at once', () => {
      const b = new Backoff({ baseMs: 20, capMs: 10_000, random: () => 0.5 });
      b.next();
      b.next();
      b.connected();
      expect(b.attempts).toBe(0);
      expect(b.next()).toBe(10);
    });
  });
});
