/**
 * The HTTP API's read-only view of live conferences (src/records/live.ts RealtimeRegistry), read from the
 * conference registry at request time. Field mapping only.
 */
import type { LiveConference, LiveParticipant, RealtimeRegistry } from './live.js';
import { customChannelVars } from '../conference/index.js';
import { accountOfParticipant } from './account.js';
import type { MemberState } from '../conference/index.js';
import { MEMBER_FIELDS, fieldValue } from '../conference/index.js';
import type { ConferenceInstance, ConferenceRegistry, ParticipantInfo } from '../state/index.js';
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
  const focusOf = options.focus === 'switchname' ? (info: ConferenceInstance) => info.switchname || info.node : (info: ConferenceInstance) => info.node;
  const view = (info: ConferenceInstance): LiveView => new LiveView(registry, info, now(), focusOf(info));
  return {
    conferences: () => registry.conferences().map(view),
    conference: (name) => {
      const info = registry.instance(name);
      return info ? view(info) : undefined;
    },
  };
}

/**
 * One conference as the API sees it. The WebSocket hub asks for one per event (most callers only want
 * the node or the owner): a class, so a view is one object with shared methods, and `participants`
 * is built on first read (building every participant's view for each event would be most of a
 * resync burst's garbage). Only Kazoo's fields are its own and in its JSON.
 */
class LiveView implements LiveConference {
  readonly name: string;
  readonly uuid: string;
  readonly node: string;
  readonly focus: string;
  readonly is_locked: boolean;
  readonly duration: number;
  readonly #registry: ConferenceRegistry;
  readonly #info: ConferenceInstance;
  readonly #at: number;
  #participants: LiveParticipant[] | undefined;

  constructor(registry: ConferenceRegistry, info: ConferenceInstance, at: number, focus: string) {
    this.name = info.name;
    this.uuid = info.uuid;
    this.node = info.node;
    this.focus = focus;
    this.is_locked = info.locked;
    this.duration = Math.max(0, Math.floor((at - info.startedAt) / 1000));
    this.#registry = registry;
    this.#info = info;
    this.#at = at;
  }

  get participants(): LiveParticipant[] {
    this.#participants ??= this.#registry.participants(this.#info.name, this.#info.node).map((p) => participant(this.#info, p, this.#at));
    return this.#participants;
  }

  set participants(list: LiveParticipant[]) {
    this.#participants = list;
  }

  participantsAccount(): string | undefined {
    return accountOfMembers(this.#registry.memberStates(this.#info.name, this.#info.node));
  }

  callIds(): string[] {
    return Array.from(this.#registry.memberStates(this.#info.name, this.#info.node), (m) => m.callId);
  }

  toJSON(): Record<string, unknown> {
    const { name, uuid, node, focus, is_locked, duration, participants } = this;
    return { name, uuid, node, focus, is_locked, duration, participants };
  }
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
function participant(info: ConferenceInstance, p: ParticipantInfo, nowMs: number): LiveParticipant {
  const view: Record<string, unknown> = {
    ...readOnlyParticipant(info, p, p.joinedAt, nowMs),
    channel_vars: p.channelVars,
    custom_channel_vars: customChannelVars(p.channelVars),
  };
  for (const f of OPERATOR_FIELDS) view[f.kazoo!] = fieldValue(p, f);
  return view as unknown as LiveParticipant;
}
