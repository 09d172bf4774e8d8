/** Errors of the records layer (documents, conferencecalls); the API maps their codes to HTTP statuses. */
import { ConfmgrError } from '../util/index.js';

/**
 * A body or parameter that does not validate. `fields` follows Kazoo's validation error shape:
 * `{ "<field.path>": { "<rule>": { "message": "...", "target"?: ... } } }`.
 */
export class ValidationError extends ConfmgrError {
  readonly fields: Record<string, Record<string, { message: string; target?: unknown; value?: unknown; cause?: unknown }>>;
  constructor(fields: Record<string, Record<string, { message: string; target?: unknown; value?: unknown; cause?: unknown }>>) {
    const first = Object.entries(fields)[0];
    const summary = first ? `${first[0]}: ${Object.values(first[1])[0]?.message ?? 'invalid'}` : 'invalid data';
    super('VALIDATION_FAILED', `invalid data: ${summary}`, { fields });
    this.fields = fields;
  }

  static field(field: string, rule: string, message: string, target?: unknown): ValidationError {
    const entry: { message: string; target?: unknown } = { message };
    if (target !== undefined) entry.target = target;
    return new ValidationError({ [field]: { [rule]: entry } });
  }
}

/** The resource is in a state that forbids the request (e.g. DELETE of a conferencecall that already left). */
export class InvalidStateError extends ConfmgrError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('INVALID_STATE', message, details);
  }
}
