/**
 * The `publish_participant_event` filter: which event names (Actions) go to the bus.
 *   undefined → every event is published
 *   []        → none
 *   [names]   → only those
 * Unknown names are rejected at config load (src/config), not here: the conference layer owns the
 * list of known Actions. `update()` swaps the list atomically (SIGHUP reload); counters survive it.
 */

export interface FilterCounters {
  /** Events let through, per event name. */
  passed: Record<string, number>;
  /** Events filtered out, per event name. */
  filtered: Record<string, number>;
}

/** One name's count, changed in place: one map lookup per event instead of a get and a set. */
interface Count {
  n: number;
}

export class EventFilter {
  private allowed: ReadonlySet<string> | undefined;
  private passedCounts = new Map<string, Count>();
  private filteredCounts = new Map<string, Count>();

  constructor(list?: readonly string[]) {
    this.allowed = list === undefined ? undefined : new Set(list);
  }

  /** Replaces the list (undefined = all). Takes effect for the next event. */
  update(list?: readonly string[]): void {
    this.allowed = list === undefined ? undefined : new Set(list);
  }

  /** The current list; undefined means "all". */
  get list(): string[] | undefined {
    return this.allowed === undefined ? undefined : [...this.allowed];
  }

  /** Pure check, no counting. */
  allows(eventName: string): boolean {
    return this.allowed === undefined || this.allowed.has(eventName);
  }

  /** Checks and counts: the call to make once per outbound event. */
  check(eventName: string): boolean {
    const ok = this.allows(eventName);
    const counts = ok ? this.passedCounts : this.filteredCounts;
    const count = counts.get(eventName);
    if (count !== undefined) count.n++;
    else counts.set(eventName, { n: 1 });
    return ok;
  }

  get filteredTotal(): number {
    let n = 0;
    for (const v of this.filteredCounts.values()) n += v.n;
    return n;
  }

  counters(): FilterCounters {
    return { passed: plain(this.passedCounts), filtered: plain(this.filteredCounts) };
  }
}

function plain(counts: ReadonlyMap<string, Count>): Record<string, number> {
  return Object.fromEntries(Array.from(counts, ([name, count]) => [name, count.n]));
}
