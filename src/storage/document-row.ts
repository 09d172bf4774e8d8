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
