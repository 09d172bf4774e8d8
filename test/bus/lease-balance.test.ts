import { describe, expect, it } from 'vitest';
import { leaseToGiveUp, parsePresence, type PeerPresence } from '../../src/bus/lease-balance.js';

const peer = (held: number, ready?: string[]): PeerPresence => ({ held, at: 0, ready: ready ? new Set(ready) : undefined });

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

  it('counts only peers under their share as takers', () => {
    expect(leaseToGiveUp({ won: ['A', 'B'], peers: [peer(1, ['A', 'B'])], share: 1 })).toBeUndefined();
    expect(leaseToGiveUp({ won: ['A', 'B'], peers: [peer(1, ['A', 'B']), peer(0, ['B'])], share: 1 })).toBe('B');
  });
});

describe('parsePresence', () => {
  it('reads who, how many leases and which nodes it is ready for', () => {
    expect(parsePresence(Buffer.from('{"id":"x","held":2,"ready":["A"]}'))).toEqual({ id: 'x', held: 2, ready: ['A'] });
    expect(parsePresence(Buffer.from('{"id":"x","held":0}'))).toEqual({ id: 'x', held: 0, ready: undefined });
    expect(parsePresence(Buffer.from('{"id":"x","held":0,"ready":[1]}'))).toEqual({ id: 'x', held: 0, ready: undefined });
    expect(parsePresence(Buffer.from('not json'))).toBeUndefined();
    expect(parsePresence(Buffer.from('{"held":1}'))).toBeUndefined();
  });
});
