/**
 * Which FreeSWITCH nodes this instance serves (is active for): the publisher gate and the command
 * routing ask it. Without standby pairs every configured node is served (allNodesServed); with them
 * the node leases (src/bus/node-lease.ts) decide.
 */
export interface ServedNodes {
  /** Whether this instance currently serves (is active for) the node. */
  isServing(node: string): boolean;
  /** Fires when the set of served nodes changes. Returns an unsubscribe. */
  onChange(listener: () => void): () => void;
}

/** Every listed node, always: one instance alone, or `ha.enabled: false`. Never changes. */
export function allNodesServed(nodes: readonly string[]): ServedNodes {
  const served = new Set(nodes);
  return {
    isServing: (node) => served.has(node),
    onChange: () => () => undefined,
  };
}
