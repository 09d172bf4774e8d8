/**
 * Which account a FreeSWITCH conference belongs to (documented in ./README.md):
 *  1. the conference document with that id (its account), else
 *  2. the channel variables of its participants, first participant (lowest member id) that has one:
 *     Kazoo's `ecallmgr_Account-ID` channel variable, then a plain `account_id` channel variable,
 *     then `custom_channel_vars.account_id` of the participant event payload.
 *  3. else, for a conference that is running (or whose event is being handled), the configured default
 *     account (`http.default_account_id`): a plain FreeSWITCH sets no Kazoo variables.
 * A conference matching none belongs to no account and is visible to nobody through the API
 * (a request for it by name gets 404 CONFERENCE_UNATTRIBUTED, which says so).
 * `conferenceOwner` is the one place applying this order; the rest are its parts.
 */
import type { LiveConference, LiveParticipant } from './live.js';
import { customChannelVars } from '../conference/payload.js';

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

export function accountOfParticipant(p: Pick<LiveParticipant, 'channel_vars' | 'custom_channel_vars'>): string | undefined {
  // The CCV mapping (ecallmgr_Account-ID → account_id, else plain account_id) is the payload's.
  const fromVars = p.channel_vars ? nonEmpty(customChannelVars(p.channel_vars).account_id) : undefined;
  return fromVars ?? nonEmpty(p.custom_channel_vars?.account_id);
}

export function accountOfLive(conference: LiveConference | undefined): string | undefined {
  if (!conference) return undefined;
  if (conference.participantsAccount) return conference.participantsAccount();
  const ordered = [...conference.participants].sort((a, b) => a.participant_id - b.participant_id);
  for (const p of ordered) {
    const account = accountOfParticipant(p);
    if (account) return account;
  }
  return undefined;
}

/** From an event payload (participant event): custom_channel_vars.account_id. */
export function accountOfPayload(payload: Record<string, unknown>): string | undefined {
  const ccv = payload.custom_channel_vars;
  if (typeof ccv === 'object' && ccv !== null) return nonEmpty((ccv as Record<string, unknown>).account_id);
  return undefined;
}

export interface OwnerSources {
  /** The account of the conference document with that id, when there is one. */
  documentAccount?: string | undefined;
  /** The participant event being handled (its custom_channel_vars). */
  payload?: Record<string, unknown> | undefined;
  /** The running conference (its participants' channel variables). */
  live?: LiveConference | undefined;
  /** `http.default_account_id`: the owner of a running conference nothing else attributes. */
  defaultAccount?: string | undefined;
}

/** THE ownership rule (order above). undefined: no account (not running and no document, or no default). */
export function conferenceOwner(s: OwnerSources): string | undefined {
  const attributed = s.documentAccount ?? (s.payload ? accountOfPayload(s.payload) : undefined) ?? accountOfLive(s.live);
  if (attributed !== undefined) return attributed;
  return s.live !== undefined || s.payload !== undefined ? s.defaultAccount : undefined;
}
