/**
 * Ready = able to serve: running and not stopping, the broker connected, and every node connected
 * AND its conference state rebuilt (a node whose json_list keeps failing is connected but its state
 * is stale). /readyz reports it (src/app/http-server.ts).
 */
import type { NodeState } from '../esl/index.js';
import { publishingHealth, type PublishingStats } from '../bus/index.js';
import type { ReadinessReport } from './http-server.js';

export interface ReadinessSources {
  /** The configured nodes' connection states (EslCluster). */
  nodes(): ReadonlyArray<{ name: string; state: NodeState }>;
  /** A node's conference-state sync (ConferenceStateSync.state); undefined before it has one. */
  syncState(node: string): string | undefined;
  /** The AMQP publisher's state (connected, blocked by the broker, buffered). */
  publishing(): PublishingStats;
  /** Publishing counts as unhealthy once more than this many events wait in the buffer. */
  bufferedThreshold: number;
  /** Started and not stopping. */
  serving(): boolean;
  /** Standby pairs (absent without): the node's lease state, and whether the lease connection is up. */
  leases?: { state(node: string): 'active' | 'standby' | 'unreachable'; connected(): boolean };
}

export function readinessReport(s: ReadinessSources): ReadinessReport {
  const nodes: ReadinessReport['nodes'] = {};
  for (const p of s.nodes()) {
    const up = p.state === 'up';
    const sync = s.syncState(p.name) ?? 'pending';
    nodes[p.name] = { state: p.state, up, sync, ready: up && sync === 'synced', ...(s.leases ? { lease: s.leases.state(p.name) } : {}) };
  }
  const stats = s.publishing();
  const publishing = publishingHealth(stats, s.bufferedThreshold);
  const broker = { connected: stats.connected, buffered: stats.buffered, blocked: stats.blocked, ...(publishing.ok ? {} : { reason: publishing.reason }) };
  // A standby is ready when it could take over: its nodes synced, the broker and its lease connection up.
  const leaseOk = s.leases?.connected() ?? true;
  const ready = s.serving() && publishing.ok && leaseOk && Object.values(nodes).every((n) => n.ready);
  return { ready, nodes, broker: leaseOk ? broker : { ...broker, reason: broker.reason ?? 'lease connection down' } };
}
