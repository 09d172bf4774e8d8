/** `confmgr nodes`' source on one instance: state, connection, since when, leases won per node. */
import { describe, expect, it } from 'vitest';
import { NodeStatusTracker } from '../../src/app/node-status.js';

describe('NodeStatusTracker', () => {
  it('tracks active/standby/unreachable, the connection, when either last changed, and takeovers', () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const serving = new Set<string>();
    const up = new Set<string>();
    const t = new NodeStatusTracker({ instance: 'X', nodes: ['fsA', 'fsB'], serving: (n) => serving.has(n), connected: (n) => up.has(n), now: () => now });
    expect(t.statuses()).toEqual([
      { node: 'fsA', instance: 'X', state: 'unreachable', connected: false, since: '2026-01-01T00:00:00.000Z', takeovers: 0 },
      { node: 'fsB', instance: 'X', state: 'unreachable', connected: false, since: '2026-01-01T00:00:00.000Z', takeovers: 0 },
    ]);
    now += 1000;
    up.add('fsA');
    up.add('fsB');
    t.check();
    now += 1000;
    serving.add('fsA');
    t.check();
    now += 5000;
    const s = t.statuses();
    expect(s.map((n) => [n.node, n.state, n.connected, n.since, n.takeovers])).toEqual([
      ['fsA', 'active', true, '2026-01-01T00:00:02.000Z', 1],
      ['fsB', 'standby', true, '2026-01-01T00:00:01.000Z', 0],
    ]);
    // Lost and won again: a second takeover; an unchanged check moves nothing.
    serving.delete('fsA');
    t.check();
    serving.add('fsA');
    now += 1000;
    t.check();
    t.check();
    expect(t.statuses()[0]).toMatchObject({ state: 'active', takeovers: 2, since: '2026-01-01T00:00:08.000Z' });
  });

  it('without leases every node is served: active from the start, no takeover counted', () => {
    const t = new NodeStatusTracker({ instance: 'X', nodes: ['fs1'], serving: () => true, connected: () => false });
    expect(t.statuses()).toMatchObject([{ node: 'fs1', state: 'active', connected: false, takeovers: 0 }]);
  });
});
