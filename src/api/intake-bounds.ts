/**
 * Bounds on a conference document beyond the request body's size (http.limits.body_bytes): how long a
 * list may be and its items, how deep the JSON may nest, and how large the stored document may grow.
 * The stored size matters on its own: a PATCH merges into the stored document, so without it repeated
 * PATCHes under the body limit would grow a document (and every GET and list of it) without end.
 * Errors use Kazoo's validation shape (`{"<field.path>": {"<rule>": {message, target}}}`).
 */
import { ValidationError } from './errors.js';

export const DOCUMENT_BOUNDS = {
  /** The stored document, as JSON. */
  maxBytes: 64 * 1024,
  /** Any list (conference_numbers, member/moderator numbers and pins, client keys' lists). */
  maxListItems: 1_000,
  /** Items of the conference document's string lists (numbers, pins). */
  maxItemChars: 128,
  maxDepth: 16,
} as const;

const STRING_LISTS = ['conference_numbers', 'member.numbers', 'member.pins', 'moderator.numbers', 'moderator.pins'];

type FieldErrors = ConstructorParameters<typeof ValidationError>[0];

/** Throws ValidationError naming every field over a bound; `doc` is what would be stored. */
export function checkDocumentBounds(doc: Record<string, unknown>): void {
  const errors: FieldErrors = {};
  const add = (field: string, rule: string, message: string, target: number) => ((errors[field] ??= {})[rule] = { message, target });
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: doc, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > DOCUMENT_BOUNDS.maxDepth) {
      add(path, 'maxDepth', `Must not nest more than ${DOCUMENT_BOUNDS.maxDepth} levels deep`, DOCUMENT_BOUNDS.maxDepth);
      continue;
    }
    if (Array.isArray(value)) {
      if (value.length > DOCUMENT_BOUNDS.maxListItems) {
        add(path, 'maxItems', `The list must not have more than ${DOCUMENT_BOUNDS.maxListItems} items`, DOCUMENT_BOUNDS.maxListItems);
        continue;
      }
      if (STRING_LISTS.includes(path)) {
        value.forEach((item, i) => {
          if (typeof item === 'string' && item.length > DOCUMENT_BOUNDS.maxItemChars) {
            add(`${path}.${i}`, 'maxLength', `String must not be more than ${DOCUMENT_BOUNDS.maxItemChars} characters`, DOCUMENT_BOUNDS.maxItemChars);
          }
        });
      }
      value.forEach((item, i) => stack.push({ value: item, path: `${path}.${i}`, depth: depth + 1 }));
      continue;
    }
    for (const [k, v] of Object.entries(value)) stack.push({ value: v, path: path === '' ? k : `${path}.${k}`, depth: depth + 1 });
  }
  if (Object.keys(errors).length > 0) throw new ValidationError(errors);
  const bytes = Buffer.byteLength(JSON.stringify(doc));
  if (bytes > DOCUMENT_BOUNDS.maxBytes) {
    throw ValidationError.field('data', 'maxBytes', `The document must not be more than ${DOCUMENT_BOUNDS.maxBytes} bytes as JSON (it would be ${bytes})`, DOCUMENT_BOUNDS.maxBytes);
  }
}
