/**
 * What one API client may send or hold (config `http.limits`): request bodies, and per WebSocket the
 * time to authenticate, the message size, the number of subscriptions and how often events are written.
 */
export interface ApiLimits {
  /** Largest request body on the API's routes (413 beyond). */
  bodyBytes: number;
  /** A WebSocket that has not authenticated this long after its upgrade is closed (1008). */
  websocketAuthTimeoutMs: number;
  /** Largest WebSocket message; a larger one closes the socket (1009). */
  websocketMessageBytes: number;
  /** Subscriptions per WebSocket. */
  websocketSubscriptions: number;
  /**
   * Events go out to a WebSocket at most once per this many ms (0: once per event-loop turn). A socket
   * write costs far more than the bytes it carries, and a browser or dashboard needs its events within
   * a display frame, not within the broker's few milliseconds.
   */
  websocketWriteCoalesceMs: number;
}

export const DEFAULT_API_LIMITS: ApiLimits = {
  bodyBytes: 128 * 1024,
  websocketAuthTimeoutMs: 5_000,
  websocketMessageBytes: 64 * 1024,
  websocketSubscriptions: 100,
  websocketWriteCoalesceMs: 16,
};
