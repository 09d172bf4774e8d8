/**
 * Metrics of the HTTP server's connection gate, on the service's registry: open connections by slot
 * (`regular`, `reserve`) read at scrape time, refusals counted by reason. Registered once per registry;
 * a server started again on the same registry points the gauge at its own gate.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ConnectionGate, RefusalReason } from './connection-gate.js';

export interface ConnectionMetrics {
  /** The gate whose open connections the gauge reports. */
  track(gate: ConnectionGate): void;
  refused(reason: RefusalReason): void;
}

const byRegistry = new WeakMap<Registry, ConnectionMetrics>();

export function connectionMetrics(registry: Registry, prefix = 'confmgr_'): ConnectionMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  let tracked: ConnectionGate | undefined;
  const refused = new Counter({
    name: `${prefix}http_connections_refused_total`,
    help: 'HTTP/WebSocket connections refused when accepted, by reason (max_connections, max_connections_per_address)',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of ['max_connections', 'max_connections_per_address'] as const) refused.inc({ reason }, 0);
  new Gauge({
    name: `${prefix}http_connections`,
    help: 'Open HTTP/WebSocket connections, by slot (regular; reserve: beyond the caps, operations routes only)',
    labelNames: ['slot'],
    registers: [registry],
    collect() {
      const open = tracked?.open ?? { regular: 0, reserve: 0 };
      this.set({ slot: 'regular' }, open.regular);
      this.set({ slot: 'reserve' }, open.reserve);
    },
  });
  const metrics: ConnectionMetrics = {
    track: (gate) => {
      tracked = gate;
    },
    refused: (reason) => refused.inc({ reason }),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
