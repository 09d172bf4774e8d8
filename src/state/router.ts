/**
 * Which node a conference command goes to. The registry knows where every live conference is (its
 * `focus`), so a lookup never asks every node. Rules (src/state/README.md):
 * - one node hosts it and that node is connected → that node;
 * - it is hosted by a node that is down (within its grace period) → NodeDownError;
 * - nobody hosts it → ConferenceNotFoundError at once, unless some node's state is still being built
 *   (never synced yet, or json_list in flight): then wait for those resyncs, at most `resyncWaitMs`,
 *   and look again;
 * - several nodes host the same name at once → ConferenceAmbiguousError: a command is never sent to
 *   a guessed node. Callers that know the call (participant commands) use `nodeForCall`.
 */
import { ConferenceAmbiguousError, ConferenceNotFoundError, MemberNotFoundError, NodeDownError } from '../conference/index.js';
import type { ConferenceRegistry } from './registry.js';
import type { ConferenceLocator } from '../conference/index.js';

/** What the router needs to know about node sync states (ConferenceStateSync implements it). */
export interface NodeSyncView {
  isRebuilding(node: string): boolean;
  rebuildingNodes(): string[];
  isDown(node: string): boolean;
  whenSettled(timeoutMs: number, nodes?: readonly string[]): Promise<boolean>;
}

export interface RouterOptions {
  /** Longest wait for resyncs in progress before answering "not found" (default 3 s). */
  resyncWaitMs?: number;
}

export class ConferenceRouter implements ConferenceLocator {
  private readonly resyncWaitMs: number;

  constructor(
    private readonly registry: ConferenceRegistry,
    private readonly sync: NodeSyncView,
    options: RouterOptions = {},
  ) {
    this.resyncWaitMs = options.resyncWaitMs ?? 3_000;
  }

  async nodeFor(conference: string): Promise<string> {
    let nodes = this.registry.nodesHosting(conference);
    if (nodes.length === 0) {
      const rebuilding = this.sync.rebuildingNodes();
      if (rebuilding.length > 0) {
        await this.sync.whenSettled(this.resyncWaitMs, rebuilding);
        nodes = this.registry.nodesHosting(conference);
      }
    }
    if (nodes.length === 0) {
      const rebuilding = this.sync.rebuildingNodes();
      throw new ConferenceNotFoundError(conference, rebuilding.length > 0 ? { rebuilding } : undefined);
    }
    if (nodes.length > 1) throw new ConferenceAmbiguousError(conference, nodes);
    const node = nodes[0]!;
    if (this.sync.isDown(node)) throw new NodeDownError(node, { conference });
    return node;
  }

  /** Every node hosting `conference` (most recent start first); empty when none. No waiting. */
  nodesFor(conference: string): string[] {
    return this.registry.nodesHosting(conference);
  }

  /**
   * The node where `callId` is a participant of `conference` — unambiguous even when the name is
   * live on several nodes. MemberNotFoundError when the conference is known but the call is not in it.
   */
  async nodeForCall(conference: string, callId: string): Promise<string> {
    let p = this.registry.participant(conference, callId);
    if (!p && this.sync.rebuildingNodes().length > 0) {
      await this.sync.whenSettled(this.resyncWaitMs, this.sync.rebuildingNodes());
      p = this.registry.participant(conference, callId);
    }
    if (!p) {
      if (this.registry.nodesHosting(conference).length === 0) throw new ConferenceNotFoundError(conference);
      throw new MemberNotFoundError(conference, callId);
    }
    if (this.sync.isDown(p.node)) throw new NodeDownError(p.node, { conference, callId });
    return p.node;
  }
}
