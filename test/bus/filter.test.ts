import { describe, expect, it } from 'vitest';
import { EventFilter } from '../../src/bus/filter.js';

describe('EventFilter (publish_participant_event)', () => {
  it('absent list lets everything through', () => {
    const f = new EventFilter();
    expect(f.check('add-member')).toBe(true);
    expect(f.check('whatever-new')).toBe(true);
    expect(f.list).toBeUndefined();
  });

  it('[] lets nothing through, and counts what it filters', () => {
    const f = new EventFilter([]);
    expect(f.check('add-member')).toBe(false);
    expect(f.check('add-member')).toBe(false);
    expect(f.check('del-member')).toBe(false);
    expect(f.counters()).toEqual({ passed: {}, filtered: { 'add-member': 2, 'del-member': 1 } });
    expect(f.filteredTotal).toBe(3);
  });

  it('a list passes only its names; update() switches without losing counters', () => {
    const f = new EventFilter(['mute-member', 'unmute-member']);
    expect(f.check('mute-member')).toBe(true);
    expect(f.check('start-talking')).toBe(false);
    f.update(['start-talking']);
    expect(f.list).toEqual(['start-talking']);
    expect(f.check('mute-member')).toBe(false);
    expect(f.check('start-talking')).toBe(true);
    f.update(undefined);
    expect(f.check('anything')).toBe(true);
    expect(f.counters()).toEqual({
      passed: { 'mute-member': 1, 'start-talking': 1, anything: 1 },
      filtered: { 'start-talking': 1, 'mute-member': 1 },
    });
    expect(f.allows('x')).toBe(true);
  });
});
