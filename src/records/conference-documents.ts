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

  constructor(
    private readonly storage: Storage,
    private readonly now: () => number = Date.now,
  ) {}

  async get(id: string): Promise<StoredConferenceDocument | undefined> {
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached;
    const doc = await this.storage.conferences.get(id);
    if (doc) this.cache.set(id, doc);
    return doc;
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
