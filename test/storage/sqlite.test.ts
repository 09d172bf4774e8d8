import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStorage, migrate, openStorage } from '../../src/storage/index.js';
import type { Storage } from '../../src/storage/index.js';
import { sqliteMigrations } from '../../src/storage/migrations/sqlite.js';
import { storageContract } from '../helpers/storage-contract.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const paths = new WeakMap<Storage, string>();

storageContract('sqlite', {
  async fresh() {
    const d = mkdtempSync(join(tmpdir(), 'confmgr-storage-'));
    dirs.push(d);
    const path = join(d, 'confmgr.sqlite');
    const s = openSqliteStorage({ path });
    paths.set(s, path);
    return s;
  },
  async reopen(s) {
    await s.close();
    return openSqliteStorage({ path: paths.get(s)! });
  },
});

describe('sqlite specifics', () => {
  it('applies only pending migrations, each once', () => {
    const db = new Database(':memory:');
    try {
      expect(migrate(db)).toBe(1);
      expect(migrate(db)).toBe(1);
      const extra = [...sqliteMigrations, { version: 2, name: 'extra', sql: 'CREATE TABLE extra (x INTEGER)' }];
      expect(migrate(db, extra)).toBe(2);
      expect(migrate(db, extra)).toBe(2);
      const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
      expect(rows).toEqual([
        { version: 1, name: 'init' },
        { version: 2, name: 'extra' },
      ]);
    } finally {
      db.close();
    }
  });

  it('openStorage opens sqlite, and :memory: works', async () => {
    const s = await openStorage({ driver: 'sqlite', path: ':memory:' });
    expect(s.kind).toBe('sqlite');
    expect(await s.schemaVersion()).toBe(1);
    await s.close();
  });

  it('an unreachable PostgreSQL is a StorageError', async () => {
    await expect(openStorage({ driver: 'postgres', url: 'postgres://nobody@127.0.0.1:1/none' })).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
  });
});
