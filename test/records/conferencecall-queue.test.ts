/**
 * The conferencecall tracker's queue: record changes run one at a time in arrival order without a
 * promise per event; an add-member's outcome (isNewParticipant) is there whether it is asked before or
 * after the write; whenQueuedBelow lets a producer (the resync's pacing) wait for the writes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStorage, type Storage } from '../../src/storage/index.js';
import { ConferenceDocuments } from '../../src/records/conference-documents.js';
import { ConferencecallTracker } from '../../src/records/conferencecall-tracker.js';
import { FakeExecutor, FakeRegistry, participantEvent } from '../helpers/api-fakes.js';

let storage: Storage | undefined;

afterEach(async () => {
  await storage?.close();
  storage = undefined;
});

function tracker(): { tracker: ConferencecallTracker; registry: FakeRegistry; storage: Storage } {
  storage = openSqliteStorage({ path: ':memory:' });
  const registry = new FakeRegistry();
  registry.start('room');
  const t = new ConferencecallTracker({
    storage,
    documents: new ConferenceDocuments(storage),
    registry,
    executor: new FakeExecutor(),
    nodeUp: () => true,
    defaultAccountId: 'acc',
  });
  return { tracker: t, registry, storage };
}

describe('ConferencecallTracker queue', () => {
  it('applies a burst of joins and leaves in arrival order; isNewParticipant asked before and after the write', async () => {
    const { tracker: t, storage: s } = tracker();
    const adds = Array.from({ length: 300 }, (_, i) => participantEvent('add-member', 'room', `call-${i}`, i + 1));
    for (const e of adds) t.handle(e);
    // Asked while queued: a promise made on demand.
    const early = t.isNewParticipant(adds[0]!);
    // The same call joining again before its first join is written: not new (the first created it).
    const again = participantEvent('add-member', 'room', 'call-0', 1);
    t.handle(again);
    for (let i = 0; i < 300; i += 2) t.handle(participantEvent('del-member', 'room', `call-${i}`, i + 1));
    expect(t.queued).toBeGreaterThan(0);
    await t.idle();
    expect(t.queued).toBe(0);
    await expect(early).resolves.toBe(true);
    await expect(t.isNewParticipant(adds[299]!)).resolves.toBe(true); // asked after the write
    await expect(t.isNewParticipant(again)).resolves.toBe(false);
    for (let i = 0; i < 300; i++) {
      const open = await s.conferencecalls.findActive('room', `call-${i}`);
      expect(open?.status, `call-${i}`).toBe(i % 2 === 0 ? undefined : 'joined');
    }
  });

  it('whenQueuedBelow waits for the writes, or at most maxWaitMs', async () => {
    const { tracker: t } = tracker();
    await t.whenQueuedBelow(1, 10_000); // nothing queued: at once
    for (let i = 0; i < 50; i++) t.handle(participantEvent('add-member', 'room', `c-${i}`, i + 1));
    let resolved = false;
    const waiting = t.whenQueuedBelow(10, 10_000).then(() => (resolved = true));
    expect(resolved).toBe(false);
    await waiting;
    expect(t.queued).toBeLessThan(10);
    for (let i = 0; i < 50; i++) t.handle(participantEvent('del-member', 'room', `c-${i}`, i + 1));
    const t0 = Date.now();
    await t.whenQueuedBelow(1, 0); // bounded: a slow storage never stops the producer
    expect(Date.now() - t0).toBeLessThan(1000);
    await t.idle();
  });

  it('a failed write rejects the add-member outcome and schedules a repair; later changes still run', async () => {
    const { tracker: t, storage: s } = tracker();
    const insert = s.conferencecalls.insert.bind(s.conferencecalls);
    let fail = true;
    s.conferencecalls.insert = async (r) => {
      if (fail) throw new Error('storage down');
      return insert(r);
    };
    const first = participantEvent('add-member', 'room', 'x', 1);
    t.handle(first);
    const outcome = t.isNewParticipant(first);
    await expect(outcome).rejects.toThrow('storage down');
    fail = false;
    const second = participantEvent('add-member', 'room', 'y', 2);
    t.handle(second);
    await t.idle();
    await expect(t.isNewParticipant(second)).resolves.toBe(true);
    expect(t.stats().failedWrites).toBe(1);
    expect(t.stats().repairPending).toBe(true);
    t.close();
  });
});
