/**
 * Which FreeSWITCH nodes this instance serves (is active for): the command intake binds its own
 * queue to the conferences live on those nodes only. A single instance serves every configured node;
 * a lease-based implementation decides it among several instances.
 */
export interface ServedNodes {
  /** Whether this instance currently serves (is active for) the node. */
  isServing(node: string): boolean;
  /** Fires when the set of served nodes changes. Returns an unsubscribe. */
  onChange(listener: () => void): () => void;
}

/** Every configured node, always: a single instance (today's behaviour). */
export function allNodesServed(nodes: readonly string[]): ServedNodes {
  const set = new Set(nodes);
  return {
    isServing: (node) => set.has(node),
    // The set never changes: nothing to tell.
    onChange: () => () => undefined,
  };
}
