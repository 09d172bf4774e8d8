/**
 * What confmgr keeps across restarts: conference documents (Kazoo's conferences API) and the
 * conferencecall history (VoIPbin's conferencecall records). The API layer talks only to this
 * interface; `sqlite.ts` implements it. Methods are async so a networked back end (PostgreSQL)
 * can implement the same contract.
 */
import type { Conferencecall, ConferencecallStatus } from '../conference/index.js';

/** One stored conference document. `id` is the FreeSWITCH conference name. */
export interface StoredConferenceDocument {
  id: string;
  accountId: string;
  /** The document body as the client sees it (no `id`, no `_read_only`). */
  doc: Record<string, unknown>;
  /** Kazoo-style revision `<n>-<hash>`; changes on every write. */
  revision: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
}

export type { ConferencecallStatus };

/** A conferencecall as stored: VoIPbin's record plus what confmgr needs to act on it. */
export interface StoredConferencecall extends Conferencecall {
  /** FreeSWITCH member id while the call is in the conference (not part of VoIPbin's record). */
  member_id: number | null;
  /** The confmgr node name hosting the member (not part of VoIPbin's record). */
  node: string | null;
}

export interface ConferencecallQuery {
  customerId: string;
  conferenceId?: string;
  status?: ConferencecallStatus;
  /** 1..100. */
  pageSize: number;
  /** Only records created strictly before this `tm_create` (the previous page's last one). */
  pageToken?: string;
}

export interface ConferenceDocumentStore {
  get(id: string): Promise<StoredConferenceDocument | undefined>;
  listByAccount(accountId: string): Promise<StoredConferenceDocument[]>;
  /**
   * The document one of whose numbers (`conference_numbers`, `member.numbers`, `moderator.numbers`)
   * is `number`, whatever its account.
   */
  findByNumber(number: string): Promise<StoredConferenceDocument | undefined>;
  /**
   * Rejects with DocumentConflictError when `id` exists, with NumbersInUseError when another
   * document has one of its numbers (checked and claimed in the same transaction).
   */
  insert(doc: StoredConferenceDocument): Promise<void>;
  /**
   * Replaces body and revision; rejects with DocumentConflictError when `expectedRevision` is stale,
   * with NumbersInUseError as `insert` does.
   */
  update(id: string, doc: Record<string, unknown>, revision: string, updatedAt: number, expectedRevision?: string): Promise<void>;
  /** True when something was deleted. */
  delete(id: string): Promise<boolean>;
}

export interface ConferencecallStore {
  insert(record: StoredConferencecall): Promise<void>;
  /** Overwrites the mutable fields (status, timestamps, member_id, node) of an existing record. */
  update(record: StoredConferencecall): Promise<void>;
  get(id: string): Promise<StoredConferencecall | undefined>;
  /** The record of `callId` in `conferenceId` that has not left yet (status joining/joined/leaving). */
  findActive(conferenceId: string, callId: string): Promise<StoredConferencecall | undefined>;
  /** Every record not yet leaved (for reconciliation after a restart). */
  listActive(): Promise<StoredConferencecall[]>;
  /**
   * Up to `limit` records not yet leaved, in id order, those after `afterId` only: reconciliation walks
   * every active record a page at a time instead of holding 10,000 rows at once.
   */
  listActivePage(afterId: string | undefined, limit: number): Promise<StoredConferencecall[]>;
  /** Newest first (tm_create descending). */
  list(query: ConferencecallQuery): Promise<StoredConferencecall[]>;
}

export interface Storage {
  readonly kind: 'sqlite' | 'postgres';
  readonly conferences: ConferenceDocumentStore;
  readonly conferencecalls: ConferencecallStore;
  /** The highest applied migration version. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}
