/**
 * SQLite back end (better-sqlite3, synchronous under an async facade). WAL mode on a file, so a
 * crash loses nothing that was acknowledged; `:memory:` for tests.
 */
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { sqliteMigrations, type Migration } from './migrations/sqlite.js';
import { DocumentConflictError, NumbersInUseError, StorageError } from './errors.js';
import type {
  ConferenceDocumentStore,
  ConferencecallQuery,
  ConferencecallStore,
  Storage,
  StoredConferencecall,
} from './types.js';
import { documentNumbers, toDocument, unchangedUpdateError, type DocRow } from './document-row.js';

/** Applies every migration newer than the recorded version; returns the resulting version. */
export function migrate(db: Db, migrations: readonly Migration[] = sqliteMigrations): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const current = (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  const pending = [...migrations].sort((a, b) => a.version - b.version).filter((m) => m.version > current);
  for (const m of pending) {
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
    })();
  }
  return pending.length > 0 ? pending[pending.length - 1]!.version : current;
}

export interface SqliteStorageOptions {
  /** File path, or `:memory:`. */
  path: string;
}

export function openSqliteStorage(options: SqliteStorageOptions): Storage {
  let db: Db;
  try {
    db = new Database(options.path);
  } catch (err) {
    throw new StorageError(`Cannot open SQLite database ${options.path}: ${(err as Error).message}`, { path: options.path }, { cause: err });
  }
  if (options.path !== ':memory:') db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  migrate(db);

  const q = {
    docGet: db.prepare<[string], DocRow>('SELECT * FROM conference_documents WHERE id = ?'),
    docList: db.prepare<[string], DocRow>('SELECT * FROM conference_documents WHERE account_id = ? ORDER BY created_at, id'),
    docInsert: db.prepare(
      'INSERT INTO conference_documents (id, account_id, body, revision, created_at, updated_at) VALUES (@id, @account_id, @body, @revision, @created_at, @updated_at)',
    ),
    docUpdate: db.prepare('UPDATE conference_documents SET body = ?, revision = ?, updated_at = ? WHERE id = ?'),
    docUpdateIf: db.prepare('UPDATE conference_documents SET body = ?, revision = ?, updated_at = ? WHERE id = ? AND revision = ?'),
    docDelete: db.prepare('DELETE FROM conference_documents WHERE id = ?'),
    docByNumber: db.prepare<[string], DocRow>(
      'SELECT d.* FROM conference_documents d JOIN conference_numbers n ON n.conference_id = d.id WHERE n.number = ?',
    ),
    // The numbers travel as one JSON array so each statement stays fixed whatever their count.
    numDropOthers: db.prepare('DELETE FROM conference_numbers WHERE conference_id = ? AND number NOT IN (SELECT value FROM json_each(?))'),
    numClaim: db.prepare('INSERT OR IGNORE INTO conference_numbers (number, conference_id) SELECT value, ? FROM json_each(?)'),
    numTaken: db.prepare<[string, string], { number: string }>(
      'SELECT number FROM conference_numbers WHERE conference_id <> ? AND number IN (SELECT value FROM json_each(?)) ORDER BY number',
    ),
    ccInsert: db.prepare(
      `INSERT INTO conferencecalls (id, customer_id, conference_id, reference_type, reference_id, status, tm_create, tm_update, tm_delete, member_id, node)
       VALUES (@id, @customer_id, @conference_id, @reference_type, @reference_id, @status, @tm_create, @tm_update, @tm_delete, @member_id, @node)`,
    ),
    ccUpdate: db.prepare(
      'UPDATE conferencecalls SET status = @status, tm_update = @tm_update, tm_delete = @tm_delete, member_id = @member_id, node = @node WHERE id = @id',
    ),
    ccGet: db.prepare<[string], StoredConferencecall>('SELECT * FROM conferencecalls WHERE id = ?'),
    ccActive: db.prepare<[string, string], StoredConferencecall>(
      "SELECT * FROM conferencecalls WHERE conference_id = ? AND reference_id = ? AND status <> 'leaved' ORDER BY tm_create DESC LIMIT 1",
    ),
    ccAllActive: db.prepare<[], StoredConferencecall>("SELECT * FROM conferencecalls WHERE status <> 'leaved' ORDER BY tm_create"),
    ccActivePage: db.prepare<[string, number], StoredConferencecall>(
      "SELECT * FROM conferencecalls WHERE status <> 'leaved' AND id > ? ORDER BY id LIMIT ?",
    ),
  };

  /** Gives `id` exactly the numbers of `doc`; throws NumbersInUseError (inside the caller's transaction) when one is taken. */
  function claimNumbers(id: string, doc: Record<string, unknown>): void {
    const numbers = JSON.stringify(documentNumbers(doc));
    q.numDropOthers.run(id, numbers);
    q.numClaim.run(id, numbers);
    const taken = q.numTaken.all(id, numbers);
    if (taken.length > 0) throw new NumbersInUseError(taken.map((r) => r.number));
  }

  const insertDocument = db.transaction((row: Record<string, unknown>, doc: Record<string, unknown>) => {
    q.docInsert.run(row);
    claimNumbers(row.id as string, doc);
  });

  const updateDocument = db.transaction(
    (id: string, doc: Record<string, unknown>, revision: string, updatedAt: number, expectedRevision: string | undefined) => {
      const body = JSON.stringify(doc);
      const info =
        expectedRevision === undefined
          ? q.docUpdate.run(body, revision, updatedAt, id)
          : q.docUpdateIf.run(body, revision, updatedAt, id, expectedRevision);
      if (info.changes === 0) throw unchangedUpdateError(id, q.docGet.get(id) !== undefined);
      claimNumbers(id, doc);
    },
  );

  const conferences: ConferenceDocumentStore = {
    async get(id) {
      const row = q.docGet.get(id);
      return row ? toDocument(row) : undefined;
    },
    async listByAccount(accountId) {
      return q.docList.all(accountId).map(toDocument);
    },
    async findByNumber(number) {
      const row = q.docByNumber.get(number);
      return row ? toDocument(row) : undefined;
    },
    async insert(d) {
      try {
        insertDocument(
          { id: d.id, account_id: d.accountId, body: JSON.stringify(d.doc), revision: d.revision, created_at: d.createdAt, updated_at: d.updatedAt },
          d.doc,
        );
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new DocumentConflictError(d.id, 'exists');
        throw err;
      }
    },
    async update(id, doc, revision, updatedAt, expectedRevision) {
      updateDocument(id, doc, revision, updatedAt, expectedRevision);
    },
    async delete(id) {
      return q.docDelete.run(id).changes > 0;
    },
  };

  const conferencecalls: ConferencecallStore = {
    async insert(r) {
      q.ccInsert.run(r);
    },
    async update(r) {
      q.ccUpdate.run(r);
    },
    async get(id) {
      return q.ccGet.get(id);
    },
    async findActive(conferenceId, callId) {
      return q.ccActive.get(conferenceId, callId);
    },
    async listActive() {
      return q.ccAllActive.all();
    },
    async listActivePage(afterId, limit) {
      return q.ccActivePage.all(afterId ?? '', limit);
    },
    async list(query: ConferencecallQuery) {
      // Built from fixed fragments only; every value is a bound parameter.
      const where = ['customer_id = @customer_id'];
      const params: Record<string, unknown> = { customer_id: query.customerId, limit: query.pageSize };
      if (query.conferenceId !== undefined) {
        where.push('conference_id = @conference_id');
        params.conference_id = query.conferenceId;
      }
      if (query.status !== undefined) {
        where.push('status = @status');
        params.status = query.status;
      }
      if (query.pageToken !== undefined) {
        where.push('tm_create < @page_token');
        params.page_token = query.pageToken;
      }
      const sql = `SELECT * FROM conferencecalls WHERE ${where.join(' AND ')} ORDER BY tm_create DESC, id DESC LIMIT @limit`;
      return db.prepare<[Record<string, unknown>], StoredConferencecall>(sql).all(params);
    },
  };

  let closed = false;
  return {
    kind: 'sqlite',
    conferences,
    conferencecalls,
    async schemaVersion() {
      return (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
