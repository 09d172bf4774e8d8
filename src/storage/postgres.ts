/**
 * PostgreSQL back end (node-postgres pool). Same contract and schema as sqlite.ts; migrations run
 * under an advisory lock so two confmgr instances starting together do not race.
 */
import pg from 'pg';
import { postgresMigrations } from './migrations/postgres.js';
import type { Migration } from './migrations/sqlite.js';
import { DocumentConflictError, NumbersInUseError, StorageError } from './errors.js';
import type {
  ConferenceDocumentStore,
  ConferencecallQuery,
  ConferencecallStore,
  Storage,
  StoredConferencecall,
} from './types.js';
import { documentNumbers, toDocument, unchangedUpdateError, type DocRow } from './document-row.js';

/** Arbitrary constant: the advisory lock key of confmgr's migrations. */
const MIGRATION_LOCK = 0x636f6e66;

const CC_COLUMNS = 'id, customer_id, conference_id, reference_type, reference_id, status, tm_create, tm_update, tm_delete, member_id, node';

export async function migratePostgres(pool: pg.Pool, migrations: readonly Migration[] = postgresMigrations): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    const current = Number((await client.query<{ v: number }>('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations')).rows[0]?.v ?? 0);
    let version = current;
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (m.version <= current) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
      version = m.version;
    }
    await client.query('COMMIT');
    return version;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export interface PostgresStorageOptions {
  /** postgres://user:password@host:port/db — never logged. */
  url: string;
  /** Pool size (default 5). */
  max?: number;
  /**
   * A query without an answer this long fails, and its connection is dropped (default 10 s): a server
   * that keeps its sockets open but answers nothing must not hold the records' writes, and the API
   * requests behind them, forever.
   */
  queryTimeoutMs?: number;
  /** Opening a connection fails after this long (default 5 s), for the same reason. */
  connectTimeoutMs?: number;
}

