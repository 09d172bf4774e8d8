/**
 * The cluster view's gather logic: who is waited for, when a gather ends, what it calls missing.
 */
import { describe, expect, it } from 'vitest';
import { ClusterPeers, Gathering } from '../../src/bus/cluster-gather.js';

/** A manual clock and timer queue: nothing waits for real time. */
function fakeTimers() {
  let now = 0;
  const timers: Array<{ at: number; fn: () => void; cleared: boolean }> = [];
  return {
    now: () => now,
    setTimer: (fn: () => void, ms: number) => {
      const t = { at: now + ms, fn, cleared: false };
      timers.push(t);
      return t;
    },
    clearTimer: (t: unknown) => void ((t as { cleared: boolean }).cleared = true),
    advance(ms: number) {
      now += ms;
      for (const t of timers) if (!t.cleared && t.at <= now) (t.cleared = true), t.fn();
    },
    pending: () => timers.filter((t) => !t.cleared).length,
  };
}

const settled = async <T>(p: Promise<T>): Promise<{ done: boolean; value?: T }> => {
  let out: { done: boolean; value?: T } = { done: false };
  void p.then((value) => (out = { done: true, value }));
  await new Promise((r) => setImmediate(r));
  return out;
};

describe('Gathering', () => {
  it('alone (nobody expected): done at once, complete, no timer left', async () => {
    const clock = fakeTimers();
    const g = new Gathering<number>({ expected: new Map(), deadlineMs: 500, ...clock });
    expect(await settled(g.done)).toEqual({ done: true, value: { answers: [], missing: [], partial: false } });
    expect(clock.pending()).toBe(0);
  });

  it('done as soon as every expected instance answered, before the deadline', async () => {
    const clock = fakeTimers();
    const g = new Gathering<string>({ expected: new Map([['a1', 'X'], ['b1', 'Y']]), deadlineMs: 500, ...clock });
    g.answer('a1', 'X', 'x-data');
    expect((await settled(g.done)).done).toBe(false);
    g.answer('b1', 'Y', 'y-data');
    const out = await settled(g.done);
    expect(out.value).toEqual({ answers: [{ instance: 'X', data: 'x-data' }, { instance: 'Y', data: 'y-data' }], missing: [], partial: false });
    expect(clock.pending()).toBe(0);
  });

  it('at the deadline: the silent ones are missing and the result partial; later answers are ignored', async () => {
    const clock = fakeTimers();
    const g = new Gathering<string>({ expected: new Map([['a1', 'X'], ['b1', 'Y'], ['c1', 'Z']]), deadlineMs: 500, ...clock });
    g.answer('b1', 'Y', 'y');
    clock.advance(499);
    expect((await settled(g.done)).done).toBe(false);
    clock.advance(1);
    const out = await settled(g.done);
    expect(out.value).toEqual({ answers: [{ instance: 'Y', data: 'y' }], missing: ['X', 'Z'], partial: true });
    g.answer('a1', 'X', 'late');
    expect((await g.done).answers).toHaveLength(1);
  });

  it('a second answer from one instance counts once; an unexpected one (joined since) is kept', async () => {
    const clock = fakeTimers();
    const g = new Gathering<string>({ expected: new Map([['a1', 'X'], ['b1', 'Y']]), deadlineMs: 500, ...clock });
    g.answer('a1', 'X', 'first');
    g.answer('a1', 'X', 'again');
    g.answer('n1', 'New', 'hello');
    expect((await settled(g.done)).done).toBe(false);
    g.answer('b1', 'Y', 'y');
    expect((await g.done).answers.map((a) => `${a.instance}:${a.data}`)).toEqual(['X:first', 'New:hello', 'Y:y']);
  });

  it('an answer that is enough ends it at once, complete (the one instance serving a conference answered)', async () => {
    const clock = fakeTimers();
    const g = new Gathering<{ found: boolean }>({
      expected: new Map([['a1', 'X'], ['b1', 'Y'], ['c1', 'Z']]),
      deadlineMs: 500,
      enough: (d) => (d as { found: boolean }).found,
      ...clock,
    });
    g.answer('a1', 'X', { found: false });
    expect((await settled(g.done)).done).toBe(false);
    g.answer('b1', 'Y', { found: true });
    expect((await settled(g.done)).value).toEqual({ answers: [{ instance: 'X', data: { found: false } }, { instance: 'Y', data: { found: true } }], missing: [], partial: false });
    expect(clock.pending()).toBe(0);
  });

  it('finish() ends it now (the connection was lost): whoever is silent is missing', async () => {
    const clock = fakeTimers();
    const g = new Gathering<string>({ expected: new Map([['a1', 'X']]), deadlineMs: 500, ...clock });
    g.finish();
    expect(await g.done).toEqual({ answers: [], missing: ['X'], partial: true });
    expect(clock.pending()).toBe(0);
  });

  it('two processes of one instance name (a restart): listed missing once', async () => {
    const clock = fakeTimers();
    const g = new Gathering<string>({ expected: new Map([['old', 'X'], ['new', 'X']]), deadlineMs: 10, ...clock });
    clock.advance(10);
    expect((await g.done).missing).toEqual(['X']);
  });
});

describe('ClusterPeers', () => {
  it('live: heard within expireMs; forgotten after; bye removes at once; a new beat renews', () => {
    let now = 1000;
    const peers = new ClusterPeers({ expireMs: 3000, now: () => now });
    peers.heard('a1', 'X');
    peers.heard('b1', 'Y');
    expect([...peers.live()]).toEqual([['a1', 'X'], ['b1', 'Y']]);
    now += 2000;
    peers.heard('b1', 'Y');
    now += 1500;
    expect([...peers.live()]).toEqual([['b1', 'Y']]);
    peers.gone('b1');
    expect(peers.live().size).toBe(0);
    peers.heard('a1', 'X');
    expect([...peers.live()]).toEqual([['a1', 'X']]);
  });
});
