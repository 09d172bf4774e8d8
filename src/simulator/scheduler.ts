/**
 * Time for the engine: timers for things FreeSWITCH does later (a file finishing, a recording
 * thread, a heartbeat). Real by default; tests inject a ManualScheduler to make the order of
 * deferred events deterministic.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Scheduler {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimer(fn: () => void, ms: number): TimerHandle;
}

export const realScheduler: Scheduler = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

interface ManualTimer {
  due: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Timers that fire only when the test says so, in due order (ties in creation order). */
export class ManualScheduler implements Scheduler {
  private timers: ManualTimer[] = [];
  private seq = 0;
  private virtual = 0;

  now(): number {
    return Date.now() + this.virtual;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { due: this.virtual + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Runs the earliest pending timer; false when there is none. */
  runNext(): boolean {
    this.timers = this.timers.filter((t) => !t.cancelled);
    if (this.timers.length === 0) return false;
    let best = 0;
    for (let i = 1; i < this.timers.length; i++) {
      const a = this.timers[i]!;
      const b = this.timers[best]!;
      if (a.due < b.due || (a.due === b.due && a.seq < b.seq)) best = i;
    }
    const [timer] = this.timers.splice(best, 1);
    this.virtual = Math.max(this.virtual, timer!.due);
    timer!.fn();
    return true;
  }

  runAll(limit = 10_000): number {
    let n = 0;
    while (n < limit && this.runNext()) n++;
    return n;
  }
}
