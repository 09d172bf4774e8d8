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
      expect(versions).toEqual([1, 1, 1]);
      const extra = [...postgresMigrations, { version: 2, name: 'extra', sql: 'CREATE TABLE extra (x INTEGER)' }];
      expect(await migratePostgres(pool, extra)).toBe(2);
      expect(await migratePostgres(pool, extra)).toBe(2);
      const rows = (await pool.query('SELECT version, name FROM schema_migrations ORDER BY version')).rows;
      expect(rows).toEqual([
        { version: 1, name: 'init' },
        { version: 2, name: 'extra' },
      ]);
    } finally {
      await pool.end();
    }
  });
});
