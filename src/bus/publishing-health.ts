/**
 * Whether events are leaving for the broker as they should: the readiness rule for the publishing
 * side. Pure: it reads a publisher's stats and says why it is not healthy, for /readyz.
 *
 * Not healthy when the broker is not connected, when it blocks publishing (a RabbitMQ resource alarm:
 * memory or disk; events then only pile up in the buffer), or when more than `bufferThreshold`
 * events wait to be sent (the broker takes them slower than they come: past `buffer_size` the
 * oldest would be dropped).
 */
import type { PublisherStats } from './publisher.js';

export type PublishingHealth = { ok: true } | { ok: false; reason: string };
export type PublishingStats = Pick<PublisherStats, 'connected' | 'blocked' | 'buffered'>;

export function publishingHealth(
  stats: PublishingStats,
  bufferThreshold: number,
): PublishingHealth {
  if (!stats.connected) return { ok: false, reason: 'broker not connected' };
  if (stats.blocked) return { ok: false, reason: 'broker blocked' };
  if (stats.buffered > bufferThreshold) return { ok: false, reason: `buffer above ${bufferThreshold}` };
  return { ok: true };
}
