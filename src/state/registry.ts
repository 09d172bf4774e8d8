/**
 * The realtime state of every conference on every node, kept from ConferenceEvents. Pure state: no
 * sockets, no timers (the clock is injected). The node sync (node-sync.ts) drives it through node ups
 * and downs. This class is the state's one door: it applies events (apply-event.ts) and listings
 * (snapshot-diff.ts) to the store (store.ts) and answers reads; synthesized events are built by
 * synthesis.ts, Kazoo's `_read_only` view by read-only-view.ts.
 *
 * Keys: a conference is (node, name) — one FreeSWITCH can only hold one conference of a name, but two
 * nodes can. A participant is (node, conference uuid, call id): member ids restart at 1 when
 * FreeSWITCH restarts, so a member id alone never identifies a participant across a reconnect.
 *
 * What it returns: `apply(event)` returns the events consumers should see — the received one after it
 * has been applied, preceded by any synthesized ones it implies (e.g. a conference-create for a name
 * whose older instance we still held). `applySnapshot()` and `flushNode()` return only synthesized
 * events (`synthesized: true`) describing the difference they made.
 *
 * Duplicate suppression: a received event passes straight through, even when it changes nothing
 * (FreeSWITCH said it: consumers hear it). Only the caller can know that an event may already be
 * reflected in a snapshot (the node sync: events buffered while json_list was in flight, or provably
 * older than the json_list request); it passes `{ dedupe: true }`, and then a state event that changes
 * nothing is dropped instead of being told twice, and counted in `stats().deduplicated`.
 */
import type { ConferenceEvent, MemberState } from '../conference/index.js';
import type { ListedConference, ListedMember } from '../conference/index.js';
import type { ConferencecallStatus } from '../conference/index.js';
import { ConferenceStore, type ConferenceRec, type NodeIdentity, type ParticipantRec } from './store.js';
import { STATE_ACTIONS, applyEvent, noteIdentity } from './apply-event.js';
import * as snapshot from './snapshot-diff.js';
import type { SnapshotApplication } from './snapshot-diff.js';
import { readOnlyView, type ReadOnlyView } from './read-only-view.js';

export type { NodeIdentity, SnapshotApplication, ReadOnlyView };

export interface ConferenceInfo {
  name: string;
  uuid: string;
  /** Configured node name hosting it (the `focus`). */
  node: string;
  switchname: string;
  hostname: string;
  profile?: string;
  domain?: string;
  locked: boolean;
  /** Epoch milliseconds. */
  startedAt: number;
  memberCount: number;
  moderatorCount: number;
  recording: boolean;
  /** Recording paths we saw start (empty when only the json_list flag told us it records). */
  recordings: string[];
  /** Other nodes where a conference of the same name is live at the same time (usually empty). */
  alsoOn: string[];
}

/** A conference instance without its counts and lists (see ConferenceRegistry.instance). */
export type ConferenceInstance = Pick<ConferenceInfo, 'name' | 'uuid' | 'node' | 'switchname' | 'hostname' | 'locked' | 'startedAt'>;

/** A participant as the registry knows it: FreeSWITCH's member state plus where and since when. */
export interface ParticipantInfo extends MemberState {
  node: string;
  conferenceName: string;
  conferenceUuid: string;
  volumeIn?: number;
  volumeOut?: number;
  /** Epoch milliseconds. */
  joinedAt: number;
  status: ConferencecallStatus;
}

export interface RegistryOptions {
  /** Epoch milliseconds (default Date.now). */
  now?: () => number;
  /**
   * @deprecated No effect. Received events are not dropped for a time after a snapshot; the node
   * sync asks for deduplication per event (`apply(event, { dedupe: true })`).
   */
  quietWindowMs?: number;
}

export interface ApplyOptions {
  /**
   * The event may already be reflected in the last snapshot (see node-sync.ts): when it is a state
   * event that changes nothing, drop it (counted in `stats().deduplicated`) rather than tell it twice.
   */
  dedupe?: boolean;
}

/** Registry counts for metrics. */
export interface RegistryStats {
  nodes: number;
  conferences: number;
  participants: number;
  /** Received state events dropped because a snapshot had already told consumers (since start). */
  deduplicated: number;
}

export class ConferenceRegistry {
  private readonly now: () => number;
  private deduplicated = 0;
  private readonly store = new ConferenceStore();
  /** applyEach's list of implied events, reused (empty between calls). */
  private readonly implied: ConferenceEvent[] = [];

