/**
 * What the API needs from the rest of confmgr, injected by the service wiring (src/app/service.ts).
 *
 * `RealtimeRegistry` is the minimal read-only view of live conference state the API needs; the wiring
 * adapts the conference registry to it (src/records/realtime-adapter.ts), tests use fakes.
 */
import type { Logger } from '../util/index.js';
import type { CommandResult, ConferenceCommand, ConferenceCommandExecutor, ConferenceDialer, OutboundEvent } from '../conference/index.js';
import type { Storage } from '../storage/index.js';
import type { ReadOnlyParticipant } from '../state/index.js';

/** One live participant: Kazoo's `_read_only.participants[]` shape plus the channel variables. */
export interface LiveParticipant extends ReadOnlyParticipant {
  /** The channel variables confmgr keeps (`variable_` prefix stripped; Kazoo CCVs, account_id, customer_id,
   *  presence_id — src/conference/channel-vars.ts); used to find the account. */
  channel_vars?: Record<string, string>;
  /** The participant event's custom_channel_vars when known (Kazoo CCVs: account_id, ...). */
  custom_channel_vars?: Record<string, unknown>;
}

/** One live conference instance. */
export interface LiveConference {
  /** The FreeSWITCH conference name (= the conference document id). */
  name: string;
  uuid: string;
  /** confmgr node name hosting it (config `freeswitch.nodes[].name`). */
  node: string;
  /** Kazoo's `focus`: the node name, or its FreeSWITCH-Switchname (config `http.focus`; realtime-adapter.ts). */
  focus: string;
  is_locked: boolean;
  /** Seconds since the conference started. */
  duration: number;
  participants: LiveParticipant[];
  /**
   * The account its participants' channel variables name (account.ts, rule 2), when the view can say
   * so without building `participants` (the service's adapter can); absent: read from `participants`.
   */
  readonly participantsAccount?: () => string | undefined;
  /** Its participants' call ids, when the view can list them without building `participants`. */
  readonly callIds?: () => string[];
  /** Set when another instance serves it (the cluster view): that instance's name. */
  readonly instance?: string;
}

export interface RealtimeRegistry {
  conferences(): LiveConference[];
  conference(name: string): LiveConference | undefined;
}

export interface EventSource {
  /** Every outbound event (participant and conference level), in order; returns an unsubscribe. */
  subscribe(listener: (event: OutboundEvent) => void): () => void;
}

export interface ApiToken {
  token: string;
  account_id: string;
}

/** One list entry of Kazoo's conferences list: id, document fields, realtime counters; `focus` when running. */
export interface ConferenceListEntry {
  id: string;
  name?: unknown;
  owner_id?: unknown;
  member?: unknown;
  moderator?: unknown;
  members: number;
  admins: number;
  duration: number;
  is_locked: boolean;
  focus?: string;
}

/** A conference as the instance serving it shows it to another (participants without channel variables). */
export type RemoteConferenceLookup =
  | { found: false }
  /** Running there, but the asking account does not own it. */
  | { found: true; owned: false }
  | { found: true; owned: true; conference: Omit<LiveConference, 'participantsAccount' | 'callIds' | 'instance'> };

/** Who serves a FreeSWITCH node, as one instance reports it. */
export interface NodeStatus {
  node: string;
  instance: string;
  /** active: this instance serves it; standby: another does, this one could take over; unreachable: no ESL connection. */
  state: 'active' | 'standby' | 'unreachable';
  /** Its Event Socket connection is up. */
  connected: boolean;
  /** When `state` or `connected` last changed (ISO 8601), or when the instance started. */
  since: string;
  /** Leases of this node won by this instance since it started. */
  takeovers: number;
}

/** Answers gathered from the other instances (src/bus/cluster-gather.ts). */
export interface ClusterAnswers<T> {
  answers: Array<{ instance: string; data: T }>;
  /** Instances alive that did not answer in time. */
  missing: string[];
  partial: boolean;
}

/** The other instances on the broker, as the API of this one sees them (config `cluster_view`). */
export interface ClusterDirectory {
  /** Whether this instance serves (is active for) the node: its conferences are run here. */
  serves(node: string): boolean;
  conferences(account: string): Promise<ClusterAnswers<ConferenceListEntry[]>>;
  conference(account: string, id: string): Promise<ClusterAnswers<RemoteConferenceLookup>>;
  nodes(): Promise<ClusterAnswers<NodeStatus[]>>;
  /** Runs the command on the instance serving its conference; its error code and message come back as they were. */
  execute(command: ConferenceCommand, account: string): Promise<CommandResult>;
}

export interface ApiDeps {
  registry: RealtimeRegistry;
  executor: ConferenceCommandExecutor;
  /** Kazoo's conference dial (PUT …/conferences/{id} {"action":"dial"}); absent: refused. */
  dialer?: ConferenceDialer;
  storage: Storage;
  tokens: ApiToken[];
  /**
   * Owner of running conferences that neither a document nor a channel variable attributes
   * (config `http.default_account_id`); absent: such conferences are visible to nobody.
   */
  defaultAccountId?: string | undefined;
  events: EventSource;
  /** The publish_participant_event rule (true = publish); absent = everything passes. */
  filter?: (eventName: string) => boolean;
  /** Whether the named FreeSWITCH node is connected (503 when a conference's node is not). */
  nodeUp(node: string): boolean;
  logger?: Logger;
  /** Clock for records and durations (tests); default Date.now. */
  now?: () => number;
  /** The cluster-wide view (config `cluster_view`); absent: this instance's own conferences only. */
  cluster?: ClusterDirectory | undefined;
  /** This instance's FreeSWITCH nodes and who serves them (`GET /v2/nodes`); absent: none. */
  nodeStatuses?: () => NodeStatus[];
}
