/**
 * What the console keeps about live conferences, and the API shapes it reads them from
 * (src/api/README.md: the conference document's `_read_only`, the WebSocket's event payloads).
 */

export interface Participant {
  readonly id: number;
  readonly callId: string;
  readonly name: string;
  readonly number: string;
  readonly moderator: boolean;
  /** false = muted */
  readonly speak: boolean;
  /** false = deaf */
  readonly hear: boolean;
  readonly talking: boolean;
  /** Browser clock (ms); undefined when only a resync's synthesized event told of the member. */
  readonly joinedAt: number | undefined;
}

export interface Conference {
  readonly id: string;
  /** The conference document's name, when it has one. */
  readonly name: string | undefined;
  /** FreeSWITCH-Switchname of the node hosting it. */
  readonly focus: string;
  readonly locked: boolean;
  /** Browser clock (ms). */
  readonly startedAt: number;
  /** By member id; replaced (never mutated) when a member changes. */
  readonly participants: ReadonlyMap<number, Participant>;
}

export interface LogEntry {
  readonly seq: number;
  /** Browser clock (ms) when the event arrived. */
  readonly at: number;
  readonly event: string;
  readonly participantId: number | undefined;
  readonly caller: string | undefined;
  readonly moderator: boolean;
  readonly synthesized: boolean;
}

/** A participant as GET …/conferences/C returns it in `_read_only.participants`. */
export interface ApiParticipant {
  participant_id: number;
  call_id: string;
  caller_id_name?: string;
  caller_id_number?: string;
  is_moderator: boolean;
  speak: boolean;
  hear: boolean;
  talking: boolean;
  /** Seconds in the conference so far. */
  duration: number;
}

/** GET …/conferences/C `data`: the document (if any), `focus` while running, `_read_only`. */
export interface ApiConference {
  id: string;
  name?: string;
  focus?: string;
  _read_only: { members: number; admins: number; duration: number; is_locked: boolean; participants: ApiParticipant[] };
}

/** One entry of GET …/conferences. */
export interface ApiConferenceListEntry {
  id: string;
  name?: string;
  members: number;
  admins: number;
  duration: number;
  is_locked: boolean;
}

/** An event as the WebSocket sends it: the AMQP payload (participant_event or conference_event). */
export type EventPayload = Record<string, unknown> & { event?: unknown; conference_id?: unknown };

export type ParticipantAction = 'mute' | 'unmute' | 'deaf' | 'undeaf' | 'kick';
export type ConferenceAction = 'lock' | 'unlock';
