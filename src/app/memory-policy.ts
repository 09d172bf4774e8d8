/**
 * When the service compacts its memory. Every resync is a burst (a whole listing, an event per
 * participant); once its events have left for RabbitMQ, one compacting GC hands that memory back
 * instead of V8 keeping it (bench state-service). A small node's resync leaves little to reclaim:
 * not worth a pause while events flow.
 */
import type { Logger } from '../util/index.js';
import type { ResyncResult } from '../state/index.js';
import { MemoryCompactor } from './memory-compactor.js';
import type { OutboundBuffer } from './resync-pacing.js';

/** How long a compaction waits for the resync's events to leave for RabbitMQ (a broker that is down
 * is not waited for: whenBufferedBelow returns at once then). */
export const COMPACT_SETTLE_MAX_WAIT_MS = 10_000;
/** Resyncs below this size (participants listed + events synthesized) are not followed by a compaction. */
export const COMPACT_MIN_RESYNC_SIZE = 1_000;

/** Whether a resync this big is followed by a compaction. */
export function worthCompacting(result: Pick<ResyncResult, 'participants' | 'synthesized'>): boolean {
  return result.participants + result.synthesized >= COMPACT_MIN_RESYNC_SIZE;
}

/**
 * The service's compactor (undefined when `memory.compact` is off), asked for a compaction after
 * every resync worth one; compactNow('startup') and close() stay the caller's.
 */
export function compactAfterResyncs(o: { enabled: boolean; buffer: OutboundBuffer; sync: { on(event: 'resynced', listener: (result: ResyncResult) => void): unknown }; logger: Logger }): MemoryCompactor | undefined {
  if (!o.enabled) return undefined;
  const compactor = new MemoryCompactor({
    settled: () => o.buffer.whenBufferedBelow(1, COMPACT_SETTLE_MAX_WAIT_MS),
    logger: o.logger,
  });
  o.sync.on('resynced', (result) => {
    if (worthCompacting(result)) compactor.request(`resync ${result.node}`);
  });
  return compactor;
}
