/**
 * The contract the ESL layer offers to the layers above it. `connection.ts` implements one socket,
 * `pool.ts` one node (event connection + N command connections), `cluster.ts` a set of nodes.
 */
import type { EslEvent } from './event-decoding.js';

export interface ApiOptions {
  /** Reply deadline; on expiry the request fails with EslTimeoutError and its connection is replaced. */
  timeoutMs?: number;
}

/** Result of a `bgapi`: the BACKGROUND_JOB event's body, correlated by the Job-UUID we generated. */
export interface BackgroundJobResult {
  jobUuid: string;
  body: string;
}

export type NodeState = 'connecting' | 'up' | 'down' | 'closed';

/** One FreeSWITCH node as the conference layer sees it. */
export interface EslNode {
  readonly name: string;
  readonly state: NodeState;
  /** Runs `api <command>` on a command connection; resolves with the api/response body, whatever it says. */
  api(command: string, options?: ApiOptions): Promise<string>;
  /** `bgapi <command>`: resolves with the BACKGROUND_JOB body; `jobTimeoutMs` bounds the wait for it. */
  bgapi(command: string, options?: ApiOptions & { jobTimeoutMs?: number }): Promise<BackgroundJobResult>;
}

export interface NodeConfig {
  name: string;
  host: string;
  port: number;
  password: string;
  /** Command connections besides the event connection (default 2). */
  commandConnections?: number;
  /** Events to subscribe to on the event connection (json format), CUSTOM subclasses included. */
  events?: string[];
  connectTimeoutMs?: number;
  /** Default api timeout (default 5000). */
  apiTimeoutMs?: number;
  /**
   * Backoff between attempts of each connection (full jitter). `resetAfterMs`: the backoff starts over
   * only after a connection stayed up this long (default 5000), so a peer that authenticates and then
   * breaks the connection at once is retried ever more slowly instead of many times a second.
   */
  reconnect?: { baseMs?: number; capMs?: number; resetAfterMs?: number };
  /** Bounded wait queue per node; beyond it commands fail with EslOverloadError. */
  maxQueuedCommands?: number;
  /** Liveness: a periodic `api status` with this interval (0 disables). */
  livenessIntervalMs?: number;
  /** Liveness: the event connection is replaced when neither an event nor an answered liveness probe came for this long (needs HEARTBEAT subscribed; 0 disables; default 65000). */
  heartbeatTimeoutMs?: number;
  /** After a refused password, wait this long before trying again (default 60000; 0 = stop trying). */
  authRetryMs?: number;
  /** Default deadline for a bgapi job's BACKGROUND_JOB event (default 120000). */
  jobTimeoutMs?: number;
}

/** Events a node (pool) emits, with the node's name. */
export interface NodeEvents {
  /** A parsed event from the event connection, in wire order. */
  event: [node: string, event: EslEvent];
  /** The event connection is (re)subscribed: the layer above must resync this node's state now. */
  up: [node: string];
  down: [node: string, reason: string];
}
