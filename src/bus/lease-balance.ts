/**
 * The rules of instances sharing one node list: which lease, if any, an instance over its share gives
 * up and to whom, and which instance may claim a free lease.
 *
 * What decides both is how far back each instance's hold of a node's events reaches (its `Reach`: the
 * first event, by Core-UUID and Event-Sequence, it received since its ESL connection came up) against
 * the last event seen published for the node. An instance whose hold reaches back to it ("covers" the
 * node) has every event nobody published yet; one that does not (it joined, or reconnected, after it)
 * would lose the events in between if it took the node. So:
 *
 *  - a lease is given up only to a live peer under its share that is ready for the node (resynced) and
 *    covers it;
 *  - a free lease is claimed only by the best live candidate: one that covers before one that does not,
 *    then the hold that reaches furthest back, then one under its share, then the smaller id. Every
 *    instance computes the same order from the same presence messages, so one claims and the others
 *    wait; when no candidate covers, the one reaching furthest back loses the least.
 */

/**
 * How far back an instance's hold of a node's events reaches: it has every event of `core` after
 * `from`, and `from` itself when that was the first one it received (the hold did not overflow).
 */
export interface Reach {
  core: string;
  from: number;
}

/** The last event of a node seen published (read back from the exchange). */
export interface Published {
  core: string;
  sequence: number;
}

/** What a peer last announced on the presence exchange. */
export interface PeerPresence {
  /** Leases it holds. */
  held: number;
  /** When it was last heard from (ms, this instance's clock). */
  at: number;
  /** Nodes it contends for (resynced, reachable); undefined: it did not say, so none. */
  ready: ReadonlySet<string> | undefined;
  /** Nodes whose lease it holds. */
  holds?: ReadonlySet<string>;
  /** node → how far back its hold reaches. */
  reach?: ReadonlyMap<string, Reach>;
  /** node → the last event it saw published. */
  published?: ReadonlyMap<string, Published>;
}

/** Whether a hold reaching back to `reach` has every event after the last published one. */
export function covers(reach: Reach | undefined, published: Published | undefined): boolean {
  return reach !== undefined && published !== undefined && reach.core === published.core && reach.from <= published.sequence;
}

export interface GiveUpInput {
  /** This instance's served leases, oldest won first. */
  won: readonly string[];
  /** Live peers (this instance excluded). */
  peers: Iterable<PeerPresence>;
  /** The most leases an instance should hold. */
  share: number;
  /** node → the last event seen published; a node with none (nothing published yet) goes to any ready peer. */
  published?: (node: string) => Published | undefined;
}

/** The newest lease a live peer under its share is ready to take and covers, when this instance holds more than its share. */
export function leaseToGiveUp({ won, peers, share, published = () => undefined }: GiveUpInput): string | undefined {
  if (won.length <= share) return undefined;
  const takers = [...peers].filter((p) => p.held < share && p.ready !== undefined);
  if (takers.length === 0) return undefined;
  for (let i = won.length - 1; i >= 0; i--) {
    const node = won[i]!;
    const last = published(node);
    if (takers.some((p) => p.ready!.has(node) && (last === undefined || covers(p.reach?.get(node), last)))) return node;
  }
  return undefined;
}

/** One instance that may claim a free lease. */
export interface Claimant {
  id: string;
  /** Leases it holds. */
  held: number;
  reach: Reach | undefined;
}

/** Orders candidates for a free lease; negative: `a` is the better one. */
function compareClaimants(a: Claimant, b: Claimant, published: Published | undefined, share: number): number {
  const ca = covers(a.reach, published);
  const cb = covers(b.reach, published);
  if (ca !== cb) return ca ? -1 : 1;
  if (!ca) {
    const fa = a.reach?.from ?? Infinity;
    const fb = b.reach?.from ?? Infinity;
    if (fa !== fb) return fa < fb ? -1 : 1;
  }
  const ua = a.held < share;
  const ub = b.held < share;
  if (ua !== ub) return ua ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export interface ClaimInput {
  me: Claimant;
  /** Live peers ready for the node and not holding it. */
  rivals: Iterable<Claimant>;
  /** The last event of the node seen published, as far as anyone announced. */
  published: Published | undefined;
  share: number;
}

/** Whether this instance is the one to claim a free lease: no rival is a better candidate. */
export function shouldClaim({ me, rivals, published, share }: ClaimInput): boolean {
  for (const r of rivals) if (compareClaimants(r, me, published, share) < 0) return false;
  return true;
}

/** The latest of the published marks announced for a node: on the core this instance's hold is on when any is. */
export function latestPublished(marks: Iterable<Published | undefined>, core: string | undefined): Published | undefined {
  let best: Published | undefined;
  let bestSame: Published | undefined;
  for (const m of marks) {
    if (!m) continue;
    if (!best || m.sequence > best.sequence) best = m;
    if (m.core === core && (!bestSame || m.sequence > bestSame.sequence)) bestSame = m;
  }
  return bestSame ?? best;
}

/** The presence message: who, how many leases, which nodes it is ready to serve and holds, how far its holds reach. */
export interface PresenceMessage {
  id: string;
  held: number;
  /** Undefined when the sender did not list them. */
  ready: string[] | undefined;
  holds?: string[];
  /** node → [Core-UUID, first Event-Sequence held]. */
  reach?: Record<string, [string, number]>;
  /** node → [Core-UUID, last Event-Sequence seen published]. */
  published?: Record<string, [string, number]>;
}

/** Parses a presence message; undefined when it is not one. */
export function parsePresence(content: Buffer): PresenceMessage | undefined {
  try {
    const p = JSON.parse(content.toString()) as Record<string, unknown>;
    if (typeof p.id !== 'string' || typeof p.held !== 'number') return undefined;
    const ready = stringList(p.ready);
    const holds = stringList(p.holds);
    const reach = marks(p.reach);
    const published = marks(p.published);
    return { id: p.id, held: p.held, ready, ...(holds ? { holds } : {}), ...(reach ? { reach } : {}), ...(published ? { published } : {}) };
  } catch {
    return undefined;
  }
}

/** A parsed presence message as kept per peer. */
export function peerPresence(p: PresenceMessage, at: number): PeerPresence {
  return {
    held: p.held,
    at,
    ready: p.ready ? new Set(p.ready) : undefined,
    holds: new Set(p.holds ?? []),
    reach: markMap(p.reach, (core, from) => ({ core, from })),
    published: markMap(p.published, (core, sequence) => ({ core, sequence })),
  };
}

function stringList(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((n) => typeof n === 'string') ? (v as string[]) : undefined;
}

function marks(v: unknown): Record<string, [string, number]> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  // No prototype: a node named `__proto__` is a key like any other.
  const out = Object.create(null) as Record<string, [string, number]>;
  for (const [node, m] of Object.entries(v)) {
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && Number.isSafeInteger(m[1]) && (m[1] as number) > 0) out[node] = [m[0], m[1] as number];
  }
  return out;
}

function markMap<T>(m: Record<string, [string, number]> | undefined, make: (core: string, n: number) => T): Map<string, T> {
  return new Map(Object.entries(m ?? {}).map(([node, [core, n]]) => [node, make(core, n)]));
}
