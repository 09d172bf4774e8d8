/**
 * Keeps the store in step with confmgr: a full reload from the REST API whenever the WebSocket
 * (re)subscribes, and one conference's reload when an event shows the store does not know it (a
 * conference that just started, a member never seen). Events that arrive while a snapshot is being
 * fetched wait and are applied after it, in order: each carries the member's whole state, so applying
 * one the snapshot already reflects changes nothing. When they show the conference ended and running
 * again (the same name started anew meanwhile), it is fetched once more.
 */
import { ApiError, type ApiClient } from './api.js';
import type { ConsoleStore } from './store.js';
import type { EventPayload } from './types.js';

type Pending = Array<[EventPayload, number]>;

/** Conferences fetched at once during a full reload. */
const CONCURRENCY = 4;

export interface SyncOptions {
  store: ConsoleStore;
  api: Pick<ApiClient, 'conferences' | 'conference'>;
  now?: () => number;
  /** A reload failed (shown to the operator); undefined clears it. */
  onError?: (message: string | undefined) => void;
}

export class ConferenceSync {
  /** Conferences being fetched → events that arrived meanwhile. */
  private readonly loading = new Map<string, Pending>();
  /** Asked for again while being fetched. */
  private readonly again = new Set<string>();
  /** Set during a full reload's list request: every event waits. */
  private listing: Pending | undefined;
  private generation = 0;
  private readonly now: () => number;

  constructor(private readonly o: SyncOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Every running conference of the account, afresh. */
  async reloadAll(): Promise<void> {
    const generation = ++this.generation;
    this.listing ??= [];
    let ids: string[];
    try {
      const list = await this.o.api.conferences();
      // Documents of conferences that are not running are listed too, with zeros.
      ids = list.data.filter((c) => c.members + c.admins > 0 || c.duration > 0 || c.is_locked).map((c) => c.id);
    } catch (err) {
      if (generation === this.generation) {
        const waiting = this.listing;
        this.listing = undefined;
        for (const [e, at] of waiting) this.onEvent(e, at);
      }
      this.o.onError?.(`could not list the conferences: ${describe(err)}`);
      return;
    }
    if (generation !== this.generation) return;
    this.o.onError?.(undefined);
    const active = new Set(ids);
    for (const c of this.o.store.conferences()) if (!active.has(c.id)) this.o.store.remove(c.id);
    // One fetch at a time per conference: a second one's snapshot would land without the events that
    // waited for the first. One being fetched (asked before this reload) is fetched again after.
    const fresh = ids.filter((id) => !this.loading.has(id));
    for (const id of ids) if (this.loading.has(id)) this.again.add(id);
    for (const id of fresh) this.loading.set(id, []);
    const waiting = this.listing;
    this.listing = undefined;
    for (const [e, at] of waiting) this.onEvent(e, at);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < fresh.length) await this.fetch(fresh[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, fresh.length) }, worker));
  }

  /** One conference afresh (after an action showed the store behind, or an event about an unknown one). */
  reload(id: string): Promise<void> {
    if (this.loading.has(id)) {
      this.again.add(id);
      return Promise.resolve();
    }
    this.loading.set(id, []);
    return this.fetch(id);
  }

  onEvent(e: EventPayload, receivedAt: number): void {
    if (this.listing) {
      this.listing.push([e, receivedAt]);
      return;
    }
    this.o.store.record(e, receivedAt);
    const id = typeof e.conference_id === 'string' ? e.conference_id : undefined;
    if (id === undefined) return;
    const pending = this.loading.get(id);
    if (pending) {
      pending.push([e, receivedAt]);
      return;
    }
    const result = this.o.store.apply(e, receivedAt);
    if (result === 'unknown-conference') {
      this.loading.set(id, [[e, receivedAt]]);
      void this.fetch(id);
    } else if (result === 'stale') void this.reload(id);
  }

  private async fetch(id: string): Promise<void> {
    // Events received before the request went out were sent before its answer: the snapshot has them.
    const answered = this.loading.get(id)?.length ?? 0;
    try {
      const r = await this.o.api.conference(id);
      this.o.store.setSnapshot(r.data, this.now());
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 403)) this.o.store.remove(id);
      else this.o.onError?.(`could not load conference ${id}: ${describe(err)}`);
    }
    const pending = this.loading.get(id) ?? [];
    this.loading.delete(id);
    // Whatever these say about members, the snapshot is the newest word on who is there: no reload
    // for a member it lacks. But a later event about a conference the store no longer holds (the
    // snapshot was a 404, or a replayed destroy ended it) means it runs again — a new conference of
    // the same name, started while this one was fetched: its snapshot is still to be taken.
    let behind = false;
    pending.forEach(([e, at], i) => {
      if (this.o.store.apply(e, at) === 'unknown-conference') behind ||= i >= answered;
      else if (e.event === 'conference-destroy') behind = false;
    });
    if (this.again.delete(id) || behind) await this.reload(id);
  }
}

function describe(err: unknown): string {
  return err instanceof ApiError ? err.describe() : String((err as Error)?.message ?? err);
}
