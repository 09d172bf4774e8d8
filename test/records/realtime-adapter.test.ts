/**
 * The API's live view over the registry: participants built on first read (one event at a time asks
 * only for the node), and the account rule read straight from the member states giving the same
 * answer as the rule applied to the built participants.
 */
import { describe, expect, it, vi } from 'vitest';
import { ConferenceRegistry } from '../../src/state/registry.js';
import { realtimeFromRegistry } from '../../src/records/realtime-adapter.js';
import { accountOfLive } from '../../src/records/account.js';
import type { LiveConference } from '../../src/records/live.js';
import { event, member } from '../state/registry.helpers.js';

function registryWith(members: Parameters<typeof member>[0][]): ConferenceRegistry {
  const registry = new ConferenceRegistry();
  registry.apply(event('conference-create'));
  for (const m of members) registry.apply(event('add-member', { member: member(m) }));
  return registry;
}

/** The rule applied to the built participants (the view without its shortcut). */
function accountFromParticipants(live: LiveConference): string | undefined {
  return accountOfLive({ ...live, participants: live.participants });
}

describe('realtimeFromRegistry', () => {
  it('builds participants on first read only, then keeps that array; JSON has the seed fields only', () => {
    const registry = registryWith([{ memberId: 2, callId: 'b' }, { memberId: 1, callId: 'a' }]);
    const live = realtimeFromRegistry(registry).conference('room')!;
    expect(live.node).toBe('fs1');
    const first = live.participants;
    expect(first.map((p) => p.participant_id)).toEqual([1, 2]);
    expect(live.participants).toBe(first);
    const json = JSON.parse(JSON.stringify(live)) as Record<string, unknown>;
    expect(Object.keys(json).sort()).toEqual(['duration', 'focus', 'is_locked', 'name', 'node', 'participants', 'uuid']);
  });

  it("focus: the node's name by default (Kazoo's focus names the node), FreeSWITCH-Switchname when configured", () => {
    const registry = registryWith([{ memberId: 1, callId: 'a' }]);
    expect(realtimeFromRegistry(registry).conference('room')!.focus).toBe('fs1');
    expect(realtimeFromRegistry(registry, { focus: 'node_name' }).conference('room')!.focus).toBe('fs1');
    expect(realtimeFromRegistry(registry, { focus: 'switchname' }).conference('room')!.focus).toBe('fs1-switch');
  });

  it('callIds() lists the call ids without building participants', () => {
    const registry = registryWith([{ memberId: 2, callId: 'b' }, { memberId: 1, callId: 'a' }]);
    const built = vi.spyOn(registry, 'participants');
    const live = realtimeFromRegistry(registry).conference('room')!;
    expect(live.callIds!().sort()).toEqual(['a', 'b']);
    expect(built).not.toHaveBeenCalled(); // participants still not built
    expect(live.callIds!().sort()).toEqual(live.participants.map((p) => p.call_id).sort());
  });

  it.each([
    ['nobody names an account', [{}, {}], undefined],
    ['lowest member id with one wins', [{ 'ecallmgr_Account-ID': 'acc-3' }, { account_id: 'acc-1' }, {}], 'acc-1'],
    ['Kazoo CCV before plain account_id on the same member', [{}, { account_id: 'plain', 'ecallmgr_Account-ID': 'kazoo' }], 'kazoo'],
    ['an empty value does not count', [{ account_id: '' }, { account_id: 'acc-2' }], 'acc-2'],
  ])('account from member states = account from participants: %s', (_name, varsByMember, expected) => {
    // Member ids 3, 1, 2 … in join order: the rule is by member id, not by join order.
    const ids = [3, 1, 2];
    const registry = registryWith(varsByMember.map((v, i) => ({ memberId: ids[i]!, callId: `c${i}`, channelVars: v as Record<string, string> })));
    const live = realtimeFromRegistry(registry).conference('room')!;
    expect(live.participantsAccount!()).toBe(expected);
    expect(accountFromParticipants(live)).toBe(expected);
    expect(accountOfLive(live)).toBe(expected);
  });
});
