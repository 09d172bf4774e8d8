import { describe, expect, it } from 'vitest';
import { covers, latestPublished, leaseToGiveUp, parsePresence, peerPresence, shouldClaim, type PeerPresence, type Reach } from '../../src/bus/lease-balance.js';

const peer = (held: number, ready?: string[], reach: Record<string, Reach> = {}): PeerPresence => ({
  held,
  at: 0,
  ready: ready ? new Set(ready) : undefined,
  reach: new Map(Object.entries(reach)),
});
const reach = (from: number, core = 'c1'): Reach => ({ core, from });
const pub = (sequence: number, core = 'c1') => ({ core, sequence });

describe('leaseToGiveUp', () => {
  it('keeps every lease at or under its share', () => {
    expect(leaseToGiveUp({ won: ['A', 'B'], peers: [peer(0, ['A', 'B'])], share: 2 })).toBeUndefined();
  });

  it('gives up the newest lease to a peer under its share that contends for it', () => {
    expect(leaseToGiveUp({ won: ['A', 'B', 'C'], peers: [peer(0, ['A', 'B', 'C'])], share: 1 })).toBe('C');
  });

  it('gives nothing to a peer that announced itself but is not ready for any node yet (still connecting or resyncing)', () => {
    // Its hold starts at its resync: what the active holds back after the release would reach nobody.
    expect(leaseToGiveUp({ won: ['A', 'B'], peers: [peer(0, [])], share: 1 })).toBeUndefined();
    expect(leaseToGiveUp({ won: ['A', 'B'], peers: [peer(0)], share: 1 })).toBeUndefined();
  });

  it('gives up an older lease when the peer is ready only for that one', () => {
    expect(leaseToGiveUp({ won: ['A', 'B'], peers: [peer(0, ['A'])], share: 1 })).toBe('A');
  });

  it('gives a lease only to a peer whose hold reaches back to the last event published', () => {
    const published = (n: string) => (n === 'B' ? pub(100) : undefined);
    // Joined after event 100: the events between 100 and its first one would reach nobody.
    expect(leaseToGiveUp({ won: ['A', 'B'], peers: [peer(0, ['B'], { B: reach(120) })], share: 1, published })).toBeUndefined();
    // No hold at all yet, or one on another FreeSWITCH run: the same.
    expect(leaseToGiveUp({ won: ['A', 'B'], peers: [peer(0, ['B'])], share: 1, published })).toBeUndefined();
    expect(leaseToGiveUp({ won: ['A', 'B'], peers: [peer(0, ['B'], { B: reach(1, 'c0') })], share: 1, published })).toBeUndefined();
    expect(leaseToGiveUp({ won: ['A', 'B'], peers: [peer(0, ['B'], { B: reach(100) })], share: 1, published })).toBe('B');
    // Nothing published yet for A: any ready peer will do.
    expect(leaseToGiveUp({ won: ['A', 'B'], peers: [peer(0, ['A'])], share: 1, published })).toBe('A');
  });

  it('counts only peers under their share as takers', () => {
    expect(leaseToGiveUp({ won: ['A', 'B'], peers: [peer(1, ['A', 'B'])], share: 1 })).toBeUndefined();
    expect(leaseToGiveUp({ won: ['A', 'B'], peers: [peer(1, ['A', 'B']), peer(0, ['B'])], share: 1 })).toBe('B');
  });
});

describe('covers', () => {
  it('holds when the hold starts at or before the last published event, on the same FreeSWITCH run', () => {
    expect(covers(reach(10), pub(10))).toBe(true);
    expect(covers(reach(10), pub(50))).toBe(true);
    expect(covers(reach(11), pub(10))).toBe(false);
    expect(covers(reach(1, 'c2'), pub(10))).toBe(false);
    expect(covers(undefined, pub(10))).toBe(false);
    expect(covers(reach(1), undefined)).toBe(false);
  });
});

