/** The simulator's state: conferences, their members, and the member's (loopback -b leg) channel. */

export interface ProfileConfig {
  readonly name: string;
  readonly rate: number;
  readonly domain: string;
  /** Default member energy threshold (100 in the fixtures' FreeSWITCH). */
  readonly energyLevel: number;
  readonly enterSound?: string;
  readonly exitSound?: string;
  readonly mutedSound?: string;
  readonly unmutedSound?: string;
  readonly lockedSound?: string;
  readonly unlockedSound?: string;
  /** mod_conference's `max-members`: a join beyond it is refused (the `conference` app plays maxMembersSound). */
  readonly maxMembers?: number;
  readonly maxMembersSound?: string;
  /** The profile's tts-engine: `say` / `saymember` fail with `(say) Error!` without one. */
  readonly ttsEngine?: string;
}

/** The profile the fixtures' FreeSWITCH used (sounds are the tones the fixtures show). */
export const DEFAULT_PROFILE: ProfileConfig = {
  name: 'default',
  rate: 8000,
  domain: '127.0.0.1',
  energyLevel: 100,
  enterSound: 'tone_stream://%(200,0,500,600,700)',
  exitSound: 'tone_stream://%(500,0,300,200,100,50,25)',
  mutedSound: 'tone_stream://%(100,0,300)',
  unmutedSound: 'tone_stream://%(100,0,600)',
  lockedSound: 'tone_stream://%(100,0,900)',
  unlockedSound: 'tone_stream://%(100,0,1200)',
  ttsEngine: 'flite',
};

/**
 * What mod_conference uses for a profile conference.conf does not define: conference_new's compiled-in
 * defaults (no sounds, no TTS); the conference reports its profile as `none`.
 */
export const BUILTIN_PROFILE: ProfileConfig = {
  name: 'none',
  rate: 8000,
  domain: '127.0.0.1',
  energyLevel: 0,
};

/**
 * How a dialled endpoint answers an `originate` (ConferenceEngine.setDialOutcome): it answers (after
 * `afterMs`), is busy (USER_BUSY), rings until originate_timeout (NO_ANSWER) or fails with `cause`.
 */
export type DialAnswer =
  | { kind: 'answer'; afterMs?: number }
  | { kind: 'busy'; afterMs?: number }
  | { kind: 'no_answer' }
  | { kind: 'fail'; cause: string; afterMs?: number };

export interface Channel {
  /** The member's channel (the loopback -b leg): Unique-ID in member events. */
  readonly uuid: string;
  /** The leg `originate` answered with (+OK <uuid>). */
  readonly peerUuid: string;
  readonly name: string;
  readonly destination: string;
  readonly context: string;
  readonly callerIdName: string | undefined;
  readonly callerIdNumber: string;
  readonly createdUs: number;
  readonly vars: Readonly<Record<string, string>>;
  hangupCause: string | undefined;
}

export interface Member {
  readonly id: number;
  readonly conference: Conference;
  readonly channel: Channel;
  readonly moderator: boolean;
  /** The join flags the `conference` application was given (`+flags{…}`), in order. */
  readonly joinFlags: readonly string[];
  canHear: boolean;
  canSpeak: boolean;
  talking: boolean;
  hold: boolean;
  muteDetect: boolean;
  video: boolean;
  canSee: boolean;
  energy: number;
  /** The energy detector's last reading (non-zero while a tone/voice is heard). */
  currentEnergy: number;
  volumeIn: number;
  volumeOut: number;
  readonly joinedAt: number;
  lastTalkingAt: number | undefined;
  talkingSince: number | undefined;
  /** Members this one does not speak to / hear (conference relate). */
  readonly noSpeakTo: Set<number>;
  readonly noHear: Set<number>;
}

export interface Recording {
  readonly path: string;
  readonly startedAt: number;
}

export interface Conference {
  readonly name: string;
  readonly uuid: string;
  readonly profile: ProfileConfig;
  /** Newest first, as FreeSWITCH keeps them (and lists them). */
  members: Member[];
  floor: Member | undefined;
  locked: boolean;
  readonly recordings: Recording[];
  readonly createdAt: number;
  /** `set max_members`: 0 is no limit; a full conference refuses new members as a locked one does. */
  maxMembers: number;
  /** `set caller_id_name` / `caller_id_number`: the caller id of calls the conference places. */
  callerIdName: string | undefined;
  callerIdNumber: string | undefined;
  /** Texts spoken with say/saymember, oldest first (member set for saymember). */
  readonly spoken: Array<{ text: string; member?: number }>;
}

/** A programmatic snapshot (engine.conferences()). */
export interface ConferenceSnapshot {
  name: string;
  uuid: string;
  profile: string;
  locked: boolean;
  recording: boolean;
  maxMembers: number;
  callerIdName: string | undefined;
  callerIdNumber: string | undefined;
  spoken: Array<{ text: string; member?: number }>;
  floorMemberId: number | undefined;
  members: MemberSnapshot[];
}

export interface MemberSnapshot {
  id: number;
  uuid: string;
  callId: string;
  peerUuid: string;
  callerIdName: string | undefined;
  callerIdNumber: string;
  moderator: boolean;
  joinFlags: string[];
  canHear: boolean;
  canSpeak: boolean;
  talking: boolean;
  hold: boolean;
  energy: number;
  volumeIn: number;
  volumeOut: number;
}

/** A loopback call to originate into a conference (the engine's join, the `originate` api). */
export interface OriginateRequest {
  conference: string;
  moderator?: boolean;
  callerIdNumber?: string;
  callerIdName?: string;
  vars?: Record<string, string>;
  profile?: string;
  /** Destination/context as a loopback dial string would carry them (defaults: conf-<name>/mod-<name>, default). */
  destination?: string;
  context?: string;
  /** The joining channel's uuid and name (a call the simulator's outbound mode hands to the `conference` app). */
  uuid?: string;
  channelName?: string;
  /** Join flags given in the `conference` app's data (`+flags{mute|deaf}`): set in the very first add-member. */
  mute?: boolean;
  deaf?: boolean;
  /** Every join flag given (mute, deaf and moderator included), as the member snapshot reports them. */
  flags?: readonly string[];
}
