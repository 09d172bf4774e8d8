/**
 * What this instance tells another one that asks (the cluster view): its conferences of an account
 * and one conference, from the nodes it serves only (a standby's copy of a node is the active's to
 * tell). Account scoping happens here, at the answerer, with its own ownership rule (documents,
 * first attributions, `http.default_account_id`): another account's conference is never sent, only
 * said to exist (`owned: false`, so the asker answers 403 rather than 404).
 */
import { conferenceOwner, type ConferenceAttributions } from './account.js';
import type { ConferenceDocuments } from './conference-documents.js';
import type { ConferenceListEntry, LiveConference, RealtimeRegistry, RemoteConferenceLookup } from './live.js';
import { participantsView, summary } from './realtime-view.js';

/** Kazoo's list entry: id, name, owner_id, member, moderator + realtime counters (+ focus when asked). */
export function conferenceListEntry(id: string, doc: Record<string, unknown> | undefined, live: LiveConference | undefined, withFocus = false): ConferenceListEntry {
  const entry: Record<string, unknown> = { id };
  if (doc) for (const k of ['name', 'owner_id', 'member', 'moderator'] as const) if (doc[k] !== undefined) entry[k] = doc[k];
  Object.assign(entry, summary(live));
  if (withFocus && live) entry.focus = live.focus;
  return entry as unknown as ConferenceListEntry;
}

export interface ClusterAnswerSources {
  registry: RealtimeRegistry;
  documents: Pick<ConferenceDocuments, 'get'>;
  attributions?: ConferenceAttributions | undefined;
  defaultAccount?: string | undefined;
  /** Whether this instance serves (is active for) the node. */
  serves(node: string): boolean;
}

export interface ClusterConferenceAnswers {
  conferences(account: string): Promise<ConferenceListEntry[]>;
  conference(account: string, id: string): Promise<RemoteConferenceLookup>;
}

export function clusterConferenceAnswers(src: ClusterAnswerSources): ClusterConferenceAnswers {
  const ownerOf = async (live: LiveConference): Promise<{ owner: string | undefined; doc: Record<string, unknown> | undefined }> => {
    const doc = await src.documents.get(live.name);
    const owner = conferenceOwner({ documentAccount: doc?.accountId, live, defaultAccount: src.defaultAccount, attributions: src.attributions });
    return { owner, doc: doc?.doc };
  };
  return {
    async conferences(account) {
      const out: ConferenceListEntry[] = [];
      const seen = new Set<string>();
      for (const live of src.registry.conferences()) {
        if (seen.has(live.name) || !src.serves(live.node)) continue;
        seen.add(live.name);
        const { owner, doc } = await ownerOf(live);
        if (owner === account) out.push(conferenceListEntry(live.name, doc, live, true));
      }
      return out;
    },
    async conference(account, id) {
      const live = src.registry.conference(id);
      if (!live || !src.serves(live.node)) return { found: false };
      const { owner } = await ownerOf(live);
      if (owner !== account) return { found: true, owned: false };
      return {
        found: true,
        owned: true,
        conference: {
          name: live.name,
          uuid: live.uuid,
          node: live.node,
          focus: live.focus,
          is_locked: live.is_locked,
          duration: live.duration,
          participants: participantsView(live),
        },
      };
    },
  };
}
