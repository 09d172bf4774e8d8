/**
 * The Storage contract against a real PostgreSQL server started for this file (test/helpers/postgres.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openPostgresStorage, migratePostgres } from '../../src/storage/postgres.js';
import { postgresMigrations } from '../../src/storage/migrations/postgres.js';
import type { Storage } from '../../src/storage/index.js';
import { freshDatabase, startTempPostgres, type TempPostgres } from '../helpers/postgres.js';
import { storageContract } from '../helpers/storage-contract.js';

let server: TempPostgres;
beforeAll(async () => {
  server = await startTempPostgres();
}, 120_000);
afterAll(async () => {
  await server?.stop();
}, 60_000);

const urls = new WeakMap<Storage, string>();

storageContract('postgres', {
  async fresh() {
    const url = await freshDatabase(server.url);
    const s = await openPostgresStorage({ url });
    urls.set(s, url);
    return s;
  },
  async reopen(s) {
    await s.close();
    return openPostgresStorage({ url: urls.get(s)! });
  },
});

describe('postgres specifics', () => {
  it('applies only pending migrations, each once, also when two instances start together', async () => {
    const url = await freshDatabase(server.url);
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    try {
      const versions = await Promise.all([migratePostgres(pool), migratePostgres(pool), migratePostgres(pool)]);
      expect(versions).toEqual([2, 2, 2]);
      const extra = [...postgresMigrations, { version: 3, name: 'extra', sql: 'CREATE TABLE extra (x INTEGER)' }];
      expect(await migratePostgres(pool, extra)).toBe(3);
      expect(await migratePostgres(pool, extra)).toBe(3);
      const rows = (await pool.query('SELECT version, name FROM schema_migrations ORDER BY version')).rows;
      expect(rows).toEqual([
        { version: 1, name: 'init' },
        { version: 2, name: 'conference_numbers' },
        { version: 3, name: 'extra' },
      ]);
    } finally {
      await pool.end();
    }
  });

  it('two instances creating documents with the same number at once: exactly one keeps it', async () => {
    const url = await freshDatabase(server.url);
    const a = await openPostgresStorage({ url });
    const b = await openPostgresStorage({ url });
    try {
      for (let round = 0; round < 10; round++) {
        const n = `5${round}`;
        const results = await Promise.allSettled([
          a.conferences.insert({ id: `a${round}`, accountId: 'acc1', doc: { conference_numbers: [`x${round}`, n] }, revision: '1-a', createdAt: 1, updatedAt: 1 }),
          b.conferences.insert({ id: `b${round}`, accountId: 'acc2', doc: { moderator: { numbers: [n, `y${round}`] } }, revision: '1-a', createdAt: 1, updatedAt: 1 }),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        expect(failed.reason).toMatchObject({ code: 'NUMBERS_IN_USE', numbers: [n] });
        const owner = (await a.conferences.findByNumber(n))!.id;
        expect(await b.conferences.get(owner === `a${round}` ? `b${round}` : `a${round}`)).toBeUndefined();
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('the numbers migration indexes existing documents (the first by id keeps a shared number)', async () => {
    const url = await freshDatabase(server.url);
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    try {
      await migratePostgres(pool, postgresMigrations.filter((m) => m.version === 1));
      const put = (id: string, body: unknown) =>
        pool.query("INSERT INTO conference_documents (id, account_id, body, revision, created_at, updated_at) VALUES ($1, 'acc', $2, '1-a', 1, 1)", [id, JSON.stringify(body)]);
      await put('b', { conference_numbers: ['1', 2], member: { numbers: ['3'] }, moderator: 'odd' });
      await put('a', { moderator: { numbers: ['3', '4'] } });
      expect(await migratePostgres(pool)).toBe(2);
      const rows = (await pool.query('SELECT number, conference_id FROM conference_numbers ORDER BY number')).rows;
      expect(rows).toEqual([
        { number: '1', conference_id: 'b' },
        { number: '3', conference_id: 'a' },
        { number: '4', conference_id: 'a' },
      ]);
    } finally {
      await pool.end();
    }
  });
});
