/**
 * The resync's bulk paths: json_list parsed one conference at a time (cJSON layout) must give exactly
 * what a whole-reply JSON.parse gives, errors included; applySnapshot with a sink must hand over the
 * same events, in the same order, as the returned array does.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseJsonList } from '../../src/conference/json-list.js';
import { ConferenceRegistry } from '../../src/state/registry.js';
import { UnrecognizedReplyError } from '../../src/conference/errors.js';
import type { ConferenceEvent } from '../../src/conference/types.js';
import { cjsonPrint, type CJsonValue } from '../../src/simulator/cjson.js';

/** The same JSON without cJSON's layout: parseJsonList then has to parse it whole. */
const compact = (text: string): string => JSON.stringify(JSON.parse(text));
const outcome = (text: string): unknown => {
  try {
    return { ok: parseJsonList(text) };
  } catch (err) {
    return { err: (err as Error).constructor.name };
  }
};

// Strings that look like the separator the fast path splits on, escaped or not.
const tricky = fc.oneof(fc.string(), fc.constantFrom('\n\t}, {', '}, {', '"', '\\', 'x\n\t}, {\n\t\t"a":\t1', 'é€😀'));
const memberArb = fc.record({
  type: fc.constant('caller'),
  id: fc.integer({ min: 1, max: 500 }),
  flags: fc.record({ can_hear: fc.boolean(), can_speak: fc.boolean(), talking: fc.boolean(), has_floor: fc.boolean() }),
  uuid: tricky,
  caller_id_name: tricky,
  caller_id_number: tricky,
  join_time: fc.nat(),
  energy: fc.nat(),
});
const conferenceArb = fc.record({
  conference_name: tricky,
  member_count: fc.nat(10),
  conference_uuid: tricky,
  run_time: fc.nat(),
  locked: fc.boolean(),
  recording: fc.boolean(),
  variables: fc.dictionary(tricky, tricky, { maxKeys: 2 }),
  members: fc.array(memberArb, { maxLength: 4 }),
});

describe('parseJsonList, one conference at a time', () => {
  it('equals a whole-reply parse on cJSON output', () => {
    fc.assert(
      fc.property(fc.array(conferenceArb, { minLength: 1, maxLength: 6 }), (confs) => {
        const text = cjsonPrint(confs as unknown as CJsonValue);
        expect(text).toMatch(confs.length > 1 ? /\n\t\}, \{/ : /^\[\{/); // really the cJSON layout
        expect(parseJsonList(text)).toEqual(parseJsonList(compact(text)));
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with a whole-reply parse on damaged replies too (same result or same error)', () => {
    const damage = fc.constantFrom('', '[', ']', '{', '}', ',', '"', '\\', ' ', '\n\t}, {', '\n\t}, {}, {', 'x', '1', '\n');
    fc.assert(
      fc.property(fc.array(conferenceArb, { minLength: 1, maxLength: 4 }), fc.array(fc.tuple(fc.nat(), damage), { minLength: 1, maxLength: 3 }), (confs, cuts) => {
        let text = cjsonPrint(confs as unknown as CJsonValue);
        for (const [at, s] of cuts) {
          const p = at % (text.length + 1);
          text = text.slice(0, p) + s + text.slice(p + 1);
        }
        let whole: unknown;
        try {
          const parsed: unknown = JSON.parse(text.trim());
          whole = Array.isArray(parsed) ? { ok: parseJsonList(JSON.stringify(parsed)) } : { err: 'UnrecognizedReplyError' };
        } catch {
          whole = text.trim().startsWith('[') ? { err: 'UnrecognizedReplyError' } : outcome(text);
        }
        expect(outcome(text)).toEqual(whole);
      }),
      { numRuns: 500 },
    );
  });

  it('a bad conference in the middle fails the whole reply, never half of it', () => {
    const good = cjsonPrint([{ conference_name: 'a', members: [] }, { conference_name: 'b', members: [] }, { conference_name: 'c', members: [] }]);
    const bad = good.replace('"b"', '"b');
    expect(() => parseJsonList(bad)).toThrow(UnrecognizedReplyError);
  });

  it('a non-object element is skipped, as before', () => {
    const text = '[{\n\t\t"conference_name":\t"a"\n\t}, 7, null, {\n\t\t"conference_name":\t"b"\n\t}]';
    expect(parseJsonList(text).map((c) => c.name)).toEqual(['a', 'b']);
  });
});

describe('ConferenceRegistry.applySnapshot with a sink', () => {
  const snapshots = fc.array(fc.array(conferenceArb, { maxLength: 4 }), { minLength: 1, maxLength: 4 });

  it('hands over the same events in the same order, conference by conference, and returns none', () => {
    fc.assert(
      fc.property(snapshots, (snaps) => {
        const plain = new ConferenceRegistry({ quietWindowMs: 0, now: () => 5_000_000 });
        const sunk = new ConferenceRegistry({ quietWindowMs: 0, now: () => 5_000_000 });
        for (const [i, raw] of snaps.entries()) {
          const listed = parseJsonList(cjsonPrint(raw as unknown as CJsonValue));
          const want = plain.applySnapshot('fs1', listed, 1_000_000 + i);
          const got: ConferenceEvent[] = [];
          const batches: ConferenceEvent[][] = [];
          const returned = sunk.applySnapshot('fs1', listed, 1_000_000 + i, (events) => {
            batches.push(events);
            got.push(...events);
          });
          expect(returned).toEqual([]);
          expect(got).toEqual(want);
          // One batch per conference: never two conferences in one batch.
          for (const b of batches) expect(new Set(b.map((e) => e.conferenceName)).size).toBe(1);
          expect(sunk.conferences()).toEqual(plain.conferences());
        }
      }),
      { numRuns: 200 },
    );
  });
});
