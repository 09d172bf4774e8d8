import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStorage, migrate, openStorage, DocumentConflictError } from '../src/storage/index.js';
import type { Storage, StoredConferencecall } from '../src/storage/index.js';
import { sqliteMigrations } from '../src/storage/migrations/sqlite.js';

const dirs: string[] = [];
const opened: Storage[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempPath(): string {
  const d = mkdtempSync(join(tmpdir(), 'confmgr-storage-'));
  dirs.push(d);
  return join(d, 'confmgr.sqlite');
}

function open(path: string): Storage {
  const s = openSqliteStorage({ path });
  opened.push(s);
  return s;
}

function call(over: Partial<StoredConferencecall>): StoredConferencecall {
  return {
    id: 'id',
    customer_id: 'acc',
    conference_id: 'conf',
    reference_type: 'call',
    reference_id: 'call',
    status: 'joined',
    tm_create: '2026-01-01 00:00:00.000001',
    tm_update: '2026-01-01 00:00:00.000001',
    tm_delete: '9999-01-01 00:00:00.000000',
    member_id: 1,
    node: 'fs1',
    ...over,
  };
}

describe('sqlite storage', () => {
  it('keeps documents and conferencecalls across close and reopen', async () => {
    const path = tempPath();
    const a = open(path);
    await a.conferences.insert({ id: 'c1', accountId: 'acc', doc: { name: 'Conf', member: { join_muted: false } }, revision: '1-x', createdAt: 1, updatedAt: 1 });
    await a.conferences.update('c1', { name: 'Conf 2' }, '2-y', 5, '1-x');
    await a.conferencecalls.insert(call({ id: 'cc1' }));
    await a.conferencecalls.update({ ...call({ id: 'cc1' }), status: 'leaved', tm_update: '2026-01-01 00:00:01.000000', member_id: null });
    await a.close();

    const b = open(path);
    expect(await b.schemaVersion()).toBe(sqliteMigrations[sqliteMigrations.length - 1]!.version);
    expect(await b.conferences.get('c1')).toEqual({ id: 'c1', accountId: 'acc', doc: { name: 'Conf 2' }, revision: '2-y', createdAt: 1, updatedAt: 5 });
    const cc = await b.conferencecalls.get('cc1');
    expect(cc?.status).toBe('leaved');
    expect(cc?.tm_update).toBe('2026-01-01 00:00:01.000000');
    expect(cc?.member_id).toBeNull();
  });

  it('refuses duplicate ids and stale revisions', async () => {
    const s = open(':memory:');
    const doc = { id: 'c1', accountId: 'acc', doc: {}, revision: '1-a', createdAt: 1, updatedAt: 1 };
    await s.conferences.insert(doc);
    await expect(s.conferences.insert(doc)).rejects.toBeInstanceOf(DocumentConflictError);
    await expect(s.conferences.update('c1', {}, '2-b', 2, '9-stale')).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await s.conferences.delete('c1')).toBe(true);
    expect(await s.conferences.delete('c1')).toBe(false);
    expect(await s.conferences.get('c1')).toBeUndefined();
  });

  it('lists documents per account', async () => {
    const s = open(':memory:');
    await s.conferences.insert({ id: 'a1', accountId: 'A', doc: {}, revision: '1', createdAt: 2, updatedAt: 2 });
    await s.conferences.insert({ id: 'b1', accountId: 'B', doc: {}, revision: '1', createdAt: 1, updatedAt: 1 });
    await s.conferences.insert({ id: 'a0', accountId: 'A', doc: {}, revision: '1', createdAt: 1, updatedAt: 1 });
    expect((await s.conferences.listByAccount('A')).map((d) => d.id)).toEqual(['a0', 'a1']);
  });

  it('pages conferencecalls newest first with filters and finds the active record', async () => {
    const s = open(':memory:');
    for (let i = 1; i <= 7; i++) {
      await s.conferencecalls.insert(
        call({ id: `cc${i}`, conference_id: i % 2 ? 'odd' : 'even', reference_id: `call${i}`, status: i <= 2 ? 'leaved' : 'joined', tm_create: `2026-01-01 00:00:0${i}.000000` }),
      );
    }
    await s.conferencecalls.insert(call({ id: 'other', customer_id: 'someone-else', tm_create: '2026-01-01 00:00:09.000000' }));
    const p1 = await s.conferencecalls.list({ customerId: 'acc', pageSize: 3 });
    expect(p1.map((r) => r.id)).toEqual(['cc7', 'cc6', 'cc5']);
    const p2 = await s.conferencecalls.list({ customerId: 'acc', pageSize: 3, pageToken: p1[2]!.tm_create });
    expect(p2.map((r) => r.id)).toEqual(['cc4', 'cc3', 'cc2']);
    expect((await s.conferencecalls.list({ customerId: 'acc', pageSize: 10, conferenceId: 'odd' })).map((r) => r.id)).toEqual(['cc7', 'cc5', 'cc3', 'cc1']);
    expect((await s.conferencecalls.list({ customerId: 'acc', pageSize: 10, status: 'leaved' })).map((r) => r.id)).toEqual(['cc2', 'cc1']);
    expect((await s.conferencecalls.findActive('odd', 'call3'))?.id).toBe('cc3');
    expect(await s.conferencecalls.findActive('odd', 'call1')).toBeUndefined();
    expect((await s.conferencecalls.listActive()).length).toBe(6);
  });

  it('treats filter values as data, not SQL', async () => {
    const s = open(':memory:');
    await s.conferencecalls.insert(call({ id: 'x' }));
    const rows = await s.conferencecalls.list({ customerId: "acc' OR '1'='1", pageSize: 10, conferenceId: "conf'; DROP TABLE conferencecalls; --" });
    expect(rows).toEqual([]);
    expect(await s.conferencecalls.get('x')).toBeDefined();
  });

  it('applies only pending migrations, each once', () => {
    const db = new Database(':memory:');
    try {
      expect(migrate(db)).toBe(1);
      expect(migrate(db)).toBe(1);
      const extra = [...sqliteMigrations, { version: 2, name: 'extra', sql: 'CREATE TABLE extra (x INTEGER)' }];
      expect(migrate(db, extra)).toBe(2);
      expect(migrate(db, extra)).toBe(2);
      const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
      expect(rows).toEqual([{ version: 1, name: 'init' }, { version: 2, name: 'extra' }]);
    } finally {
      db.close();
    }
  });

  it('refuses postgres clearly (no driver in this build)', async () => {
    await expect(openStorage({ driver: 'postgres', url: 'postgres://x' })).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
  });
});
