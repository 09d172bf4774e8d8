/** The tables of the cluster view's operator commands: `confmgr nodes`, the FOCUS column, the partial note. */
import { describe, expect, it } from 'vitest';
import { conferencesTable, nodesTable, partialNote } from '../../src/cli/operator.js';

describe('nodesTable', () => {
  it('one row per node and instance, the active first, since as an age', () => {
    const now = Date.parse('2026-01-01T01:00:00Z');
    const out = nodesTable(
      [
        { node: 'fsB', instance: 'Z@h', state: 'standby', connected: true, since: '2026-01-01T00:59:50Z', takeovers: 0 },
        { node: 'fsB', instance: 'Y@h', state: 'active', connected: true, since: '2026-01-01T00:00:00Z', takeovers: 3 },
        { node: 'fsA', instance: 'X@h', state: 'unreachable', connected: false, since: 'garbage', takeovers: 0 },
      ],
      now,
    );
    expect(out.split('\n')).toEqual([
      'NODE  INSTANCE  STATE        CONNECTED  SINCE         TAKEOVERS',
      'fsA   X@h       unreachable  no         -             0',
      'fsB   Y@h       active       yes        1h00m00s ago  3',
      'fsB   Z@h       standby      yes        10s ago       0',
      '',
    ]);
    expect(nodesTable([])).toBe('No FreeSWITCH nodes.\n');
  });
});

describe('conferencesTable', () => {
  const entry = (id: string, focus?: string) => ({ id, members: 1, admins: 0, is_locked: false, duration: 5, ...(focus ? { focus } : {}) });
  it('a FOCUS column only when the conferences span several nodes', () => {
    expect(conferencesTable([entry('a', 'sw1'), entry('b', 'sw1')]).split('\n')[0]).toMatch(/DURATION$/);
    const lines = conferencesTable([entry('a', 'sw1'), entry('b', 'sw2')]).split('\n');
    expect(lines[0]).toMatch(/DURATION\s+FOCUS$/);
    expect(lines[2]).toMatch(/^b\s.*\ssw2$/);
  });
});

describe('partialNote', () => {
  it('names the silent instances', () => {
    expect(partialNote(['Y@h', 'Z@h'])).toBe('confmgr: partial: no answer in time from Y@h, Z@h; what they serve is not listed\n');
    expect(partialNote([])).toContain('could not be asked');
  });
});
