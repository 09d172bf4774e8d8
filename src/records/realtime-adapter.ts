/**
 * The HTTP API's read-only view of live conferences (src/records/live.ts RealtimeRegistry), read from the
 * conference registry at request time. Field mapping only.
 */
import type { LiveConference, LiveParticipant, RealtimeRegistry } from './live.js';
import { customChannelVars } from '../conference/payload.js';
import { accountOfParticipant } from './account.js';
import type { MemberState } from '../conference/types.js';
import type { ConferenceInfo, ConferenceRegistry, ParticipantInfo } from '../state/registry.js';
import { GREGORIAN_EPOCH_OFFSET_S } from '../state/read-only-view.js';


export function realtimeFromRegistry(registry: ConferenceRegistry, now: () => number = Date.now): RealtimeRegistry {
  const live = (info: ConferenceInfo): LiveConference => {
    const t = now();
    const view: LiveConference = {
      name: info.name,
      uuid: info.uuid,
      node: info.node,
      focus: info.switchname || info.node,
      is_locked: info.locked,
      duration: Math.max(0, Math.floor((t - info.startedAt) / 1000)),
      // Built on first read: most callers (one per event) only want the node or the lock state, and
      // building every participant's view for each of them was most of a resync burst's garbage.
      get participants(): LiveParticipant[] {
        const built = registry.participants(info.name, info.node).map((p) => participant(info, p, t));
        Object.defineProperty(this, 'participants', { value: built, enumerable: true, writable: true });
        return built;
      },
    };
    // Not enumerable: a JSON view of the conference stays the seed's fields.
    Object.defineProperty(view, 'participantsAccount', { value: () => accountOfMembers(registry.memberStates(info.name, info.node)) });
    Object.defineProperty(view, 'callIds', { value: () => Array.from(registry.memberStates(info.name, info.node), (m) => m.callId) });
    return view;
  };
  return {
    conferences: () => registry.conferences().map(live),
    conference: (name) => {
      const info = registry.conference(name);
      return info ? live(info) : undefined;
    },
  };
}

/** account.ts rule 2 on the registry's own member states: lowest member id first, no view built. */
function accountOfMembers(members: Iterable<Readonly<MemberState>>): string | undefined {
  let best: { id: number; account: string } | undefined;
  for (const m of members) {
    if (best && m.memberId > best.id) continue;
    const account = accountOfParticipant({ channel_vars: m.channelVars });
    if (account !== undefined) best = { id: m.memberId, account };
  }
  return best?.account;
}

function participant(info: ConferenceInfo, p: ParticipantInfo, nowMs: number): LiveParticipant {
  const view = {
    call_id: p.callId,
    conference_name: info.name,
    conference_uuid: info.uuid,
    switch_hostname: info.hostname,
    floor: p.floor,
    hear: p.hear,
    speak: p.speak,
    talking: p.talking,
    mute_detect: p.muteDetect,
    participant_id: p.memberId,
    energy_level: p.energyLevel,
    current_energy: p.currentEnergy,
    video: p.video,
    is_moderator: p.isModerator,
    join_time: Math.floor(p.joinedAt / 1000) + GREGORIAN_EPOCH_OFFSET_S,
    duration: Math.max(0, Math.floor((nowMs - p.joinedAt) / 1000)),
    channel_vars: p.channelVars,
    custom_channel_vars: customChannelVars(p.channelVars),
    // Not in the seed's participant object; operators' tables show who is who.
    caller_id_name: p.callerIdName,
    caller_id_number: p.callerIdNumber,
  };
  return view as LiveParticipant;
}
