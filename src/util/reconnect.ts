/**
 * Reconnect policy shared by the publisher and the command intake (amqplib's plain `connect` does
 * not reconnect): exponential backoff delays, a cancellable sleep, and the loop that uses them.
 */

export interface BackoffOptions {
  /** First retry delay. Default 100 ms. */
  initialDelayMs?: number;
  /** Cap. Default 5000 ms. */
  maxDelayMs?: number;
}

/** Exponential backoff with ±20 % jitter, capped; `attempt` starts at 0. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialDelayMs ?? 100;
  const max = options.maxDelayMs ?? 5000;
  const base = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  const jittered = base * (0.8 + Math.random() * 0.4);
  return Math.round(Math.min(max, jittered));
}

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
   * once it is up, so the next failure starts the backoff from the first delay again. A throw (or
   * rejection) counts as a failed attempt.
   */
  session: (connected: () => void) => Promise<void>;
  /** A session threw while the loop was still running (logged by the caller). */
  onError?: (err: unknown) => void;
}

/** Runs `session` again and again, waiting `backoffDelay(attempt)` between tries, until `signal` aborts. */
export async function reconnectLoop(options: ReconnectLoopOptions): Promise<void> {
  const { signal } = options;
  let attempt = 0;
  while (!signal.aborted) {
    try {
      await options.session(() => {
        attempt = 0;
      });
    } catch (err) {
      if (!signal.aborted) options.onError?.(err);
    }
    if (signal.aborted) break;
    await sleep(backoffDelay(attempt++, options.backoff), signal);
  }
}
