/**
 * The HTTP API's read-only view of live conferences (src/records/live.ts RealtimeRegistry), read from the
 * conference registry at request time. Field mapping only.
 */
import type { LiveConference, LiveParticipant, RealtimeRegistry } from './live.js';
import { customChannelVars } from '../conference/index.js';
import { accountOfParticipant } from './account.js';
import type { MemberState } from '../conference/index.js';
import { MEMBER_FIELDS, fieldValue } from '../conference/index.js';
import type { ConferenceInfo, ConferenceRegistry, ParticipantInfo } from '../state/index.js';
import { readOnlyParticipant } from '../state/index.js';


/**
 * What `focus` names (config `http.focus`): `node_name`, confmgr's name of the node, as Kazoo's `focus`
 * names the node hosting the conference; `switchname`, FreeSWITCH's FreeSWITCH-Switchname (the node
 * name until the node has told it).
 */
export type FocusSource = 'node_name' | 'switchname';

export interface RealtimeOptions {
  focus?: FocusSource;
  now?: () => number;
}

export function realtimeFromRegistry(registry: ConferenceRegistry, options: RealtimeOptions = {}): RealtimeRegistry {
  const now = options.now ?? Date.now;
  const focusOf = options.focus === 'switchname' ? (info: ConferenceInfo) => info.switchname || info.node : (info: ConferenceInfo) => info.node;
  const live = (info: ConferenceInfo): LiveConference => {
    const t = now();
    const view: LiveConference = {
      name: info.name,
      uuid: info.uuid,
      node: info.node,
      focus: focusOf(info),
      is_locked: info.locked,
      duration: Math.max(0, Math.floor((t - info.startedAt) / 1000)),
      // Built on first read: most callers (one per event) only want the node or the lock state, and
      // building every participant's view for each of them would be most of a resync burst's garbage.
      get participants(): LiveParticipant[] {
        const built = registry.participants(info.name, info.node).map((p) => participant(info, p, t));
        Object.defineProperty(this, 'participants', { value: built, enumerable: true, writable: true });
        return built;
      },
    };
    // Not enumerable: a JSON view of the conference stays Kazoo's fields.
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

/** Member fields Kazoo's participant event names and its `_read_only` participant does not. */
const OPERATOR_FIELDS = MEMBER_FIELDS.filter((f) => f.kazoo !== undefined && f.readOnlyAt === undefined);

/**
 * Kazoo's `_read_only` participant plus the channel variables and, for operators' tables, the member
 * fields Kazoo's participant event names and `_read_only` does not (the caller id).
 */
function participant(info: ConferenceInfo, p: ParticipantInfo, nowMs: number): LiveParticipant {
  const view: Record<string, unknown> = {
    ...readOnlyParticipant(info, p, p.joinedAt, nowMs),
    channel_vars: p.channelVars,
    custom_channel_vars: customChannelVars(p.channelVars),
  };
  for (const f of OPERATOR_FIELDS) view[f.kazoo!] = fieldValue(p, f);
  return view as unknown as LiveParticipant;
}
