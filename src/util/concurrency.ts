/**
 * Bounded concurrency over a known list of async jobs (a resync's listing pages, its uuid_dumps).
 *
 * `concurrency` workers pull the next item when they are free, so nothing exists for an item not yet
 * started. A cold resync has one job per participant: a queue of closures (p-queue, which the ESL pool
 * uses for its long-lived command queue) would hold a promise and a closure for every one of them
 * from the start.
 */

export interface ForEachOptions {
  /** Checked before each item is started: once true, no further item starts (running ones finish). */
  stop?: () => boolean;
}

/**
 * Runs `task(item, index)` for every item, at most `concurrency` at once (at least one), starting
 * them in order. Resolves when every started task has settled. A task that rejects stops the run: no
 * further item starts, and the returned promise rejects with the first error once the running tasks
 * have settled (no work is left behind).
 */
export async function forEachConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<void>,
  options: ForEachOptions = {},
): Promise<void> {
  const { stop } = options;
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && failure === undefined && !stop?.()) {
      const i = next++;
      try {
        await task(items[i]!, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const workers = Math.min(concurrency >= 1 ? Math.floor(concurrency) : 1, items.length);
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure) throw failure.error;
}
