/**
 * Readiness: ready only while serving, with the broker connected and every node both connected and
 * synced; the report names each node's state and sync and the broker's buffer.
 */
import { describe, expect, it } from 'vitest';
import type { NodeState } from '../../src/esl/types.js';
import { readinessReport, type ReadinessSources } from '../../src/app/readiness.js';

function sources(o: { nodes?: Array<[string, NodeState, string | undefined]>; connected?: boolean; blocked?: boolean; buffered?: number; serving?: boolean } = {}): ReadinessSources {
  const nodes = o.nodes ?? [
    ['fs1', 'up', 'synced'],
    ['fs2', 'up', 'synced'],
  ];
  return {
    nodes: () => nodes.map(([name, state]) => ({ name, state })),
    syncState: (node) => nodes.find(([n]) => n === node)?.[2],
    publishing: () => ({ connected: o.connected ?? true, blocked: o.blocked ?? false, buffered: o.buffered ?? 7 }),
    bufferedThreshold: 100,
    serving: () => o.serving ?? true,
  };
}

describe('readinessReport', () => {
  it('ready: serving, broker connected, every node up and synced', () => {
    expect(readinessReport(sources())).toEqual({
      ready: true,
      nodes: {
        fs1: { state: 'up', up: true, sync: 'synced', ready: true },
        fs2: { state: 'up', up: true, sync: 'synced', ready: true },
      },
      broker: { connected: true, buffered: 7, blocked: false },
    });
  });

  it('not ready when any one part is missing', () => {
    expect(readinessReport(sources({ serving: false })).ready).toBe(false);
    expect(readinessReport(sources({ connected: false })).broker).toMatchObject({ connected: false, reason: 'broker not connected' });
    expect(readinessReport(sources({ blocked: true })).broker).toMatchObject({ blocked: true, reason: 'broker blocked' });
    expect(readinessReport(sources({ blocked: true })).ready).toBe(false);
    expect(readinessReport(sources({ buffered: 101 })).broker).toMatchObject({ reason: 'buffer above 100' });
    expect(readinessReport(sources({ buffered: 100 })).ready).toBe(true);
    const stale = readinessReport(sources({ nodes: [['fs1', 'up', 'synced'], ['fs2', 'up', 'stale']] }));
    expect(stale.ready).toBe(false);
    expect(stale.nodes.fs2).toEqual({ state: 'up', up: true, sync: 'stale', ready: false });
    const down = readinessReport(sources({ nodes: [['fs1', 'connecting', 'synced']] }));
    expect(down.ready).toBe(false);
    expect(down.nodes.fs1).toMatchObject({ up: false, ready: false });
  });

  it('a node without a sync state yet is pending', () => {
    const r = readinessReport(sources({ nodes: [['fs1', 'up', undefined]] }));
    expect(r.nodes.fs1).toEqual({ state: 'up', up: true, sync: 'pending', ready: false });
    expect(r.ready).toBe(false);
  });
});
