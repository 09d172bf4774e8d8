/**
 * The account a conference belongs to, looked up by name, for checks made outside the HTTP API (an
 * AMQP command carrying `Account-ID`). The one ownership rule (./account.ts `conferenceOwner`): its
 * document's account, else its participants', else the default account for a running conference.
 */
import { conferenceOwner, type ConferenceAttributions } from './account.js';
import type { RealtimeRegistry } from './live.js';

export interface AccountLookupSources {
  documents: { get(id: string): Promise<{ accountId: string } | undefined> };
  /** Running conferences' first attributions (sticky ownership). */
  attributions?: ConferenceAttributions;
  registry: RealtimeRegistry;
  /** `http.default_account_id`. */
  defaultAccount: string | undefined;
}

/** undefined: the conference belongs to no account (not running and no document, or unattributed). */
export function conferenceAccountLookup(s: AccountLookupSources): (conference: string) => Promise<string | undefined> {
  return async (conference) => {
    const doc = await s.documents.get(conference);
    return conferenceOwner({
      documentAccount: doc?.accountId,
      live: s.registry.conference(conference),
      defaultAccount: s.defaultAccount,
      ...(s.attributions ? { attributions: s.attributions } : {}),
    });
  };
}
