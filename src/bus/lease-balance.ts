/**
 * The balance rule of instances sharing one node list: which lease, if any, an instance over its share
 * gives up, and to whom it may go.
 *
 * A lease is given up only for a node that a live peer under its share says it is ready to serve: it
 * contends for that node, which it does once its own state of the node is resynced (src/app/service.ts).
 * From then on that peer holds every event of the node the active has not been seen publishing, so
 * what the active holds back once it stops publishing is in the peer's hold too. A peer that merely
 * announced itself (still connecting to FreeSWITCH, or resyncing) has no such hold: the events between
 * the release and its resync would reach nobody, so it is left to take free leases only.
 */

/** What a peer last announced on the presence exchange. */
export interface PeerPresence {
  /** Leases it holds. */
  held: number;
  /** When it was last heard from (ms, this instance's clock). */
  at: number;
  /** Nodes it contends for (resynced, reachable); undefined: it did not say, so none. */
  ready: ReadonlySet<string> | undefined;
}

export interface GiveUpInput {
  /** This instance's served leases, oldest won first. */
  won: readonly string[];
  /** Live peers (this instance excluded). */
  peers: Iterable<PeerPresence>;
  /** The most leases an instance should hold. */
  share: number;
}

/** The newest lease a live peer under its share is ready to take, when this instance holds more than its share. */
export function leaseToGiveUp({ won, peers, share }: GiveUpInput): string | undefined {
  if (won.length <= share) return undefined;
  const takers = [...peers].filter((p) => p.held < share && p.ready !== undefined);
  if (takers.length === 0) return undefined;
  for (let i = won.length - 1; i >= 0; i--) {
    const node = won[i]!;
    if (takers.some((p) => p.ready!.has(node))) return node;
  }
  return undefined;
}

/** The presence message: who, how many leases, which nodes it is ready to serve. */
export interface PresenceMessage {
  id: string;
  held: number;
  /** Undefined when the sender did not list them. */
  ready: string[] | undefined;
}

/** Parses a presence message; undefined when it is not one. */
export function parsePresence(content: Buffer): PresenceMessage | undefined {
  try {
    const p = JSON.parse(content.toString()) as { id?: unknown; held?: unknown; ready?: unknown };
    if (typeof p.id !== 'string' || typeof p.held !== 'number') return undefined;
    const ready = Array.isArray(p.ready) && p.ready.every((n) => typeof n === 'string') ? (p.ready as string[]) : undefined;
    return { id: p.id, held: p.held, ready };
  } catch {
    return undefined;
  }
}
