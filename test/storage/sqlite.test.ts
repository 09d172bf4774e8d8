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
      expect(migrate(db)).toBe(2);
      expect(migrate(db)).toBe(2);
      const extra = [...sqliteMigrations, { version: 3, name: 'extra', sql: 'CREATE TABLE extra (x INTEGER)' }];
      expect(migrate(db, extra)).toBe(3);
      expect(migrate(db, extra)).toBe(3);
      const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
      expect(rows).toEqual([
        { version: 1, name: 'init' },
        { version: 2, name: 'conference_numbers' },
        { version: 3, name: 'extra' },
      ]);
    } finally {
      db.close();
    }
  });

  it('the numbers migration indexes existing documents (the first by id keeps a shared number)', () => {
    const db = new Database(':memory:');
    try {
      migrate(db, sqliteMigrations.filter((m) => m.version === 1));
      const put = db.prepare("INSERT INTO conference_documents (id, account_id, body, revision, created_at, updated_at) VALUES (?, 'acc', ?, '1-a', 1, 1)");
      put.run('b', JSON.stringify({ conference_numbers: ['1', 2], member: { numbers: ['3'] }, moderator: 'odd' }));
      put.run('a', JSON.stringify({ moderator: { numbers: ['3', '4'] } }));
      expect(migrate(db)).toBe(2);
      expect(db.prepare('SELECT number, conference_id FROM conference_numbers ORDER BY number').all()).toEqual([
        { number: '1', conference_id: 'b' },
        { number: '3', conference_id: 'a' },
        { number: '4', conference_id: 'a' },
      ]);
    } finally {
      db.close();
    }
  });

  it('openStorage opens sqlite, and :memory: works', async () => {
    const s = await openStorage({ driver: 'sqlite', path: ':memory:' });
    expect(s.kind).toBe('sqlite');
    expect(await s.schemaVersion()).toBe(2);
    await s.close();
  });

  it('an unreachable PostgreSQL is a StorageError', async () => {
    await expect(openStorage({ driver: 'postgres', url: 'postgres://nobody@127.0.0.1:1/none' })).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
  });
});
