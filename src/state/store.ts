/**
 * The records behind the registry: every node's conferences with their participants, indexed by
 * (node, name) and by name, and what each node calls itself. A data structure without rules: the
 * registry's event application and snapshot diff decide what changes.
 */
import type { ConferencecallStatus } from '../conference/index.js';
import type { MemberState } from '../conference/index.js';

export interface NodeIdentity {
  /** FreeSWITCH-Switchname (Kazoo's focus as FreeSWITCH names itself). */
  switchname: string;
  hostname: string;
  coreUuid: string;
}

export interface ParticipantRec {
  member: MemberState;
  joinedAtMs: number;
  status: ConferencecallStatus;
  volumeIn?: number;
  volumeOut?: number;
}

export interface ConferenceRec {
  name: string;
  uuid: string;
  node: string;
  profile?: string;
  domain?: string;
  locked: boolean;
  startedAtMs: number;
  recordings: Set<string>;
  /** json_list says it records but we do not know the path. */
  recordingFlag: boolean;
  /** By call id. */
  participants: Map<string, ParticipantRec>;
}

export class ConferenceStore {
  /** node → name → conference. */
  private readonly byNode = new Map<string, Map<string, ConferenceRec>>();
  /** name → nodes hosting it. */
  private readonly byName = new Map<string, Set<string>>();
  private readonly identities = new Map<string, NodeIdentity>();

  get(node: string, name: string): ConferenceRec | undefined {
    return this.byNode.get(node)?.get(name);
  }

  insert(rec: ConferenceRec): void {
    let names = this.byNode.get(rec.node);
    if (!names) this.byNode.set(rec.node, (names = new Map()));
    names.set(rec.name, rec);
    let nodes = this.byName.get(rec.name);
    if (!nodes) this.byName.set(rec.name, (nodes = new Set()));
    nodes.add(rec.node);
  }

  remove(rec: ConferenceRec): void {
    const names = this.byNode.get(rec.node);
    if (names?.get(rec.name) === rec) names.delete(rec.name);
    const nodes = this.byName.get(rec.name);
    if (nodes) {
      nodes.delete(rec.node);
      if (nodes.size === 0) this.byName.delete(rec.name);
    }
  }

  /** The conferences on `node`, as a copy (callers may remove while they go through it). */
  conferencesOn(node: string): ConferenceRec[] {
    return [...(this.byNode.get(node)?.values() ?? [])];
  }

  /** Names of the conferences live on `node`. */
  conferenceNamesOn(node: string): string[] {
    return [...(this.byNode.get(node)?.keys() ?? [])];
  }

  /** Every conference on every node, in no particular order (not a copy: do not remove while iterating). */
  *all(): IterableIterator<ConferenceRec> {
    for (const names of this.byNode.values()) yield* names.values();
  }

  /** Nodes where `name` is live, the most recent conference start first. */
  nodesHosting(name: string): string[] {
    const nodes = [...(this.byName.get(name) ?? [])];
    return nodes
      .map((n) => this.get(n, name)!)
      .sort((a, b) => b.startedAtMs - a.startedAtMs || a.node.localeCompare(b.node))
      .map((r) => r.node);
  }

  /** Nodes where `name` is live, in no particular order. */
  nodesOf(name: string): Iterable<string> {
    return this.byName.get(name) ?? [];
  }

  /** Nodes that ever held a conference (the registry's node count). */
  nodeCount(): number {
    return this.byNode.size;
  }

  /** What we last heard the node call itself; the configured name until we heard anything. */
  identity(node: string): NodeIdentity {
    return this.identities.get(node) ?? { switchname: node, hostname: node, coreUuid: '' };
  }

  setIdentity(node: string, identity: NodeIdentity): void {
    this.identities.set(node, identity);
  }
}
