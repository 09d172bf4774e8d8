/**
 * The Storage contract, run against every back end (test/storage/sqlite.test.ts,
 * test/storage/postgres.test.ts). `fresh()` opens an empty store; `reopen(s)` closes it and opens
 * the same database again (restart).
 */
import { describe, expect, it } from 'vitest';
import type { Storage, StoredConferencecall } from '../../src/storage/index.js';
import { DocumentConflictError, NumbersInUseError } from '../../src/storage/index.js';

export interface StorageBackend {
  fresh(): Promise<Storage>;
  reopen(s: Storage): Promise<Storage>;
}

export function call(over: Partial<StoredConferencecall>): StoredConferencecall {
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

export function storageContract(name: string, backend: StorageBackend): void {
  describe(`${name} storage contract`, () => {
    it('keeps documents and conferencecalls across close and reopen', async () => {
      const a = await backend.fresh();
      await a.conferences.insert({ id: 'c1', accountId: 'acc', doc: { name: 'Conf', member: { join_muted: false }, z: 1, a: 2 }, revision: '1-x', createdAt: 1, updatedAt: 1 });
      await a.conferences.update('c1', { name: 'Conf 2', z: 1, a: 2 }, '2-y', 5, '1-x');
      await a.conferencecalls.insert(call({ id: 'cc1' }));
      await a.conferencecalls.update({ ...call({ id: 'cc1' }), status: 'leaved', tm_update: '2026-01-01 00:00:01.000000', member_id: null });
      const b = await backend.reopen(a);
      try {
        expect(await b.schemaVersion()).toBe(2);
        const doc = await b.conferences.get('c1');
        expect(doc).toEqual({ id: 'c1', accountId: 'acc', doc: { name: 'Conf 2', z: 1, a: 2 }, revision: '2-y', createdAt: 1, updatedAt: 5 });
        // Key order is kept (clients get back what they stored).
        expect(Object.keys(doc!.doc)).toEqual(['name', 'z', 'a']);
        const cc = await b.conferencecalls.get('cc1');
        expect(cc).toEqual({ ...call({ id: 'cc1' }), status: 'leaved', tm_update: '2026-01-01 00:00:01.000000', member_id: null });
      } finally {
        await b.close();
      }
    });

    it('keeps every number in one document across accounts, frees it on change and delete', async () => {
      const s = await backend.fresh();
      try {
        const doc = (id: string, accountId: string, body: Record<string, unknown>) => ({ id, accountId, doc: body, revision: '1-a', createdAt: 1, updatedAt: 1 });
        await s.conferences.insert(doc('c1', 'acc1', { conference_numbers: ['100'], member: { numbers: ['101'] }, moderator: { numbers: ['102', '100'] } }));
        expect((await s.conferences.findByNumber('102'))?.id).toBe('c1');
        expect((await s.conferences.findByNumber('101'))?.id).toBe('c1');
        expect(await s.conferences.findByNumber('103')).toBeUndefined();
        // Another account's document reusing two of them: refused, nothing stored.
        const refused = s.conferences.insert(doc('c2', 'acc2', { conference_numbers: ['200', '102'], member: { numbers: ['100'] } }));
        await expect(refused).rejects.toBeInstanceOf(NumbersInUseError);
        await expect(refused).rejects.toMatchObject({ numbers: ['100', '102'] });
        expect(await s.conferences.get('c2')).toBeUndefined();
        expect(await s.conferences.findByNumber('200')).toBeUndefined();
        // An update may keep its own numbers, drop some, and not take another's.
        await s.conferences.insert(doc('c2', 'acc2', { conference_numbers: ['200'] }));
        await s.conferences.update('c1', { conference_numbers: ['100', '110'] }, '2-b', 2, '1-a');
        expect((await s.conferences.findByNumber('110'))?.id).toBe('c1');
        expect(await s.conferences.findByNumber('102')).toBeUndefined();
        await expect(s.conferences.update('c2', { conference_numbers: ['200', '110'] }, '2-b', 2, '1-a')).rejects.toMatchObject({
          code: 'NUMBERS_IN_USE',
          numbers: ['110'],
        });
        expect((await s.conferences.get('c2'))?.doc).toEqual({ conference_numbers: ['200'] });
        expect((await s.conferences.findByNumber('200'))?.id).toBe('c2');
        await s.conferences.update('c2', { conference_numbers: ['200', '102'] }, '2-b', 2, '1-a');
        expect((await s.conferences.findByNumber('102'))?.id).toBe('c2');
        // Deleting a document frees its numbers.
        await s.conferences.delete('c1');
        expect(await s.conferences.findByNumber('100')).toBeUndefined();
        await s.conferences.insert(doc('c3', 'acc3', { conference_numbers: ['100', '110'] }));
        expect((await s.conferences.findByNumber('110'))?.id).toBe('c3');
      } finally {
        await s.close();
      }
    });

    it('refuses duplicate ids and stale revisions', async () => {
      const s = await backend.fresh();
      try {
        const doc = { id: 'c1', accountId: 'acc', doc: {}, revision: '1-a', createdAt: 1, updatedAt: 1 };
        await s.conferences.insert(doc);
        await expect(s.conferences.insert(doc)).rejects.toBeInstanceOf(DocumentConflictError);
        await expect(s.conferences.update('c1', {}, '2-b', 2, '9-stale')).rejects.toMatchObject({ code: 'CONFLICT' });
        expect(await s.conferences.delete('c1')).toBe(true);
        expect(await s.conferences.delete('c1')).toBe(false);
        expect(await s.conferences.get('c1')).toBeUndefined();
      } finally {
        await s.close();
      }
    });

    it('lists documents per account', async () => {
      const s = await backend.fresh();
      try {
        await s.conferences.insert({ id: 'a1', accountId: 'A', doc: {}, revision: '1', createdAt: 2, updatedAt: 2 });
        await s.conferences.insert({ id: 'b1', accountId: 'B', doc: {}, revision: '1', createdAt: 1, updatedAt: 1 });
        await s.conferences.insert({ id: 'a0', accountId: 'A', doc: {}, revision: '1', createdAt: 1, updatedAt: 1 });
        expect((await s.conferences.listByAccount('A')).map((d) => d.id)).toEqual(['a0', 'a1']);
      } finally {
        await s.close();
      }
    });

    it('pages conferencecalls newest first with filters and finds the active record', async () => {
      const s = await backend.fresh();
      try {
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
      } finally {
        await s.close();
      }
    });

    it('walks the active conferencecalls a page at a time, in id order, each once', async () => {
      const s = await backend.fresh();
      try {
        // Ids whose byte order differs from a case-insensitive one: the pages must not skip or repeat.
        const ids = ['b', 'B', 'a', 'A', 'a1', 'Z', 'z', '_', '0', 'c9', 'C10'];
        for (const [i, id] of ids.entries()) {
          await s.conferencecalls.insert(call({ id, reference_id: `call-${i}`, status: id === 'z' ? 'leaved' : 'joined', tm_create: `2026-01-01 00:00:${String(10 + i)}.000000` }));
        }
        const seen: string[] = [];
        let pages = 0;
        for (let after: string | undefined; ; pages++) {
          const page = await s.conferencecalls.listActivePage(after, 3);
          seen.push(...page.map((r) => r.id));
          if (page.length < 3) break;
          after = page.at(-1)!.id;
        }
        const active = ids.filter((id) => id !== 'z');
        expect(seen).toEqual([...active].sort((x, y) => (Buffer.from(x) < Buffer.from(y) ? -1 : 1)));
        expect(pages).toBe(3);
        expect(await s.conferencecalls.listActivePage('zz', 3)).toEqual([]);
      } finally {
        await s.close();
      }
    });

    it('treats filter values as data, not SQL', async () => {
      const s = await backend.fresh();
      try {
        await s.conferencecalls.insert(call({ id: 'x' }));
        const rows = await s.conferencecalls.list({ customerId: "acc' OR '1'='1", pageSize: 10, conferenceId: "conf'; DROP TABLE conferencecalls; --" });
        expect(rows).toEqual([]);
        expect(await s.conferencecalls.get('x')).toBeDefined();
      } finally {
        await s.close();
      }
    });
  });
}
