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

/** Dialled numbers of a document that another document already has (numbers are unique across accounts). */
export class NumbersInUseError extends ConfmgrError {
  constructor(readonly numbers: readonly string[]) {
    super('NUMBERS_IN_USE', `Numbers already in use: ${numbers.join(', ')}`, { numbers });
  }
}