describe('shouldClaim', () => {
  const me = (held: number, r?: Reach, id = 'm') => ({ id, held, reach: r });
  it('a joiner whose hold starts after the last published event waits for a peer whose hold reaches back', () => {
    expect(shouldClaim({ me: me(0, reach(159)), rivals: [me(0, reach(80), 'z')], published: pub(139), share: 1 })).toBe(false);
    expect(shouldClaim({ me: me(0, reach(80), 'z'), rivals: [me(0, reach(159))], published: pub(139), share: 1 })).toBe(true);
  });

  it('prefers, among holds that reach back, one under its share, then the smaller id', () => {
    expect(shouldClaim({ me: me(1, reach(10), 'a'), rivals: [me(0, reach(90), 'b')], published: pub(100), share: 1 })).toBe(false);
    expect(shouldClaim({ me: me(0, reach(90), 'b'), rivals: [me(1, reach(10), 'a')], published: pub(100), share: 1 })).toBe(true);
    expect(shouldClaim({ me: me(0, reach(90), 'b'), rivals: [me(0, reach(10), 'a')], published: pub(100), share: 1 })).toBe(false);
  });

  it('when no hold reaches back, the one reaching furthest back claims (it loses the least)', () => {
    expect(shouldClaim({ me: me(0, reach(150)), rivals: [me(0, reach(140), 'z')], published: pub(100), share: 1 })).toBe(false);
    expect(shouldClaim({ me: me(0, reach(140), 'z'), rivals: [me(0, reach(150)), me(0, undefined, 'a')], published: pub(100), share: 1 })).toBe(true);
    // Nothing published yet: the same order.
    expect(shouldClaim({ me: me(5, reach(3), 'z'), rivals: [me(0, reach(4), 'a')], published: undefined, share: 1 })).toBe(true);
  });

  it('claims when it has no rival', () => {
    expect(shouldClaim({ me: me(3, undefined), rivals: [], published: pub(100), share: 1 })).toBe(true);
  });
});

describe('latestPublished', () => {
  it('takes the highest mark on the run this instance holds, else the highest of any', () => {
    expect(latestPublished([pub(5), undefined, pub(9), pub(7)], 'c1')).toEqual(pub(9));
    expect(latestPublished([pub(50, 'c0'), pub(3, 'c1')], 'c1')).toEqual(pub(3, 'c1'));
    expect(latestPublished([pub(50, 'c0'), pub(3, 'c1')], undefined)).toEqual(pub(50, 'c0'));
    expect(latestPublished([undefined], 'c1')).toBeUndefined();
  });
});

describe('parsePresence', () => {
  it('reads the leases held, how far each hold reaches and what was seen published', () => {
    const p = parsePresence(Buffer.from('{"id":"x","held":1,"ready":["A","B"],"holds":["A"],"reach":{"B":["c1",80],"__proto__":["c1",3]},"published":{"A":["c1",99],"B":["c1",-1]}}'))!;
    expect(p.holds).toEqual(['A']);
    const kept = peerPresence(p, 42);
    expect(kept.at).toBe(42);
    expect([...kept.holds!]).toEqual(['A']);
    expect(kept.reach!.get('B')).toEqual(reach(80));
    expect(kept.reach!.get('__proto__')).toEqual(reach(3));
    expect([...kept.published!]).toEqual([['A', pub(99)]]); // a mark that is no sequence is left out
  });

  it('reads who, how many leases and which nodes it is ready for', () => {
    expect(parsePresence(Buffer.from('{"id":"x","held":2,"ready":["A"]}'))).toEqual({ id: 'x', held: 2, ready: ['A'] });
    expect(parsePresence(Buffer.from('{"id":"x","held":0}'))).toEqual({ id: 'x', held: 0, ready: undefined });
    expect(parsePresence(Buffer.from('{"id":"x","held":0,"ready":[1]}'))).toEqual({ id: 'x', held: 0, ready: undefined });
    expect(parsePresence(Buffer.from('not json'))).toBeUndefined();
    expect(parsePresence(Buffer.from('{"held":1}'))).toBeUndefined();
  });
});
