/**
 * When the service compacts memory: after a resync of at least COMPACT_MIN_RESYNC_SIZE (participants
 * listed + events synthesized), never after a smaller one, never when memory.compact is off; the
 * compaction waits for the publisher's buffer to drain, within COMPACT_SETTLE_MAX_WAIT_MS.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/util/log.js';
import { TypedEmitter } from '../../src/util/emitter.js';
import type { ResyncResult, StateSyncEvents } from '../../src/state/node-sync.js';
import { MemoryCompactor } from '../../src/app/memory-compactor.js';
import { COMPACT_MIN_RESYNC_SIZE, COMPACT_SETTLE_MAX_WAIT_MS, compactAfterResyncs, worthCompacting } from '../../src/app/memory-policy.js';

/** The state sync's 'resynced' event, fired by hand. */
class FakeSync extends TypedEmitter<StateSyncEvents> {
  resynced(result: ResyncResult): void {
    this.emit('resynced', result);
  }
}

const resync = (node: string, participants: number, synthesized: number) => ({ node, participants, synthesized }) as ResyncResult;

afterEach(() => vi.restoreAllMocks());

describe('memory policy', () => {
  it('a resync is worth a compaction from COMPACT_MIN_RESYNC_SIZE participants + synthesized events', () => {
    expect(worthCompacting({ participants: COMPACT_MIN_RESYNC_SIZE - 1, synthesized: 0 })).toBe(false);
    expect(worthCompacting({ participants: COMPACT_MIN_RESYNC_SIZE / 2, synthesized: COMPACT_MIN_RESYNC_SIZE / 2 })).toBe(true);
    expect(worthCompacting({ participants: 0, synthesized: COMPACT_MIN_RESYNC_SIZE })).toBe(true);
  });

  it('asks for a compaction after each big resync only, waiting for the buffer within the settle bound', async () => {
    const requests: string[] = [];
    vi.spyOn(MemoryCompactor.prototype, 'request').mockImplementation((reason: string) => void requests.push(reason));
    const waits: Array<[number, number]> = [];
    const sync = new FakeSync();
    const compactor = compactAfterResyncs({
      enabled: true,
      buffer: { whenBufferedBelow: async (n, ms) => void waits.push([n, ms]) },
      sync,
      logger: silentLogger,
    });
    expect(compactor).toBeInstanceOf(MemoryCompactor);
    sync.resynced(resync('small', 10, 12));
    sync.resynced(resync('big', COMPACT_MIN_RESYNC_SIZE, 100));
    expect(requests).toEqual(['resync big']);
    // What a requested compaction waits for first: the whole buffer gone, within the settle bound.
    await (compactor as unknown as { settled: () => Promise<void> }).settled();
    expect(waits).toEqual([[1, COMPACT_SETTLE_MAX_WAIT_MS]]);
    compactor!.close();
  });

  it('memory.compact off: no compactor, nothing listens to resyncs', () => {
    const sync = new FakeSync();
    expect(compactAfterResyncs({ enabled: false, buffer: { whenBufferedBelow: async () => undefined }, sync, logger: silentLogger })).toBeUndefined();
    expect(sync.listenerCount('resynced')).toBe(0);
  });
});
