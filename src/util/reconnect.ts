/**
 * The reconnect loop of the publisher and the command intake (amqplib's plain `connect` does not
 * reconnect): a session, then a Backoff delay (the one reconnect policy), again until aborted.
 */
import { Backoff, type BackoffOptions } from './backoff.js';

/** Resolves after `ms`, or early when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface ReconnectLoopOptions {
  /** Aborting it ends the loop (after the current session, or at once while waiting). */
  signal: AbortSignal;
  backoff?: BackoffOptions;
  /**
   * One connection's whole life: connect, set up, and resolve when it is lost. Call `connected()`
   * once it is up, so the next failure starts the backoff from the first delay again (when it stayed
   * up `backoff.resetAfterMs`, default at once). A throw (or rejection) counts as a failed attempt.
   */
  session: (connected: () => void) => Promise<void>;
  /** A session threw while the loop was still running (logged by the caller). */
  onError?: (err: unknown) => void;
}

/** Runs `session` again and again, waiting a Backoff delay between tries, until `signal` aborts. */
export async function reconnectLoop(options: ReconnectLoopOptions): Promise<void> {
  const { signal } = options;
  const backoff = new Backoff(options.backoff);
  while (!signal.aborted) {
    try {
      await options.session(() => backoff.connected());
    } catch (err) {
      if (!signal.aborted) options.onError?.(err);
    }
    if (signal.aborted) break;
    await sleep(backoff.next(), signal);
  }
}
