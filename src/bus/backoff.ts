/** Reconnect delays (amqplib's plain connect does not reconnect) and a cancellable sleep. */

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
