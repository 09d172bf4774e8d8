/**
 * The pure part of the cluster view's scatter-gather: which instances are alive (heard on the cluster
 * exchange recently) and the answers to one request, collected until every one of them answered or
 * the deadline passed. No AMQP here (src/bus/cluster-view.ts sends and receives).
 */

/** One instance that answered a request, with what it said. */
export interface GatheredAnswer<T> {
  instance: string;
  data: T;
}

export interface GatherOutcome<T> {
  answers: GatheredAnswer<T>[];
  /** Live instances that did not answer by the deadline (their conferences or nodes are not in `answers`). */
  missing: string[];
  /** Some instance did not answer (or this instance could not ask): the result may lack conferences. */
  partial: boolean;
}

export interface ClusterPeersOptions {
  /** An instance not heard from for this long is no longer waited for. */
  expireMs: number;
  now?: () => number;
}

/** The other instances on the broker, as last heard (presence beats, answers, requests). */
export class ClusterPeers {
  private readonly heardAt = new Map<string, { instance: string; at: number }>();
  private readonly expireMs: number;
  private readonly now: () => number;

  constructor(options: ClusterPeersOptions) {
    this.expireMs = options.expireMs;
    this.now = options.now ?? Date.now;
  }

  /** `id` (one per running process) was heard, as instance `instance`. */
  heard(id: string, instance: string): void {
    this.heardAt.set(id, { instance, at: this.now() });
  }

  /** `id` said goodbye (a graceful stop): not waited for any more. */
  gone(id: string): void {
    this.heardAt.delete(id);
  }

  /** The instances heard within `expireMs`, by id (expired ones are forgotten). */
  live(): Map<string, string> {
    const since = this.now() - this.expireMs;
    const out = new Map<string, string>();
    for (const [id, p] of this.heardAt) {
      if (p.at < since) this.heardAt.delete(id);
      else out.set(id, p.instance);
    }
    return out;
  }
}

/** A timer handle: Node's Timeout, or a test's own. */
type Timer = unknown;

export interface GatheringOptions {
  /** The instances expected to answer, id → instance name. */
  expected: ReadonlyMap<string, string>;
  deadlineMs: number;
  /** An answer that settles the question (one instance's "I serve it"): done at once, the rest not awaited. */
  enough?: (data: unknown) => boolean;
  setTimer?: (fn: () => void, ms: number) => Timer;
  clearTimer?: (timer: Timer) => void;
}

/**
 * The answers to one request. `done` resolves as soon as every expected instance answered, at once
 * when none is expected (an instance alone waits for nothing), else at the deadline with the silent
 * ones listed as missing. An answer from an instance that was not expected (it joined since) is kept;
 * a second answer from the same one is ignored.
 */
export class Gathering<T> {
  readonly done: Promise<GatherOutcome<T>>;
  private readonly waiting: Map<string, string>;
  private readonly answers: GatheredAnswer<T>[] = [];
  private readonly answered = new Set<string>();
  private resolve!: (outcome: GatherOutcome<T>) => void;
  private timer: Timer | undefined;
  private finished = false;
  private readonly clearTimer: (timer: Timer) => void;
  private readonly enough: ((data: unknown) => boolean) | undefined;

  constructor(options: GatheringOptions) {
    this.waiting = new Map(options.expected);
    this.enough = options.enough;
    this.clearTimer = options.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout));
    this.done = new Promise((resolve) => (this.resolve = resolve));
    if (this.waiting.size === 0) {
      this.finish();
      return;
    }
    const setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.timer = setTimer(() => this.finish(), options.deadlineMs);
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** The answer of instance `id`. */
  answer(id: string, instance: string, data: T): void {
    if (this.finished || this.answered.has(id)) return;
    this.answered.add(id);
    this.waiting.delete(id);
    this.answers.push({ instance, data });
    if (this.waiting.size === 0) this.finish();
    else if (this.enough?.(data)) this.finish(false);
  }

  /** Ends now: whoever has not answered is missing (unless an answer was enough: nobody else was needed). */
  finish(incomplete = true): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer !== undefined) this.clearTimer(this.timer);
    const missing = incomplete ? [...new Set(this.waiting.values())].sort() : [];
    this.resolve({ answers: this.answers, missing, partial: missing.length > 0 });
  }
}
