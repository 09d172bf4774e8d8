/**
 * Received events keep V8's fast properties: an object literal with its own `details` get/set closures,
 * given the optional fields after it, fell into dictionary mode (every field read downstream a hash
 * lookup, a property dictionary of garbage per event). Checked in a child process run with
 * --allow-natives-syntax over the fixture's real events; and `details` still behaves as a property.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConferenceEvent } from '../../src/conference/events.js';
import { EslParser, decodeEvent, isEventFrame, type EslFrame } from '../../src/esl/index.js';
import { readRaw } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/acc-harness.js';

function fixtureEvents() {
  const frames: EslFrame[] = [];
  new EslParser().feed(readRaw('demo-json'), (f) => frames.push(f));
  return frames.filter(isEventFrame).map((f) => parseConferenceEvent(decodeEvent(f), 'fs1')).filter((e) => e !== undefined);
}

describe('received ConferenceEvent objects', () => {
  it('have fast properties in V8, before and after their details are read', () => {
    const root = join(import.meta.dirname, '..', '..');
    const script = join(tempDir('confmgr-shape-').dir, 'shape.mts');
    writeFileSync(
      script,
      `import { parseConferenceEvent } from ${JSON.stringify(join(root, 'src/conference/events.ts'))};
import { EslParser, decodeEvent, isEventFrame } from ${JSON.stringify(join(root, 'src/esl/index.ts'))};
import { readRaw } from ${JSON.stringify(join(root, 'test/helpers/fixtures.ts'))};
const isFast = new Function('o', 'return %HasFastProperties(o)');
const frames = [];
new EslParser().feed(readRaw('demo-json'), (f) => frames.push(f));
const events = frames.filter(isEventFrame).map((f) => parseConferenceEvent(decodeEvent(f), 'fs1')).filter(Boolean);
const before = events.filter(isFast).length;
for (const e of events) void e.details;
console.log(JSON.stringify({ n: events.length, before, after: events.filter(isFast).length }));
`,
    );
    const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', script], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const { n, before, after } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { n: number; before: number; after: number };
    expect(n).toBeGreaterThan(20);
    expect(before).toBe(n);
    expect(after).toBe(n);
  });

  it('details: built when read, then an ordinary property; copies and JSON carry it; it can be replaced', () => {
    const events = fixtureEvents();
    const dtmf = events.find((e) => e.action === 'dtmf-member')!;
    expect({ ...dtmf }.details).toEqual({ Digits: '123' });
    expect(JSON.parse(JSON.stringify(dtmf)).details).toEqual({ Digits: '123' });
    expect(Object.getOwnPropertyDescriptor(dtmf, 'details')).toMatchObject({ value: { Digits: '123' }, writable: true, enumerable: true });
    const floor = events.find((e) => e.action === 'floor-change')!;
    floor.details = { replaced: true };
    expect(floor.details).toEqual({ replaced: true });
    const conferenceLevel = events.find((e) => e.member === undefined && e.headers['Energy-Level'] !== undefined);
    if (conferenceLevel) expect(typeof conferenceLevel.details['Energy-Level']).toBe('number'); // a conference's Energy-Level is a detail, a member's is not
  });
});
