/**
 * Gives memory back to the kernel after a burst (a resync: a whole conference listing parsed, an
 * event synthesized per participant). V8 keeps the heap it grew to until its memory reducer notices
 * the process is idle, which may be many seconds or never (it is armed by a full GC the burst may not
 * have reached), so the process stays well above what it needs (README, bench state-service). One
 * full, compacting collection right after the burst makes that deterministic.
 *
 * How: an in-process inspector session's `HeapProfiler.collectGarbage`, Node's documented way to ask
 * V8 for every collectable byte (no `--expose-gc`). It blocks the event loop for the collection:
 * events wait in socket buffers meanwhile, none is lost. Requests are
 * coalesced: one collection after the last request of a burst, once `settled()` says its output has
 * left (the AMQP buffer drained), and then `quietMs` more. `compactNow()` is for start-up, before any
 * traffic.
 */
import type { Logger } from '../util/index.js';

export interface MemoryCompactorOptions {
  /** Resolves once the burst's output is gone (e.g. the publisher's buffer drained); bounded by the caller. */
  settled: () => Promise<void>;
  /** Quiet time after `settled()` and after the last request, before collecting (default 1 s). */
  quietMs?: number;
  logger: Logger;
  /** The collection itself; default V8's full collection through an in-process inspector session. */
  collect?: () => Promise<void>;
}

export class MemoryCompactor {
  private readonly quietMs: number;
  private readonly log: Logger;
  private readonly collect: () => Promise<void>;
  private readonly settled: () => Promise<void>;
  private timer: NodeJS.Timeout | undefined;
  private requested = 0;
  private running: Promise<void> | undefined;
  private closed = false;
  private disabled = false;
  private readonly reasons = new Set<string>();

  constructor(options: MemoryCompactorOptions) {
    this.quietMs = options.quietMs ?? 1000;
    this.log = options.logger;
    this.collect = options.collect ?? collectAllGarbage;
    this.settled = options.settled;
  }

  /** Collects now (start-up, before any traffic: the pause delays nothing). */
  async compactNow(reason: string): Promise<void> {
    if (this.closed || this.disabled) return;
    await this.compact([reason]);
  }

  /** Asks for one collection after the current burst; repeated requests coalesce. */
  request(reason: string): void {
    if (this.closed || this.disabled) return;
    this.requested++;
    this.reasons.add(reason);
    this.arm();
  }

  /** Cancels a pending collection (a running one finishes). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Resolves when no collection is pending or running (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.timer !== undefined || this.running !== undefined) {
      if (this.running) await this.running;
      else await new Promise((r) => setTimeout(r, 10));
    }
  }

  private arm(): void {
    clearTimeout(this.timer);
    // A request during a collection re-arms after it.
    if (this.running) return;
    this.timer = setTimeout(() => this.fire(), this.quietMs);
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    const seen = this.requested;
    this.running = this.run(seen).finally(() => {
      this.running = undefined;
      // Requests that came while settling or collecting get their own collection.
      if (this.requested !== seen && !this.closed && !this.disabled) this.arm();
    });
  }

  private async run(seen: number): Promise<void> {
    await this.settled();
    await new Promise((r) => setTimeout(r, this.quietMs).unref());
    // A newer request (a second node resyncing) restarts the wait: one collection per burst.
    if (this.closed || this.requested !== seen) return;
    const reasons = [...this.reasons];
    this.reasons.clear();
    await this.compact(reasons);
  }

  private async compact(reasons: string[]): Promise<void> {
    const before = process.memoryUsage();
    const started = performance.now();
    try {
      await this.collect();
    } catch (err) {
      // No inspector in this node build (or it refused): the memory reducer alone will have to do.
      this.disabled = true;
      this.log.info({ err }, 'memory compaction unavailable; V8 returns memory on its own schedule');
      return;
    }
    const after = process.memoryUsage();
    this.log.info(
      {
        reasons,
        ms: Math.round(performance.now() - started),
        rssMb: [mb(before.rss), mb(after.rss)],
        heapMb: [mb(before.heapTotal), mb(after.heapTotal)],
      },
      'memory compacted after a burst',
    );
  }
}

const mb = (b: number): number => Math.round(b / 104857.6) / 10;

/** V8's full, compacting collection (what a heap snapshot runs first), through the inspector protocol. */
async function collectAllGarbage(): Promise<void> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.collectGarbage');
  } finally {
    session.disconnect();
  }
}
