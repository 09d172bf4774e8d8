/** ResyncEventBuffer: holding a node's events during a resync, replaying them, and which later ones are stragglers. */
import { describe, expect, it } from 'vitest';
import { ResyncEventBuffer } from '../../src/state/event-buffer.js';
import type { ListedMember } from '../../src/conference/json-list.js';
import type { ConferenceEvent } from '../../src/conference/types.js';
import { event, member } from './registry.helpers.js';

/** A buffer on a clock the test moves (ms). */
function buffer(options: { maxBuffered?: number; stragglerWindowMs?: number } = {}) {
  const clock = { ms: 1_000_000 };
  const b = new ResyncEventBuffer({ maxBuffered: options.maxBuffered ?? 100, stragglerWindowMs: options.stragglerWindowMs ?? 10_000, now: () => clock.ms });
  return { b, clock };
}
/** A received event stamped `atMs` on the node's clock. */
const at = (atMs: number, action = 'mute-member'): ConferenceEvent => event(action, { member: member({ memberId: 1, callId: 'call-a' }), timestampUs: atMs * 1000 });

describe('ResyncEventBuffer', () => {
  it('holds events and replays them in arrival order, deduplicated only after a snapshot', () => {
    const { b } = buffer();
    const evs = [at(1), at(2), at(3)];
    for (const ev of evs) expect(b.hold(ev)).toBeUndefined();
    expect(b.size).toBe(3);
    const applied: [ConferenceEvent, boolean][] = [];
    expect(b.replay(true, (ev, dedupe) => applied.push([ev, dedupe]))).toBe(3);
    expect(applied).toEqual(evs.map((ev) => [ev, true]));
    expect(b.size).toBe(0);
    b.hold(evs[0]!);
    applied.length = 0;
    expect(b.replay(false, (ev, dedupe) => applied.push([ev, dedupe]))).toBe(1);
    expect(applied).toEqual([[evs[0], false]]);
    expect(b.replay(true, () => expect.unreachable())).toBe(0);
  });

  it('hands back the oldest event past maxBuffered', () => {
    const { b } = buffer({ maxBuffered: 2 });
    const evs = [at(1), at(2), at(3), at(4)];
    expect(b.hold(evs[0]!)).toBeUndefined();
    expect(b.hold(evs[1]!)).toBeUndefined();
    expect(b.hold(evs[2]!)).toBe(evs[0]);
    expect(b.hold(evs[3]!)).toBe(evs[1]);
    const held: ConferenceEvent[] = [];
    b.replay(true, (ev) => held.push(ev));
    expect(held).toEqual([evs[2], evs[3]]);
  });

  describe('stragglers', () => {
    /** Node clock 500 ms ahead of ours, sampled by one event; listing requested at our `requestedAtMs`. */
    function afterSnapshot(requestedAtMs: number, options: { stragglerWindowMs?: number } = {}) {
      const s = buffer(options);
      s.b.noteClock(at(s.clock.ms + 500)); // arrived the instant it happened
      s.b.snapshotApplied(requestedAtMs);
      return s;
    }

    it('is one stamped before the listing request on the node clock, less a 5 ms margin', () => {
      const { b, clock } = afterSnapshot(1_000_000 - 200);
      const requestOnNodeClock = clock.ms - 200 + 500;
      expect(b.isStraggler(at(requestOnNodeClock - 1_000))).toBe(true);
      expect(b.isStraggler(at(requestOnNodeClock - 6))).toBe(true);
      expect(b.isStraggler(at(requestOnNodeClock - 4))).toBe(false); // within the margin: cannot prove it older
      expect(b.isStraggler(at(requestOnNodeClock + 100))).toBe(false);
    });

    it('only within stragglerWindowMs after the snapshot', () => {
      const { b, clock } = afterSnapshot(1_000_000 - 200, { stragglerWindowMs: 50 });
      const old = at(1_000_000 - 10_000 + 500);
      expect(b.isStraggler(old)).toBe(true);
      clock.ms += 50;
      expect(b.isStraggler(old)).toBe(true);
      clock.ms += 1;
      expect(b.isStraggler(old)).toBe(false);
    });

    it('never without a clock sample, a snapshot, a timestamp, or for a synthesized event', () => {
      const noSample = buffer();
      noSample.b.snapshotApplied(noSample.clock.ms);
      expect(noSample.b.isStraggler(at(1))).toBe(false);

      const noSnapshot = buffer();
      noSnapshot.b.noteClock(at(noSnapshot.clock.ms));
      expect(noSnapshot.b.isStraggler(at(1))).toBe(false);

      const { b } = afterSnapshot(1_000_000);
      expect(b.isStraggler(at(1))).toBe(true);
      expect(b.isStraggler({ ...at(1), timestampUs: 0 })).toBe(false);
      expect(b.isStraggler({ ...at(1), synthesized: true })).toBe(false);
    });

    it('the offset bound is the largest sample: a delayed event does not lower it', () => {
      const { b, clock } = buffer();
      b.noteClock(at(clock.ms + 500));
      b.noteClock(at(clock.ms - 3_000)); // arrived 3.5 s late: says less about the offset
      b.noteClock({ ...at(clock.ms + 9_000), synthesized: true }); // ours: not a sample
      b.snapshotApplied(clock.ms);
      expect(b.isStraggler(at(clock.ms + 500 - 10))).toBe(true);
      expect(b.isStraggler(at(clock.ms + 500))).toBe(false);
    });

    it('a new connection forgets the clock sample and the snapshot, not the held events', () => {
      const { b } = afterSnapshot(1_000_000);
      const held = at(5);
      b.hold(held);
      b.newConnection();
      expect(b.isStraggler(at(1))).toBe(false);
      expect(b.size).toBe(1);
    });
  });

  it('lends channel variables from the latest held event of the same call, and returns the members still without', () => {
    const { b } = buffer();
    const withVars = (vars: Record<string, string>, extra: Partial<ReturnType<typeof member>> = {}) =>
      event('add-member', { member: member({ memberId: 2, callId: 'call-b', channelVars: vars, ...extra }) });
    b.hold(withVars({ account_id: 'old' }));
    b.hold(withVars({ account_id: 'acc-b' }, { channelName: 'sofia/internal/b', presenceId: 'b@example.com' }));
    b.hold(withVars({})); // carries none: does not hide the one before
    b.hold(event('dtmf-member'));
    const listed = (callId: string): ListedMember => ({ memberId: 2, callId }) as ListedMember;
    const members = [listed('call-b'), listed('call-c')];
    const without = b.lendChannelVars(members);
    expect(without).toEqual([members[1]]);
    expect(members[0]).toMatchObject({ channelVars: { account_id: 'acc-b' }, channelName: 'sofia/internal/b', presenceId: 'b@example.com' });
    expect(b.size).toBe(4); // lending takes nothing out
  });
});