  constructor(options: RegistryOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  // ---------------------------------------------------------------------------------------------
  // Changes

  /**
   * Applies a received event; returns what consumers should see: the event, preceded by any
   * synthesized ones it implies. With `dedupe`, a state event that changes nothing is left out.
   */
  apply(event: ConferenceEvent, options?: ApplyOptions): ConferenceEvent[] {
    const implied: ConferenceEvent[] = [];
    if (this.applied(event, options, implied)) implied.push(event);
    return implied;
  }

  /**
   * apply() for a caller that hands the events on one at a time (the node sync, once per received
   * event): `tell` gets the same events in the same order, without an array made per event.
   */
  applyEach(event: ConferenceEvent, options: ApplyOptions | undefined, tell: (event: ConferenceEvent) => void): void {
    const implied = this.implied;
    implied.length = 0;
    const told = this.applied(event, options, implied);
    // Emptied before anyone is told: a listener may apply another event.
    if (implied.length > 0) for (const ev of implied.splice(0)) tell(ev);
    if (told) tell(event);
  }

  /** Applies the event, pushing the synthesized events it implies; whether the event itself is told. */
  private applied(event: ConferenceEvent, options: ApplyOptions | undefined, implied: ConferenceEvent[]): boolean {
    noteIdentity(this.store, event);
    const changed = applyEvent(this.store, this.now, event, implied);
    if (!changed && options?.dedupe === true && !event.synthesized && STATE_ACTIONS.has(event.action)) {
      this.deduplicated++;
      return false;
    }
    return true;
  }

  /**
   * Makes `node`'s part of the state equal to a json_list snapshot taken at `atMs` (epoch ms when the
   * reply arrived) and returns the synthesized events describing the difference, in an order that keeps
   * each participant's story consistent: per conference, leavers first, then newcomers, then flag
   * changes, then the floor. Conferences gone get del-member for every participant, then destroy.
   * With `sink`, the events go to it conference by conference as each is done (same order) and the
   * returned array is empty. `beginSnapshot` does the same one conference at a time.
   */
  applySnapshot(
    node: string,
    listed: readonly ListedConference[],
    atMs = this.now(),
    sink?: (events: ConferenceEvent[]) => void,
  ): ConferenceEvent[] {
    return snapshot.applySnapshot(this.store, this.now, node, listed, atMs, sink);
  }

  /**
   * A snapshot applied piecewise, so a caller can let its consumers catch up between conferences
   * (the node sync paces a cold start this way): `conference(l)` for each listed conference, then
   * `finish()` once, which drops the node's conferences the snapshot did not list. Between calls the
   * node's events must be held back (the node sync buffers them); the other nodes' may be applied.
   * Abandoned before `finish()`, the state is part old, part new, every change told: the next
   * snapshot completes it.
   */
  beginSnapshot(node: string, atMs = this.now()): SnapshotApplication {
    return snapshot.beginSnapshot(this.store, this.now, node, atMs);
  }

  /**
   * The listed call legs that `applySnapshot(node, listed)` would add (synthesized add-member): calls
   * we do not know in that conference instance, or know under another member id. The node sync
   * fetches their channel variables before applying the snapshot.
   */
  unknownMembers(node: string, listed: readonly ListedConference[]): ListedMember[] {
    return snapshot.unknownMembers(this.store, node, listed);
  }

  /**
   * Forgets everything on `node` (it stayed down past its grace period) and returns the synthesized
   * del-member and conference-destroy events that tell consumers so.
   */
  flushNode(node: string, atMs = this.now()): ConferenceEvent[] {
    return snapshot.flushNode(this.store, node, atMs);
  }

  /** What we last heard the node call itself; the configured name until an event arrives. */
  identity(node: string): NodeIdentity {
    return this.store.identity(node);
  }

  /** Sets the node's identity (e.g. from `api switchname` at connect), so synthesized events carry it. */
  setIdentity(node: string, identity: Partial<NodeIdentity>): void {
    this.store.setIdentity(node, { ...this.store.identity(node), ...identity });
  }

  // ---------------------------------------------------------------------------------------------
  // Reads (HTTP API, CLI, router)

  /** Nodes where `name` is live, the most recent conference start first. */
  nodesHosting(name: string): string[] {
    return this.store.nodesHosting(name);
  }

  /** Names of the conferences live on `node`. */
  conferenceNamesOn(node: string): string[] {
    return this.store.conferenceNamesOn(node);
  }

  conferences(): ConferenceInfo[] {
    const out: ConferenceInfo[] = [];
    for (const rec of this.store.all()) out.push(this.info(rec));
    return out.sort((a, b) => a.name.localeCompare(b.name) || a.node.localeCompare(b.node));
  }

  /**
   * One conference by name. With `node`, that node's instance; without, the only instance, or — when
   * the name is live on several nodes — the most recently started one (see `alsoOn`).
   */
  conference(name: string, node?: string): ConferenceInfo | undefined {
    const rec = this.pick(name, node);
    return rec ? this.info(rec) : undefined;
  }

  /**
   * The instance `conference(name, node)` describes, without the counts and lists that cost a pass over
   * its participants: for readers on a hot path (the WebSocket hub asks once per event).
   */
  instance(name: string, node?: string): ConferenceInstance | undefined {
    const rec = this.pick(name, node);
    return rec ? this.instanceOf(rec) : undefined;
  }

  /** Participants of `name` (all instances when it is live on several nodes and no `node` is given). */
  participants(name: string, node?: string): ParticipantInfo[] {
    const recs =
      node !== undefined
        ? [this.store.get(node, name)].filter((r) => r !== undefined)
        : this.store.nodesHosting(name).map((n) => this.store.get(n, name)!);
    const out: ParticipantInfo[] = [];
    for (const rec of recs) for (const p of rec.participants.values()) out.push(participantInfo(rec, p));
    return out.sort((a, b) => a.node.localeCompare(b.node) || a.memberId - b.memberId);
  }

  /**
   * The stored member states of one conference instance, in no particular order, without the copies
   * `participants()` makes: for readers on a hot path (one call per event) that only look.
   */
  memberStates(name: string, node: string): Iterable<Readonly<MemberState>> {
    const rec = this.store.get(node, name);
    if (!rec) return [];
    return Array.from(rec.participants.values(), (p) => p.member);
  }

  /** A participant by member id (number or digits) or call id. */
  participant(name: string, id: number | string, node?: string): ParticipantInfo | undefined {
    const memberId = typeof id === 'number' ? id : /^\d+$/.test(id) ? Number(id) : undefined;
    for (const p of this.participants(name, node)) {
      if (memberId !== undefined ? p.memberId === memberId : p.callId === id) return p;
    }
    return undefined;
  }

  /** Where a call is a participant, if anywhere. */
  findCall(callId: string): ParticipantInfo | undefined {
    for (const rec of this.store.all()) {
      const p = rec.participants.get(callId);
      if (p) return participantInfo(rec, p);
    }
    return undefined;
  }

  /** Kazoo's `_read_only` object; zeros and no participants when the conference is not running. */
  readOnlyView(name: string, nowMs = this.now()): ReadOnlyView {
    return readOnlyView(this.store, name, nowMs);
  }

  /** Counts for metrics and benchmarks. */
  stats(): RegistryStats {
    let conferences = 0;
    let participants = 0;
    for (const rec of this.store.all()) {
      conferences++;
      participants += rec.participants.size;
    }
    return { nodes: this.store.nodeCount(), conferences, participants, deduplicated: this.deduplicated };
  }

  private pick(name: string, node?: string): ConferenceRec | undefined {
    if (node !== undefined) return this.store.get(node, name);
    // The first of nodesHosting's order (latest start, then node name), without sorting a list per call:
    // the WebSocket hub asks once per event.
    let best: ConferenceRec | undefined;
    for (const n of this.store.nodesOf(name)) {
      const rec = this.store.get(n, name)!;
      if (best === undefined || rec.startedAtMs > best.startedAtMs || (rec.startedAtMs === best.startedAtMs && rec.node.localeCompare(best.node) < 0)) best = rec;
    }
    return best;
  }

  private instanceOf(rec: ConferenceRec): ConferenceInstance {
    const id = this.store.identity(rec.node);
    return { name: rec.name, uuid: rec.uuid, node: rec.node, switchname: id.switchname, hostname: id.hostname, locked: rec.locked, startedAt: rec.startedAtMs };
  }

  private info(rec: ConferenceRec): ConferenceInfo {
    let moderatorCount = 0;
    for (const p of rec.participants.values()) if (p.member.isModerator) moderatorCount++;
    const out: ConferenceInfo = {
      ...this.instanceOf(rec),
      memberCount: rec.participants.size,
      moderatorCount,
      recording: rec.recordings.size > 0 || rec.recordingFlag,
      recordings: [...rec.recordings],
      alsoOn: [],
    };
    for (const n of this.store.nodesOf(rec.name)) if (n !== rec.node) out.alsoOn.push(n);
    out.alsoOn.sort();
    if (rec.profile !== undefined) out.profile = rec.profile;
    if (rec.domain !== undefined) out.domain = rec.domain;
    return out;
  }
}

function participantInfo(rec: ConferenceRec, p: ParticipantRec): ParticipantInfo {
  const out: ParticipantInfo = {
    ...p.member,
    // A copy: callers must not be able to change the registry's state through the result.
    channelVars: { ...p.member.channelVars },
    node: rec.node,
    conferenceName: rec.name,
    conferenceUuid: rec.uuid,
    joinedAt: p.joinedAtMs,
    status: p.status,
  };
  if (p.volumeIn !== undefined) out.volumeIn = p.volumeIn;
  if (p.volumeOut !== undefined) out.volumeOut = p.volumeOut;
  return out;
}
