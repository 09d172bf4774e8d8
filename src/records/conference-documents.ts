/**
 * Conference documents: storage plus an in-process cache (every write goes through this class, so
 * the cache stays exact). Event handlers (enforcer, conferencecalls, WebSocket) read documents on
 * every event; the cache keeps that off the database.
 */
import { createHash, randomUUID } from 'node:crypto';
import { NumbersInUseError, type Storage, type StoredConferenceDocument } from '../storage/index.js';
import { ValidationError } from './errors.js';

/** Kazoo's answer to a document reusing another's number (cb_conferences `invalid_numbers`). */
function numbersInUse(err: unknown): unknown {
  if (!(err instanceof NumbersInUseError)) return err;
  return new ValidationError({ numbers: { unique: { message: 'Numbers already in use', cause: err.numbers.join(', ') } } });
}

/**
 * A lookup that found no document is remembered this long: event consumers (the WebSocket hub, the
 * enforcer) ask for the document of the same conference on every event, and most conferences have
 * none. Short, so a document written by another instance over a shared database is seen soon.
 */
const ABSENT_TTL_MS = 1000;
/** Names remembered as having no document at most (the oldest are forgotten first). */
const ABSENT_MAX = 10_000;

function revisionOf(n: number, body: Record<string, unknown>): string {
  return `${n}-${createHash('md5').update(JSON.stringify(body)).digest('hex')}`;
}

function revisionNumber(revision: string): number {
  const n = Number.parseInt(revision.split('-')[0] ?? '0', 10);
  return Number.isFinite(n) ? n : 0;
}

/** Kazoo-style 32-hex id for documents created without one. */
export function newDocumentId(): string {
  return randomUUID().replace(/-/g, '');
}

export class ConferenceDocuments {
  /**
   * id → document. Misses are not cached: conference names are often unique per call (Kazoo ids),
   * so remembering every name looked up would grow without bound.
   */
  private readonly cache = new Map<string, StoredConferenceDocument>();
  /** id → until when it is known to have no document (see ABSENT_TTL_MS); checked after `cache`. */
  private readonly absent = new Map<string, number>();

  constructor(
    private readonly storage: Storage,
    private readonly now: () => number = Date.now,
  ) {}

  async get(id: string): Promise<StoredConferenceDocument | undefined> {
    const known = this.peek(id);
    if (known !== undefined) return known ?? undefined;
    const doc = await this.storage.conferences.get(id);
    if (doc) this.cache.set(id, doc);
    // A write of this id while the read ran went through `cache`, which is consulted first.
    else if (!this.cache.has(id)) this.rememberAbsent(id);
    return doc;
  }

  /**
   * What `get` would answer, when that is known without reading the storage: the document, null
   * (no document), or undefined (unknown: call `get`). Lets a per-event consumer stay synchronous.
   */
  peek(id: string): StoredConferenceDocument | null | undefined {
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached;
    const until = this.absent.get(id);
    if (until === undefined) return undefined;
    if (performance.now() < until) return null;
    this.absent.delete(id);
    return undefined;
  }

  private rememberAbsent(id: string): void {
    this.absent.delete(id);
    this.absent.set(id, performance.now() + ABSENT_TTL_MS);
    if (this.absent.size > ABSENT_MAX) this.absent.delete(this.absent.keys().next().value!);
  }

  /** The document that has `number` among its dialled numbers (any account). */
  findByNumber(number: string): Promise<StoredConferenceDocument | undefined> {
    return this.storage.conferences.findByNumber(number);
  }

  listByAccount(accountId: string): Promise<StoredConferenceDocument[]> {
    return this.storage.conferences.listByAccount(accountId);
  }

  async create(id: string, accountId: string, body: Record<string, unknown>): Promise<StoredConferenceDocument> {
    const t = this.now();
    const doc: StoredConferenceDocument = { id, accountId, doc: body, revision: revisionOf(1, body), createdAt: t, updatedAt: t };
    try {
      await this.storage.conferences.insert(doc);
    } catch (err) {
      throw numbersInUse(err);
    }
    this.cache.set(id, doc);
    this.absent.delete(id);
    return doc;
  }

  async replace(current: StoredConferenceDocument, body: Record<string, unknown>, expectedRevision?: string): Promise<StoredConferenceDocument> {
    const revision = revisionOf(revisionNumber(current.revision) + 1, body);
    const t = this.now();
    try {
      await this.storage.conferences.update(current.id, body, revision, t, expectedRevision ?? current.revision);
    } catch (err) {
      this.cache.delete(current.id);
      throw numbersInUse(err);
    }
    const doc: StoredConferenceDocument = { ...current, doc: body, revision, updatedAt: t };
    this.cache.set(current.id, doc);
    return doc;
  }

  async remove(id: string): Promise<boolean> {
    const removed = await this.storage.conferences.delete(id);
    this.cache.delete(id);
    return removed;
  }
}
