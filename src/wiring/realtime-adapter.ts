/**
 * The HTTP API's read-only view of live conferences (src/api/deps.ts RealtimeRegistry), read from the
 * conference registry at request time. Field mapping only.
 */
import type { LiveConference, LiveParticipant, RealtimeRegistry } from '../api/deps.js';
import { customChannelVars } from '../conference/payload.js';
import type { ConferenceInfo, ConferenceRegistry, ParticipantInfo } from '../conference/registry.js';

/** Seconds from 0000-01-01 to 1970-01-01: Kazoo's gregorian seconds (seed: join_time 63635217275). */
export const GREGORIAN_EPOCH_OFFSET_S = 62_167_219_200;

export function realtimeFromRegistry(registry: ConferenceRegistry, now: () => number = Date.now): RealtimeRegistry {
  const live = (info: ConferenceInfo): LiveConference => {
    const t = now();
    return {
      name: info.name,
      uuid: info.uuid,
      node: info.node,
      focus: info.switchname || info.node,
      is_locked: info.locked,
      duration: Math.max(0, Math.floor((t - info.startedAt) / 1000)),
      participants: registry.participants(info.name, info.node).map((p) => participant(info, p, t)),
    };
  };
  return {
    conferences: () => registry.conferences().map(live),
    conference: (name) => {
      const info = registry.conference(name);
      return info ? live(info) : undefined;
    },
  };
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
