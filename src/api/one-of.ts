/** The check every enumerated request field shares (action, target, status…). */
import { ValidationError } from './errors.js';

/** `value` when it is one of `allowed`; otherwise the 400 of Kazoo's `enum` rule naming `field`. */
export function requireOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw ValidationError.field(field, 'enum', `Value is not one of: ${allowed.join(', ')}`, allowed);
  }
  return value as T;
}
