/**
 * The conferencecall tracker when its storage fails for a while (PostgreSQL restarting; here a storage
 * whose conferencecall writes and reads throw while `down`): the events are not replayed, but once the
 * storage answers again a repair makes the records match the live calls — a call that left meanwhile
 * ends `leaved`, a call that joined meanwhile gets one `joined` record — and nothing is duplicated.
 * The end-to-end form, with a real PostgreSQL stopped and started, is in postgres-faults.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConferenceCommandExecutor, OutboundEvent } from '../../src/conference/types.js';
import { createRecords, type Records } from '../../src/records/records.js';
import type { LiveConference, RealtimeRegistry } from '../../src/records/live.js';
import { openSqliteStorage } from '../../src/storage/sqlite.js';
import type { ConferencecallStore, Storage } from '../../src/storage/types.js';
import { waitUntil } from '../helpers/rel-service.js';

/** Live state: conference → call id → member id. */
class FakeRegistry implements RealtimeRegistry {
  readonly calls = new Map<string, Map<string, number>>();
  conferences(): LiveConference[] {
    return [...this.calls.keys()].map((n) => this.conference(n)!);
  }
  conference(name: string): LiveConference | undefined {
    const members = this.calls.get(name);
    if (!members) return undefined;
    return {
      name,
      uuid: `uuid-${name}`,
      node: 'fs1',
      focus: 'fs1',
      is_locked: false,
      duration: 0,
      participants: [...members].map(([call_id, participant_id]) => ({ call_id, participant_id }) as LiveConference['participants'][number]),
    };
  }
}

/** A storage whose conferencecall operations reject while `down` (as a pg pool does with the server gone). */
function flaky(inner: Storage): { storage: Storage; setDown(down: boolean): void } {
  let down = false;
  const calls = new Proxy(inner.conferencecalls, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => (down ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')) : (v as (...a: unknown[]) => unknown).apply(target, args));
    },
  }) as ConferencecallStore;
  const storage: Storage = {
    kind: inner.kind,
    conferences: inner.conferences,
    conferencecalls: calls,
    schemaVersion: () => inner.schemaVersion(),
    close: () => inner.close(),
  };
  return { storage, setDown: (d) => (down = d) };
}

const noExecutor: ConferenceCommandExecutor = {
  execute: () => Promise.reject(new Error('no commands in this test')),
};

let records: Records | undefined;
let store: Storage | undefined;
afterEach(async () => {
  await records?.close();
  await store?.close();
  records = undefined;
  store = undefined;
});

describe('conferencecall records across a storage outage', () => {
  it('failed writes schedule a repair that closes gone calls and opens live ones once the storage is back', async () => {
    store = await openSqliteStorage({ path: ':memory:' });
    const { storage, setDown } = flaky(store);
    const registry = new FakeRegistry();
    const listeners: Array<(e: OutboundEvent) => void> = [];
    records = createRecords({
      storage,
      registry,
      executor: noExecutor,
      nodeUp: () => true,
      events: {
        subscribe(l) {
          listeners.push(l);
          return () => listeners.splice(listeners.indexOf(l), 1);
        },
      },
    });
    const emit = (event: string, callId: string, memberId: number) => {
      const members = registry.calls.get('conf') ?? new Map<string, number>();
      registry.calls.set('conf', members);
      if (event === 'add-member') members.set(callId, memberId);
      if (event === 'del-member') members.delete(callId);
      const e: OutboundEvent = { event, conferenceId: 'conf', callId, timestampUs: Date.now() * 1000, payload: { call_id: callId, participant_id: memberId } };
      for (const l of listeners) l(e);
    };
    const statuses = async () => {
      const all = await store!.conferencecalls.list({ customerId: '', pageSize: 100 });
      return Object.fromEntries([...new Set(all.map((r) => r.reference_id))].map((c) => [c, all.filter((r) => r.reference_id === c).map((r) => r.status)]));
    };

    emit('add-member', 'a', 1);
    emit('add-member', 'b', 2);
    await records.idle();
    expect(await statuses()).toEqual({ a: ['joined'], b: ['joined'] });

    setDown(true);
    emit('del-member', 'a', 1); // lost: the record would stay joined forever without the repair
    emit('add-member', 'c', 3); // lost: no record at all without the repair
    await records.idle();
    expect(records.tracker.stats()).toMatchObject({ failedWrites: 2, repairPending: true });
    await new Promise((r) => setTimeout(r, 800)); // the first repair attempt (after 500 ms) fails: still down
    expect(records.tracker.stats()).toMatchObject({ repairs: 0, repairPending: true });

    setDown(false);
    await waitUntil('a repair', () => records!.tracker.stats().repairs === 1, 5_000);
    expect(await statuses()).toEqual({ a: ['leaved'], b: ['joined'], c: ['joined'] });
    expect(records.tracker.stats().repairPending).toBe(false);

    // Writes go on as before, and a second repair changes nothing.
    emit('del-member', 'b', 2);
    await records.idle();
    expect(await records.tracker.repair()).toEqual({ closed: 0, opened: 0 });
    expect(await statuses()).toEqual({ a: ['leaved'], b: ['leaved'], c: ['joined'] });
  });
});
