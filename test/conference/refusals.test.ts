/**
 * Values FreeSWITCH could not have sent are refused where they enter: the event or listed row carrying
 * one is dropped and reported, the rest of the stream or listing is kept, nothing throws.
 */
import { describe, expect, it } from 'vitest';
import type { EslEvent } from '../../src/esl/codec.js';
import { parseConferenceEvent } from '../../src/conference/events.js';
import { parseJsonList, parseListSummary, parseXmlList } from '../../src/conference/json-list.js';
import { logRefusals, type Refusal } from '../../src/conference/refusals.js';
import { UnrecognizedReplyError } from '../../src/conference/errors.js';
import { createLogger } from '../../src/util/log.js';
import { cjsonPrint, type CJsonValue } from '../../src/simulator/cjson.js';

function ev(headers: Record<string, string | undefined>): EslEvent {
  const all: Record<string, string> = {};
  const given = { 'Event-Name': 'CUSTOM', 'Event-Subclass': 'conference::maintenance', 'Conference-Name': 'room', Action: 'add-member', ...headers };
  for (const [k, v] of Object.entries(given)) if (v !== undefined) all[k] = v;
  return { name: 'CUSTOM', subclass: 'conference::maintenance', headers: all, body: '' };
}

function collect(): { refused: Refusal[]; onRefused: (r: Refusal) => void } {
  const refused: Refusal[] = [];
  return { refused, onRefused: (r) => refused.push(r) };
}

describe('conference events carrying impossible values', () => {
  it.each(['-1', '0', '1e20', '100000000000000000000', 'abc', '4.5'])('Member-ID %s: the event is dropped and reported', (id) => {
    const { refused, onRefused } = collect();
    expect(parseConferenceEvent(ev({ 'Member-ID': id, 'Unique-ID': 'call-1' }), 'fs1', onRefused)).toBeUndefined();
    expect(refused).toEqual([{ dropped: 'event', field: 'Member-ID', value: JSON.stringify(id), reason: 'not a positive integer', action: 'add-member' }]);
  });

  it.each([
    ['with a space', 'my room', 'whitespace or control characters'],
    ['with a control character', 'room\u0001', 'whitespace or control characters'],
    ['empty', '', 'empty'],
    ['absent', undefined, 'empty'],
    ['too long', 'r'.repeat(257), 'longer than 256 characters'],
  ])('a Conference-Name %s: the event is dropped and reported', (_what, name, reason) => {
    const { refused, onRefused } = collect();
    expect(parseConferenceEvent(ev({ 'Conference-Name': name, Action: 'conference-create' }), 'fs1', onRefused)).toBeUndefined();
    expect(refused).toMatchObject([{ dropped: 'event', field: 'Conference-Name', reason, action: 'conference-create' }]);
    expect(refused[0]!.value.length).toBeLessThanOrEqual(68);
  });

  it('keeps ordinary values, and events after a refused one parse as usual', () => {
    const { refused, onRefused } = collect();
    parseConferenceEvent(ev({ 'Member-ID': '-1' }), 'fs1', onRefused);
    for (const name of ['room', '5edbfdd3b825314a71b0a05957392edb', 'sales@default', 'Räume#1', 'r'.repeat(256)]) {
      const e = parseConferenceEvent(ev({ 'Conference-Name': name, 'Member-ID': '2147483648', 'Unique-ID': 'c' }), 'fs1', onRefused);
      expect(e?.member?.memberId).toBe(2147483648);
    }
    expect(refused).toHaveLength(1);
    // Without a listener the event is dropped all the same.
    expect(parseConferenceEvent(ev({ 'Member-ID': 'abc' }), 'fs1')).toBeUndefined();
  });
});

