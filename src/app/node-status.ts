/**
 * This instance's FreeSWITCH nodes as `confmgr nodes` shows them: active, standby or unreachable
 * (the lease; without `ha.enabled` every node is active), connected or not, since when,
 * and the leases of each node won since start. Kept from the changes it is told about: a change of
 * the served set (`check()`), an ESL connection going up or down.
 */
import type { NodeStatus } from '../records/index.js';

export interface NodeStatusSources {
  instance: string;
  nodes: readonly string[];
  /** Whether this instance serves (is active for) the node. */
  serving(node: string): boolean;
  /** Whether its Event Socket connection is up. */
  connected(node: string): boolean;
  now?: () => number;
}

interface Tracked {
  state: NodeStatus['state'];
  connected: boolean;
  since: number;
  takeovers: number;
}

export class NodeStatusTracker {
  private readonly src: NodeStatusSources;
  private readonly now: () => number;
  private readonly tracked = new Map<string, Tracked>();

  constructor(src: NodeStatusSources) {
    this.src = src;
    this.now = src.now ?? Date.now;
    const at = this.now();
    for (const node of src.nodes) this.tracked.set(node, { ...this.observe(node), since: at, takeovers: 0 });
  }

  /** Something may have changed (served set, a connection): records what did, and when. */
  check(): void {
    for (const [node, t] of this.tracked) {
      const seen = this.observe(node);
      if (seen.state === t.state && seen.connected === t.connected) continue;
      if (seen.state === 'active' && t.state !== 'active') t.takeovers++;
      t.state = seen.state;
      t.connected = seen.connected;
      t.since = this.now();
    }
  }

  statuses(): NodeStatus[] {
    this.check();
    return [...this.tracked].map(([node, t]) => ({
      node,
      instance: this.src.instance,
      state: t.state,
      connected: t.connected,
      since: new Date(t.since).toISOString(),
      takeovers: t.takeovers,
    }));
  }

  private observe(node: string): { state: NodeStatus['state']; connected: boolean } {
    const connected = this.src.connected(node);
    const state = this.src.serving(node) ? 'active' : connected ? 'standby' : 'unreachable';
    return { state, connected };
  }
}
