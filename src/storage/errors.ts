import { ConfmgrError } from '../util/index.js';

/** A document with that id exists already, or the caller's revision is stale. */
export class DocumentConflictError extends ConfmgrError {
  constructor(id: string, reason: 'exists' | 'revision') {
    super('CONFLICT', reason === 'exists' ? `Document ${id} already exists` : `Document ${id} was changed by someone else (revision mismatch)`, { id, reason });
  }
}

export class StorageError extends ConfmgrError {
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('STORAGE_ERROR', message, details, options);
  }
}