export async function openPostgresStorage(options: PostgresStorageOptions): Promise<Storage> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 5,
    query_timeout: options.queryTimeoutMs ?? 10_000,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  try {
    await migratePostgres(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new StorageError(`Cannot open PostgreSQL storage: ${(err as Error).message}`, {}, { cause: err });
  }

  /** Runs `work` in one transaction on one pooled client; rolls back when it throws. */
  async function inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Gives `id` exactly the numbers of `doc`, in the caller's transaction. A number another
   * transaction claims at the same time makes this INSERT wait for it; once that one commits the
   * number is skipped here and found by the check below, so two instances never both keep it.
   */
  async function claimNumbers(client: pg.PoolClient, id: string, doc: Record<string, unknown>): Promise<void> {
    // Sorted, so two transactions claiming overlapping numbers take their locks in the same order.
    const numbers = documentNumbers(doc).sort();
    await client.query('DELETE FROM conference_numbers WHERE conference_id = $1 AND NOT (number = ANY($2::text[]))', [id, numbers]);
    if (numbers.length === 0) return;
    await client.query('INSERT INTO conference_numbers (number, conference_id) SELECT unnest($2::text[]), $1 ON CONFLICT (number) DO NOTHING', [id, numbers]);
    const taken = await client.query<{ number: string }>(
      'SELECT number FROM conference_numbers WHERE conference_id <> $1 AND number = ANY($2::text[]) ORDER BY number COLLATE "C"',
      [id, numbers],
    );
    if (taken.rows.length > 0) throw new NumbersInUseError(taken.rows.map((r) => r.number));
  }

  const conferences: ConferenceDocumentStore = {
    async get(id) {
      const r = await pool.query<DocRow>('SELECT * FROM conference_documents WHERE id = $1', [id]);
      return r.rows[0] ? toDocument(r.rows[0]) : undefined;
    },
    async listByAccount(accountId) {
      const r = await pool.query<DocRow>('SELECT * FROM conference_documents WHERE account_id = $1 ORDER BY created_at, id', [accountId]);
      return r.rows.map(toDocument);
    },
    async findByNumber(number) {
      const r = await pool.query<DocRow>(
        'SELECT d.* FROM conference_documents d JOIN conference_numbers n ON n.conference_id = d.id WHERE n.number = $1',
        [number],
      );
      return r.rows[0] ? toDocument(r.rows[0]) : undefined;
    },
    async insert(d) {
      try {
        await inTransaction(async (client) => {
          await client.query(
            'INSERT INTO conference_documents (id, account_id, body, revision, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)',
            [d.id, d.accountId, JSON.stringify(d.doc), d.revision, d.createdAt, d.updatedAt],
          );
          await claimNumbers(client, d.id, d.doc);
        });
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw new DocumentConflictError(d.id, 'exists');
        throw err;
      }
    },
    async update(id, doc, revision, updatedAt, expectedRevision) {
      const body = JSON.stringify(doc);
      await inTransaction(async (client) => {
        const r =
          expectedRevision === undefined
            ? await client.query('UPDATE conference_documents SET body = $1, revision = $2, updated_at = $3 WHERE id = $4', [body, revision, updatedAt, id])
            : await client.query('UPDATE conference_documents SET body = $1, revision = $2, updated_at = $3 WHERE id = $4 AND revision = $5', [
                body,
                revision,
                updatedAt,
                id,
                expectedRevision,
              ]);
        if (r.rowCount === 0) {
          const still = await client.query('SELECT 1 FROM conference_documents WHERE id = $1', [id]);
          throw unchangedUpdateError(id, (still.rowCount ?? 0) > 0);
        }
        await claimNumbers(client, id, doc);
      });
    },
    async delete(id) {
      const r = await pool.query('DELETE FROM conference_documents WHERE id = $1', [id]);
      return (r.rowCount ?? 0) > 0;
    },
  };

  const conferencecalls: ConferencecallStore = {
    async insert(c) {
      await pool.query(`INSERT INTO conferencecalls (${CC_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, [
        c.id,
        c.customer_id,
        c.conference_id,
        c.reference_type,
        c.reference_id,
        c.status,
        c.tm_create,
        c.tm_update,
        c.tm_delete,
        c.member_id,
        c.node,
      ]);
    },
    async update(c) {
      await pool.query('UPDATE conferencecalls SET status = $1, tm_update = $2, tm_delete = $3, member_id = $4, node = $5 WHERE id = $6', [
        c.status,
        c.tm_update,
        c.tm_delete,
        c.member_id,
        c.node,
        c.id,
      ]);
    },
    async get(id) {
      return (await pool.query<StoredConferencecall>(`SELECT ${CC_COLUMNS} FROM conferencecalls WHERE id = $1`, [id])).rows[0];
    },
    async findActive(conferenceId, callId) {
      const r = await pool.query<StoredConferencecall>(
        `SELECT ${CC_COLUMNS} FROM conferencecalls WHERE conference_id = $1 AND reference_id = $2 AND status <> 'leaved' ORDER BY tm_create DESC LIMIT 1`,
        [conferenceId, callId],
      );
      return r.rows[0];
    },
    async listActive() {
      return (await pool.query<StoredConferencecall>(`SELECT ${CC_COLUMNS} FROM conferencecalls WHERE status <> 'leaved' ORDER BY tm_create`)).rows;
    },
    async listActivePage(afterId, limit) {
      // Byte order for both the comparison and the sort, whatever the database's collation: keyset paging.
      const sql = `SELECT ${CC_COLUMNS} FROM conferencecalls WHERE status <> 'leaved' AND id COLLATE "C" > $1 ORDER BY id COLLATE "C" LIMIT $2`;
      return (await pool.query<StoredConferencecall>(sql, [afterId ?? '', limit])).rows;
    },
    async list(query: ConferencecallQuery) {
      // Built from fixed fragments only; every value is a bound parameter.
      const params: unknown[] = [query.customerId];
      const where = ['customer_id = $1'];
      const add = (sql: string, value: unknown) => {
        params.push(value);
        where.push(sql.replace('?', `$${params.length}`));
      };
      if (query.conferenceId !== undefined) add('conference_id = ?', query.conferenceId);
      if (query.status !== undefined) add('status = ?', query.status);
      if (query.pageToken !== undefined) add('tm_create < ?', query.pageToken);
      params.push(query.pageSize);
      // COLLATE "C": byte order, like SQLite, so the page token compares the same on both.
      const sql = `SELECT ${CC_COLUMNS} FROM conferencecalls WHERE ${where.join(' AND ')} ORDER BY tm_create COLLATE "C" DESC, id COLLATE "C" DESC LIMIT $${params.length}`;
      return (await pool.query<StoredConferencecall>(sql, params)).rows;
    },
  };

  let closed = false;
  return {
    kind: 'postgres',
    conferences,
    conferencecalls,
    async schemaVersion() {
      return Number((await pool.query<{ v: number }>('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations')).rows[0]?.v ?? 0);
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
