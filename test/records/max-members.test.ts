/** `max_members` (Kazoo's name): an integer of at least 1, absent = unlimited. */
import { describe, expect, it } from 'vitest';
import { prepareDocument } from '../../src/records/conference-document.js';

describe('max_members', () => {
  it('accepts a positive integer and keeps it; absent stays absent', () => {
    expect(prepareDocument({ max_members: 10 }).max_members).toBe(10);
    expect(prepareDocument({}).max_members).toBeUndefined();
  });

  it('refuses anything else, naming the field and the rule', () => {
    for (const [value, rule] of [
      [0, 'minimum'],
      [-3, 'minimum'],
      [2.5, 'type'],
      ['5', 'type'],
    ] as const) {
      expect(() => prepareDocument({ max_members: value })).toThrow(expect.objectContaining({ fields: { max_members: { [rule]: expect.any(Object) } } }));
    }
  });
});
