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

export class EventFilter {
  private allowed: ReadonlySet<string> | undefined;
  private passedCounts = new Map<string, number>();
  private filteredCounts = new Map<string, number>();

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
    counts.set(eventName, (counts.get(eventName) ?? 0) + 1);
    return ok;
  }

  get filteredTotal(): number {
    let n = 0;
    for (const v of this.filteredCounts.values()) n += v;
    return n;
  }

  counters(): FilterCounters {
    return { passed: Object.fromEntries(this.passedCounts), filtered: Object.fromEntries(this.filteredCounts) };
  }
}
