/**
 * Shared vocabulary of the conference domain: commands, typed events, participant payloads.
 * Other layers (bus, api, cli) import these types; they never build ESL strings themselves.
 */

// ---------------------------------------------------------------------------------------------
// Commands

/** A member id, or one of mod_conference's target keywords. */
export type MemberTarget = number | 'all' | 'last' | 'non_moderator';

export type MemberAction = 'mute' | 'unmute' | 'tmute' | 'deaf' | 'undeaf' | 'kick' | 'hup' | 'hold' | 'unhold';
export type LevelAction = 'energy' | 'volume_in' | 'volume_out';

export type ConferenceCommand =
  | { kind: 'lock' | 'unlock'; conference: string }
  | { kind: MemberAction; conference: string; target: MemberTarget; quiet?: boolean }
  /** `value` absent reads the current level. */
  | { kind: LevelAction; conference: string; target: MemberTarget; value?: number }
  | { kind: 'relate'; conference: string; member: number; other: number; relation: 'nospeak' | 'nohear' | 'clear' }
  | { kind: 'dtmf'; conference: string; target: MemberTarget; digits: string }
  | { kind: 'floor'; conference: string; member: number }
  /** File path/URL or tone_stream://...; to one member when `member` is set; `async` mixes instead of queueing. */
  | { kind: 'play'; conference: string; file: string; member?: number; async?: boolean; /** Member play only: do not mix into the conference. */ nomux?: boolean }
  | { kind: 'stop'; conference: string; which: 'current' | 'all'; member?: number }
  | { kind: 'record'; conference: string; path: string }
  | { kind: 'norecord'; conference: string; path: string | 'all' }
  | { kind: 'get'; conference: string; param: string }
  /** `set <param> <value>`: mod_conference answers the previous value. */
  | { kind: 'set'; conference: string; param: SetParam; value: string }
  /** Text to speech through the profile's TTS engine: `say <text>`, or `saymember <member> <text>`. */
  | { kind: 'say'; conference: string; text: string; member?: number }
  | { kind: 'count' | 'list' | 'json_list'; conference: string };

/** Parameters `conference <name> set` changes that confmgr allows (conference_api_sub_set). */
export type SetParam = 'max_members' | 'caller_id_name' | 'caller_id_number';

export type ConferenceCommandKind = ConferenceCommand['kind'];

export interface CommandResult {
  /** The exact api string that went to FreeSWITCH (without the `api ` prefix). */
  command: string;
  /** The node that ran it. */
  node: string;
  /** FreeSWITCH's reply body, trimmed. */
  reply: string;
  /** Parsed data where the command returns some (get, count, energy read, json_list...). */
  data?: unknown;
}

// ---------------------------------------------------------------------------------------------
// Events

/** A conference member as FreeSWITCH's member events describe it. */
export interface MemberState {
  memberId: number;
  /** Unique-ID of the member's channel (the conference leg; for loopback calls the -b leg). */
  callId: string;
  callerIdName: string;
  callerIdNumber: string;
  isModerator: boolean;
  hear: boolean;
  see: boolean;
  speak: boolean;
  talking: boolean;
  floor: boolean;
  hold: boolean;
  muteDetect: boolean;
  video: boolean;
  ghost: boolean;
  energyLevel: number;
  currentEnergy: number;
  /** Channel variables from `variable_*` headers (present when the profile has verbose events). */
  channelVars: Record<string, string>;
  channelName?: string;
  presenceId?: string;
}

export interface ConferenceEvent {
  /** FreeSWITCH's `Action` header, e.g. `add-member`; unknown actions pass through unchanged. */
  action: string;
  /** Whether `action` is one this version knows; unknown ones are still delivered. */
  known: boolean;
  /** The confmgr name of the node that sent it (config `freeswitch.nodes[].name`). */
  node: string;
  /** FreeSWITCH-Switchname (Kazoo's `focus`). */
  switchname: string;
  coreUuid: string;
  conferenceName: string;
  conferenceUuid: string;
  conferenceDomain?: string;
  profile?: string;
  conferenceSize?: number;
  /** Event-Date-Timestamp in microseconds since the epoch. */
  timestampUs: number;
  sequence: number;
  /** Present on member events (the event has a Member-ID). */
  member?: MemberState;
  /** Action-specific values, typed: e.g. floor-change Old-ID/New-ID, play-file File, dtmf-member Digits. */
  details: Record<string, string | number | boolean | null>;
  /** True when confmgr made the event up during a resync instead of receiving it. */
  synthesized: boolean;
  /** Every header as received (decoded), for consumers that need more. Shared with the EslEvent: do not mutate. */
  headers: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Payloads published to consumers (AMQP, WebSocket)

/** Kazoo's participant event (Kazoo `participant_event`), plus `is_moderator` and confmgr extras. */
export interface ParticipantEventPayload {
  custom_channel_vars: Record<string, unknown>;
  channel_presence_id?: string;
  caller_id_number: string;
  caller_id_name: string;
  mute_detect: boolean;
  video: boolean;
  energy_level: number;
  current_energy: number;
  talking: boolean;
  speak: boolean;
  hear: boolean;
  floor: boolean;
  participant_id: number;
  instance_id: string;
  conference_id: string;
  focus: string;
  call_id: string;
  event: string;
  node: string;
  msg_id: string;
  event_name: 'participant_event';
  event_category: 'conference';
  app_name: string;
  app_version: string;
  routing_key: string;
  is_moderator: boolean;
  [extra: string]: unknown;
}

/**
 * Payload of conference-level events (conference-create/-destroy, lock/unlock, play-file, recording,
 * floor-change to nobody…): the participant event's family without the member fields.
 * Built by src/conference/payload.ts; documented in src/conference/README.md.
 */
export interface ConferenceEventPayload {
  instance_id: string;
  conference_id: string;
  focus: string;
  event: string;
  node: string;
  msg_id: string;
  event_name: 'conference_event';
  event_category: 'conference';
  app_name: string;
  app_version: string;
  routing_key: string;
  /** Conference-Size: members in the conference after the event. */
  participants?: number;
  /** lock → true, unlock → false; absent on other events. */
  is_locked?: boolean;
  /** Action-specific values (ConferenceEvent.details), e.g. File, Path, Old-ID/New-ID. */
  details?: Record<string, string | number | boolean | null>;
  [extra: string]: unknown;
}

/** What the conference layer hands to a publisher: where it goes and what it says. */
export interface OutboundEvent {
  /** Event name used by the `publish_participant_event` filter (the Action, e.g. `mute-member`). */
  event: string;
  conferenceId: string;
  /** The participant's call id; undefined for conference-level events. */
  callId?: string;
  /** Microseconds since the epoch, from FreeSWITCH's Event-Date-Timestamp (for latency figures). */
  timestampUs: number;
  payload: Record<string, unknown>;
  /** True when confmgr made the event up during a resync (ConferenceEvent.synthesized); absent = received. */
  synthesized?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Seams between the conference domain and its neighbours

/** Knows which FreeSWITCH node hosts a conference (the registry implements it). */
export interface ConferenceLocator {
  /** The configured node name hosting `conference`; rejects with ConferenceNotFoundError / NodeDownError. */
  nodeFor(conference: string): Promise<string>;
}

/** Runs conference commands; the bus command intake, HTTP API and CLI all call this one seam. */
export interface ConferenceCommandExecutor {
  execute(command: ConferenceCommand): Promise<CommandResult>;
}