describe('listings carrying impossible values', () => {
  const member = (id: unknown, uuid: string): Record<string, unknown> => ({ id, uuid, type: 'caller', caller_id_name: uuid, flags: { can_hear: true } });
  const conferences = [
    { conference_name: 'my room', conference_uuid: 'u0', member_count: 1, members: [member(1, 'a')] },
    { conference_name: 'good', conference_uuid: 'u1', member_count: 5, members: [member(1, 'ok'), member(-1, 'neg'), member(1e20, 'big'), member('abc', 'txt'), member(2, 'ok2')] },
  ];
  const want = [
    { dropped: 'conference', field: 'conference_name', value: '"my room"', reason: 'whitespace or control characters' },
    { dropped: 'member', field: 'id', value: '"-1"', reason: 'not a positive integer', conference: 'good' },
    { dropped: 'member', field: 'id', value: '"100000000000000000000"', reason: 'not a positive integer', conference: 'good' },
    { dropped: 'member', field: 'id', value: '"abc"', reason: 'not a positive integer', conference: 'good' },
  ];

  it.each([
    ['cJSON layout (one conference at a time)', cjsonPrint(conferences as unknown as CJsonValue)],
    ['compact JSON (whole reply)', JSON.stringify(conferences)],
  ])('json_list, %s: the refused rows are left out and reported, the rest is listed', (_how, text) => {
    const { refused, onRefused } = collect();
    const listed = parseJsonList(text, 'conference json_list', onRefused);
    expect(listed.map((c) => c.name)).toEqual(['good']);
    expect(listed[0]!.members.map((m) => m.callId)).toEqual(['ok', 'ok2']);
    expect(listed[0]!.memberCount).toBe(5);
    expect(refused).toEqual(want);
  });

  it('json_list: a fast path given up half way reports each refusal once', () => {
    // The last separator breaks the cJSON layout only: the fast path reads 'my room', then gives the
    // reply to the whole-reply path, which reads it all again.
    const text = cjsonPrint([...conferences, { conference_name: 'other', members: [] }] as unknown as CJsonValue);
    const cut = text.lastIndexOf('\n\t}, {');
    const broken = `${text.slice(0, cut)}\n\t},  {${text.slice(cut + 6)}`;
    const { refused, onRefused } = collect();
    expect(parseJsonList(broken, 'conference json_list', onRefused).map((c) => c.name)).toEqual(['good', 'other']);
    expect(refused).toEqual(want);
  });

  it('xml_list: the same rows are left out and reported', () => {
    const xmlMember = (id: string, uuid: string): string => `<member type="caller"><id>${id}</id><flags><can_hear>true</can_hear></flags><uuid>${uuid}</uuid></member>`;
    const xml =
      '<conferences>' +
      `<conference name="my room" uuid="u0" member-count="1"><members>${xmlMember('1', 'a')}</members></conference>` +
      `<conference name="good" uuid="u1" member-count="3"><members>${xmlMember('1', 'ok')}${xmlMember('-1', 'neg')}${xmlMember('abc', 'txt')}</members></conference>` +
      '</conferences>';
    const { refused, onRefused } = collect();
    const listed = parseXmlList(xml, 'conference xml_list', onRefused);
    expect(listed.map((c) => [c.name, c.members.map((m) => m.callId)])).toEqual([['good', ['ok']]]);
    expect(refused.map((r) => [r.dropped, r.field, r.value])).toEqual([
      ['conference', 'name', '"my room"'],
      ['member', 'id', '"-1"'],
      ['member', 'id', '"abc"'],
    ]);
  });

  it('list summary: a name with a control character is left out and reported', () => {
    const { refused, onRefused } = collect();
    const reply = '+OK Conference good (1 member rate: 8000 flags: running)\nConference bad\u0007 (1 member rate: 8000 flags: running)';
    expect(parseListSummary(reply, onRefused)).toEqual(['good']);
    expect(refused).toMatchObject([{ dropped: 'conference', field: 'Conference', reason: 'whitespace or control characters' }]);
  });
});

describe('logRefusals', () => {
  it('logs each refusal as one structured warning with the node', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
    expect(parseConferenceEvent(ev({ 'Member-ID': '-1' }), 'fs1', logRefusals(log, 'fs1'))).toBeUndefined();
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([
      { level: 40, node: 'fs1', dropped: 'event', field: 'Member-ID', value: '"-1"', reason: 'not a positive integer', action: 'add-member', msg: 'dropped a value FreeSWITCH could not have sent' },
    ]);
  });

  it('logs a few lines per window, then counts the rest into the next line (a hostile peer cannot flood the log)', () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
    let t = 0;
    const onRefused = logRefusals(log, 'fs1', () => t);
    for (let i = 0; i < 25; i++) parseConferenceEvent(ev({ 'Member-ID': '-1' }), 'fs1', onRefused);
    expect(lines).toHaveLength(10);
    t = 10_000;
    parseConferenceEvent(ev({ 'Member-ID': 'abc' }), 'fs1', onRefused);
    expect(lines).toHaveLength(11);
    expect(lines[10]).toMatchObject({ value: '"abc"', suppressed: 15 });
    expect(lines[0]).not.toHaveProperty('suppressed');
  });
});

describe('xml_list with a character reference that names no XML character', () => {
  it('is an unrecognized reply (typed, with a code), never a RangeError', () => {
    for (const ref of ['&#x110000;', '&#99999999999;', '&#0;']) {
      const reply = `<conferences><conference name="r${ref}" uuid="u" member-count="0"><members></members></conference></conferences>`;
      let caught: unknown;
      try {
        parseXmlList(reply);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(UnrecognizedReplyError);
      expect((caught as UnrecognizedReplyError).code).toBe('UNRECOGNIZED_REPLY');
    }
  });
});
