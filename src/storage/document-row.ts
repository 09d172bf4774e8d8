/**
 * The `conference_documents` row both back ends read and write, and what an update that changed no
 * row means. Shared by sqlite.ts and postgres.ts so the two map documents the same way.
 */
import { DocumentConflictError, StorageError } from './errors.js';
import type { StoredConferenceDocument } from './types.js';

export interface DocRow {
  id: string;
  account_id: string;
  body: string;
  revision: string;
  /** SQLite returns a number; node-postgres returns BIGINT as a string. */
  created_at: string | number;
  updated_at: string | number;
}

export function toDocument(row: DocRow): StoredConferenceDocument {
  return {
    id: row.id,
    accountId: row.account_id,
    doc: JSON.parse(row.body) as Record<string, unknown>,
    revision: row.revision,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/**
 * The error of an update that changed no row: a stale `expectedRevision` when the document still
 * exists, otherwise it was deleted meanwhile.
 */
export function unchangedUpdateError(id: string, stillExists: boolean): Error {
  if (stillExists) return new DocumentConflictError(id, 'revision');
  return new StorageError(`Document ${id} vanished during update`, { id });
}

function stringsAt(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function roleNumbers(body: Record<string, unknown>, role: 'member' | 'moderator'): string[] {
  const r = body[role];
  return typeof r === 'object' && r !== null && !Array.isArray(r) ? stringsAt((r as Record<string, unknown>).numbers) : [];
}

/**
 * Every dialled number of a document body (Kazoo's `conference_numbers`, `member.numbers`,
 * `moderator.numbers`), each once: the `conference_numbers` table holds these.
 */
export function documentNumbers(body: Record<string, unknown>): string[] {
  return [...new Set([...stringsAt(body.conference_numbers), ...roleNumbers(body, 'member'), ...roleNumbers(body, 'moderator')])];
}
