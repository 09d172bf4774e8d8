/**
 * How fast a resync may hand its synthesized events on. A cold start synthesizes an event per
 * participant; paced, they wait upstream as snapshot rows rather than all at once as AMQP bodies,
 * conferencecall writes and WebSocket frames, so the process's peak memory follows (README, bench
 * state-service). Both the publisher's buffer and the conferencecall records' queue are waited for.
 */

/** A pause every this many synthesized events… */
export const RESYNC_PACE_EVERY = 500;
/** …until fewer than this many wait in the publisher's buffer (those in flight not counted)… */
export const RESYNC_PACE_BUFFERED = 1000;
/** …or this long has passed: a slow broker slows a resync down, it never stops it. */
export const RESYNC_PACE_MAX_WAIT_MS = 250;

/** The publisher's buffer, as far as pacing needs it. */
export interface OutboundBuffer {
  /** Resolves once fewer than `n` events are buffered, or after `maxWaitMs`. */
  whenBufferedBelow(n: number, maxWaitMs: number): Promise<void>;
}

/**
 * ConferenceStateSync's `paceEvery` and `pace` options over the given buffers: the publisher's, and
 * any other consumer's queue of the events (the conferencecall records' writes), each waited for.
 */
export function resyncPacing(...buffers: OutboundBuffer[]): { paceEvery: number; pace: () => Promise<void> } {
  return {
    paceEvery: RESYNC_PACE_EVERY,
    pace: async () => {
      await new Promise<void>((resolve) => setImmediate(resolve)); // the event hub's consumers run
      await Promise.all(buffers.map((b) => b.whenBufferedBelow(RESYNC_PACE_BUFFERED, RESYNC_PACE_MAX_WAIT_MS)));
    },
  };
}
