/**
 * Closing the conferencecall records of calls that left while confmgr was away (no del-member was
 * ever seen): after the first resync of each node, the records still open whose call is no longer
 * live are moved to `leaved`. Only nodes already resynced are judged — a node still resyncing shows
 * no conferences yet — and records without a node only once every node has been. The resync's own
 * events were emitted before 'resynced', so the tracker (serial) has applied them first.
 */
import type { Logger } from '../util/index.js';
import type { ResyncResult } from '../state/index.js';

/** The tracker, as far as reconciling needs it (ConferencecallTracker.reconcile). */
export interface Reconciler {
  /** Closes open records whose call is gone, judging only nodes `known` says; resolves how many. */
  reconcile(known: (node: string | null) => boolean): Promise<number>;
}

export function reconcileAfterFirstResync(o: {
  sync: { on(event: 'resynced', listener: (result: ResyncResult) => void): unknown };
  /** Every configured node. */
  nodes: readonly string[];
  nodeUp(node: string): boolean;
  tracker: Reconciler;
  logger: Logger;
}): void {
  const resyncedOnce = new Set<string>();
  o.sync.on('resynced', (result) => {
    if (resyncedOnce.has(result.node)) return;
    resyncedOnce.add(result.node);
    const allResynced = o.nodes.every((n) => resyncedOnce.has(n));
    const known = (node: string | null): boolean => (node === null ? allResynced : resyncedOnce.has(node) && o.nodeUp(node));
    o.tracker.reconcile(known).then(
      (closed) => {
        if (closed > 0) o.logger.info({ node: result.node, closed }, 'conferencecalls of calls gone while confmgr was away closed as leaved');
      },
      (err: unknown) => o.logger.warn({ err, node: result.node }, 'conferencecall reconcile failed'),
    );
  });
}
