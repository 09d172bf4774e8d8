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
 *
 * A running conference's account is sticky (ConferenceAttributions): whatever first attributed it by
 * rule 2 or 3 keeps it until it ends. Otherwise a caller carrying another account's `account_id` would
 * take over an undocumented conference (A's default-account room, or A's room once A's first caller
 * left), and its account would see and command A's members. Only a conference document overrides it.
 */
import type { LiveConference, LiveParticipant } from './live.js';
import type { OutboundEvent } from '../conference/index.js';
import { customChannelVars } from '../conference/index.js';
import { silentLogger, type Logger } from '../util/index.js';

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
  /** The first attribution of each running conference (sticky); absent: rules 2 and 3 as they apply now. */
  attributions?: ConferenceAttributions | undefined;
}

/** THE ownership rule (order above). undefined: no account (not running and no document, or no default). */
export function conferenceOwner(s: OwnerSources): string | undefined {
  if (s.documentAccount !== undefined) return s.documentAccount;
  const sticky = s.attributions?.ownerOf(s.live, s.payload);
  if (sticky !== undefined) return sticky;
  const attributed = (s.payload ? accountOfPayload(s.payload) : undefined) ?? accountOfLive(s.live);
  if (attributed !== undefined) return attributed;
  return s.live !== undefined || s.payload !== undefined ? s.defaultAccount : undefined;
}

interface Attribution {
  uuid: string;
  account: string;
  /** When its conference-destroy was seen (the entry is dropped a while later). */
  endedAt?: number;
  /** A participant of another account was already logged. */
  warned?: boolean;
}

export interface ConferenceAttributionsOptions {
  /** `http.default_account_id`. */
  defaultAccount?: string | undefined;
  logger?: Logger;
  now?: () => number;
  /**
   * How long an ended conference's attribution is kept: event consumers that run behind (the
   * WebSocket hub) still attribute its last events to it.
   */
  retainMs?: number;
}

/**
 * The account each running conference instance (name + uuid) was first attributed to, by rule 2
 * (the first participant's account channel variable) or rule 3 (the default account, when that first
 * participant has none). Fed by the events in order (`handle`, subscribed before every consumer that
 * asks for an owner) and, for a conference no event has attributed yet, by the first `ownerOf` that
 * sees it with participants. Dropped `retainMs` after its conference-destroy.
 */
export class ConferenceAttributions {
  private readonly byName = new Map<string, Attribution[]>();
  private readonly ended: Array<{ name: string; entry: Attribution }> = [];
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly o: ConferenceAttributionsOptions = {}) {
    this.log = (o.logger ?? silentLogger).child({ component: 'conference-accounts' });
    this.now = o.now ?? Date.now;
  }

  /** Running (or recently ended) instances with an attribution. */
  get size(): number {
    let n = 0;
    for (const list of this.byName.values()) n += list.length;
    return n;
  }

  /** Event listener: the first participant event of an instance attributes it; conference-destroy ends it. */
  readonly handle = (event: OutboundEvent): void => {
    this.sweep();
    const uuid = typeof event.payload.instance_id === 'string' ? event.payload.instance_id : '';
    if (event.event === 'conference-destroy') {
      const entry = this.find(event.conferenceId, uuid, false);
      if (entry && entry.endedAt === undefined) {
        entry.endedAt = this.now();
        this.ended.push({ name: event.conferenceId, entry });
      }
      return;
    }
    if (event.callId === undefined) return;
    const own = accountOfPayload(event.payload);
    const entry = this.find(event.conferenceId, uuid, false);
    if (!entry) {
      const account = own ?? this.o.defaultAccount;
      if (account !== undefined) this.record(event.conferenceId, uuid, account);
      return;
    }
    if (own !== undefined && own !== entry.account && !entry.warned) {
      entry.warned = true;
      this.log.warn(
        { conference: event.conferenceId, account: entry.account, participant_account: own, call_id: event.callId },
        'a participant names another account than its conference: the conference stays with its first account',
      );
    }
  };

  /**
   * The sticky account of the running conference `live` (or of the instance `payload` comes from),
   * or undefined when nothing attributed it yet. A running conference with participants and no
   * attribution yet is attributed now (rule 2, else 3).
   */
  ownerOf(live: LiveConference | undefined, payload?: Record<string, unknown>): string | undefined {
    const name = live?.name ?? (typeof payload?.conference_id === 'string' ? payload.conference_id : undefined);
    if (name === undefined) return undefined;
    const uuid = live?.uuid ?? (typeof payload?.instance_id === 'string' ? payload.instance_id : '');
    const entry = this.find(name, uuid, live === undefined);
    if (entry) return entry.account;
    if (!live || !hasParticipants(live)) return undefined;
    const account = accountOfLive(live) ?? this.o.defaultAccount;
    if (account !== undefined) this.record(name, uuid, account);
    return account;
  }

  /**
   * The entry of instance `uuid` of `name`. An ended one only for an exact, known uuid (late events of
   * that very instance): a new instance of the name starts afresh. An entry recorded before its uuid
   * was known matches any uuid (and learns it).
   */
  private find(name: string, uuid: string, includeEnded: boolean): Attribution | undefined {
    const list = this.byName.get(name);
    if (!list) return undefined;
    for (const e of list) {
      if (e.endedAt !== undefined && !(includeEnded && uuid !== '' && e.uuid === uuid)) continue;
      if (e.uuid === uuid || e.uuid === '' || uuid === '') {
        if (e.uuid === '' && uuid !== '') e.uuid = uuid;
        return e;
      }
    }
    return undefined;
  }

  private record(name: string, uuid: string, account: string): void {
    const list = this.byName.get(name) ?? [];
    list.push({ uuid, account });
    this.byName.set(name, list);
  }

  private sweep(): void {
    const retain = this.o.retainMs ?? 60_000;
    const t = this.now();
    while (this.ended.length > 0 && t - this.ended[0]!.entry.endedAt! >= retain) {
      const { name, entry } = this.ended.shift()!;
      const list = this.byName.get(name)?.filter((e) => e !== entry);
      if (list && list.length > 0) this.byName.set(name, list);
      else this.byName.delete(name);
    }
  }
}

function hasParticipants(live: LiveConference): boolean {
  return (live.callIds ? live.callIds().length : live.participants.length) > 0;
}
