/**
 * VoIPbin's conferencecall record (test/fixtures/seeds/000_*.txt): one per call per stay in a conference.
 * status moves only forward: joining → joined → leaving → leaved. A pure state machine
 * (advance, statusForEvent) plus a small in-memory tracker that applies ConferenceEvents.
 *
 * Which FreeSWITCH signal drives each step:
 * - joining: the call was sent to the conference but is not in it yet. mod_conference fires nothing
 *   for this (conference::maintenance starts at add-member); it is observable only to whoever sends
 *   the call there (confmgr's own API, or a CHANNEL_EXECUTE of the `conference` app when that event
 *   is subscribed) — they call ConferencecallTracker.joining(). A call first seen at add-member is
 *   created directly as `joined`.
 * - joined:  `add-member` (conference_member_add: the member is in the mix, audio flows).
 * - leaving: a kick/hup was requested (ConferencecallTracker.leaving(), called by whoever sends
 *   `conference <name> kick|hup`), or FreeSWITCH announces the removal: `kick-member`, `hup-member`.
 * - leaved:  `del-member` (conference_member_del: the member is out; final).
 */
import { customChannelVars } from './payload.js';
import type { ConferenceEvent } from './types.js';

export const CONFERENCECALL_STATUSES = ['joining', 'joined', 'leaving', 'leaved'] as const;
export type ConferencecallStatus = (typeof CONFERENCECALL_STATUSES)[number];

/** VoIPbin's "has not happened yet" timestamp. */
export const TM_UNSET = '9999-01-01 00:00:00.000000';

export interface Conferencecall {
  id: string;
  customer_id: string;
  conference_id: string;
  reference_type: 'call';
  /** The call id (for FreeSWITCH members: the member channel's Unique-ID). */
  reference_id: string;
  status: ConferencecallStatus;
  tm_create: string;
  tm_update: string;
  tm_delete: string;
}

/**
 * `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, VoIPbin's format, from microseconds since the epoch
 * (FreeSWITCH's Event-Date-Timestamp unit).
 */
export function formatTimestampUs(us: number): string {
  if (!Number.isFinite(us) || us < 0) throw new RangeError(`invalid timestamp ${us}`);
  const whole = Math.floor(us);
  const ms = Math.floor(whole / 1000);
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) throw new RangeError(`invalid timestamp ${us}`);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const micro = whole % 1_000_000;
  return (
    `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(micro, 6)}`
  );
}

export function statusRank(status: ConferencecallStatus): number {
  return CONFERENCECALL_STATUSES.indexOf(status);
}

/** True when moving from `from` to `to` is a forward step (skipping steps is allowed). */
export function canAdvance(from: ConferencecallStatus, to: ConferencecallStatus): boolean {
  return statusRank(to) > statusRank(from);
}

export interface NewConferencecall {
  id: string;
  customerId: string;
  conferenceId: string;
  callId: string;
  status: ConferencecallStatus;
  atUs: number;
}

export function createConferencecall(init: NewConferencecall): Conferencecall {
  const at = formatTimestampUs(init.atUs);
  return {
    id: init.id,
    customer_id: init.customerId,
    conference_id: init.conferenceId,
    reference_type: 'call',
    reference_id: init.callId,
    status: init.status,
    tm_create: at,
    tm_update: at,
    tm_delete: TM_UNSET,
  };
}

/** The record moved to `status` at `atUs`; the same object when that is not a forward step. */
export function advance(record: Conferencecall, status: ConferencecallStatus, atUs: number): Conferencecall {
  if (!canAdvance(record.status, status)) return record;
  return { ...record, status, tm_update: formatTimestampUs(atUs) };
}

/** The record deleted (DELETE /conferencecalls/{id}); tm_delete stays the sentinel until then. */
export function markDeleted(record: Conferencecall, atUs: number): Conferencecall {
  if (record.tm_delete !== TM_UNSET) return record;
  const at = formatTimestampUs(atUs);
  return { ...record, tm_update: at, tm_delete: at };
}

/** The status a conference event drives a member's conferencecall to, if any (see module comment). */
export function statusForEvent(event: ConferenceEvent): ConferencecallStatus | undefined {
  switch (event.action) {
    case 'add-member':
      return 'joined';
    case 'kick-member':
    case 'hup-member':
      return 'leaving';
    case 'del-member':
      return 'leaved';
    default:
      return undefined;
  }
}
