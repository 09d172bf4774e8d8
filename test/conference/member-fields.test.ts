/**
 * MEMBER_FIELDS against independent descriptions of the same member: the simulator's event headers,
 * json_list and xml_list (written from the FreeSWITCH fixtures), and Kazoo's key orders in the seed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EslParser, decodeEvent, isEventFrame, type EslEvent } from '../../src/esl/codec.js';
import { ConferenceEngine, ManualScheduler } from '../../src/simulator/index.js';
import type { SimEvent } from '../../src/simulator/event.js';
import { parseConferenceEvent } from '../../src/conference/events.js';
import { parseJsonList, parseXmlList } from '../../src/conference/json-list.js';
import { COMPARED_FIELDS, LISTED_FIELDS, MEMBER_FIELDS, agree, agreement, fieldValue, kazooLayout, objectBuilder, setField } from '../../src/conference/member-fields.js';
import type { MemberState } from '../../src/conference/types.js';
import { readOnlyParticipant } from '../../src/state/read-only-view.js';
import { SEED_DIR } from '../helpers/fixtures.js';

function engine(): { e: ConferenceEngine; seen: SimEvent[] } {
  const e = new ConferenceEngine({
    core: { coreUuid: '00000000-0000-4000-8000-000000000000', hostname: 'vm', switchname: 'vm', ipv4: '192.0.2.2', ipv6: 'fd00::2' },
    scheduler: new ManualScheduler(),
  });
  const seen: SimEvent[] = [];
  e.onEvent((ev) => seen.push(ev));
  return { e, seen };
}

function parsed(ev: SimEvent): MemberState {
  const [frame] = new EslParser().push(ev.frame('plain')).filter(isEventFrame);
  return parseConferenceEvent(decodeEvent(frame!), 'fs1')!.member!;
}

describe('MEMBER_FIELDS', () => {
  it('reads a member from event headers, json_list and xml_list alike (the simulator writes all three)', () => {
    const { e, seen } = engine();
    e.originate({ conference: 'x', callerIdNumber: '1001', callerIdName: 'Mod', moderator: true });
    const bob = e.originate({ conference: 'x', callerIdNumber: '1002', callerIdName: 'Bob' });
    const m = e.memberByChannel(bob.member.callId)!;
    // Every flag away from a fresh member's value, so a misread name cannot pass by default.
    Object.assign(m, { video: true, canSee: false, muteDetect: true, hold: true, currentEnergy: 7 });
    expect(e.executeApi(`conference x deaf ${m.id}`)).toContain('OK');
    expect(e.executeApi(`conference x mute ${m.id}`)).toContain('OK');
    m.talking = true; // set directly, like the flags above
    e.setFloor(e.conference('x')!, m);
    expect(e.executeApi(`conference x energy ${m.id} 321`)).toContain('321');
    const fromEvent = parsed(seen.filter((ev) => ev.header('Member-ID') === String(m.id)).at(-1)!);
    expect(fromEvent).toMatchObject({
      memberId: m.id,
      callerIdName: 'Bob',
      hear: false,
      speak: false,
      see: false,
      video: true,
      talking: true,
      floor: true,
      hold: true,
      muteDetect: true,
      energyLevel: 321,
      currentEnergy: 7,
    });

    const json = parseJsonList(e.executeApi('conference x json_list'))[0]!.members.find((l) => l.memberId === m.id)!;
    const xml = parseXmlList(e.executeApi('conference x xml_list'))[0]!.members.find((l) => l.memberId === m.id)!;
    for (const f of LISTED_FIELDS) {
      expect(fieldValue(json, f), `json_list ${f.key}`).toBe(fieldValue(fromEvent, f));
      expect(fieldValue(xml, f), `xml_list ${f.key}`).toBe(fieldValue(fromEvent, f));
    }
    const moderator = parseJsonList(e.executeApi('conference x json_list'))[0]!.members.find((l) => l.memberId !== m.id)!;
    expect(moderator.isModerator).toBe(true);
  });

  it('a field missing from an event takes a fresh member\'s value', () => {
    const member = memberOf({ 'Member-ID': '4' });
    for (const f of MEMBER_FIELDS) if (f.key !== 'memberId') expect(fieldValue(member, f), f.key).toBe(f.fresh);
  });

  it("places the _read_only participant's keys in the seed's order", () => {
    const seed = readFileSync(join(SEED_DIR, '004_109fc17fbd7acb0b.txt'), 'utf8');
    const block = /"participants": \[\s*(\{[\s\S]*?\})/.exec(seed)![1]!;
    const seedKeys = Object.keys(JSON.parse(block) as object);
    const member = memberOf({ 'Member-ID': '1' });
    expect(Object.keys(readOnlyParticipant({ name: 'c', uuid: 'u', hostname: 'h' }, member, 0, 0))).toEqual(seedKeys);
  });
});

describe('objectBuilder', () => {
  it('builds the keys in their places, leaving out an optional key without a value', () => {
    const build = objectBuilder(
      kazooLayout<{ extra?: string }, Readonly<MemberState>>('payloadAt', [
        { key: 'first', at: -1, value: () => 'f' },
        { key: 'extra', at: 100, optional: true, value: (a) => a.extra },
      ]),
      (_a, m) => m,
    );
    const member = memberOf({ 'Member-ID': '9', 'Caller-Caller-ID-Number': '99' });
    const without = build({}, member);
    expect(Object.keys(without)[0]).toBe('first');
    expect(without).toMatchObject({ participant_id: 9, caller_id_number: '99' });
    expect('extra' in without).toBe(false);
    expect(Object.keys(build({ extra: 'x' }, member)).at(-1)).toBe('extra');
  });

  it('refuses two keys at one place and a key that would set the prototype', () => {
    expect(() => kazooLayout('payloadAt', [{ key: 'clash', at: 12, value: () => 1 }])).toThrow(/participant_id and clash|clash and participant_id/);
    expect(() => objectBuilder([{ key: '__proto__', value: () => ({}) }])).toThrow(/__proto__/);
  });
});

describe('agreement', () => {
  it('answers as agree over the same fields: a difference in any one of them, and only in them, counts', () => {
    const base = memberOf({ 'Member-ID': '4', 'Caller-Caller-ID-Number': '1004', 'Caller-Caller-ID-Name': 'Four', 'Energy-Level': '300' });
    for (const fields of [COMPARED_FIELDS, LISTED_FIELDS, MEMBER_FIELDS, []]) {
      const same = agreement(fields);
      expect(same(base, { ...base })).toBe(true);
      for (const f of MEMBER_FIELDS) {
        const other = { ...base };
        const v = fieldValue(base, f);
        setField(other, f, typeof v === 'boolean' ? !v : typeof v === 'number' ? v + 1 : `${String(v)}x`);
        expect(same(base, other)).toBe(agree(base, other, fields));
        expect(same(base, other)).toBe(!fields.includes(f));
      }
    }
  });
});

/** The member of a hand-made member event with these headers. */
function memberOf(headers: Record<string, string>): MemberState {
  const event: EslEvent = {
    name: 'CUSTOM',
    subclass: 'conference::maintenance',
    headers: { 'Event-Name': 'CUSTOM', 'Event-Subclass': 'conference::maintenance', 'Conference-Name': 'c', Action: 'add-member', ...headers },
    body: '',
  };
  return parseConferenceEvent(event, 'fs1')!.member!;
}
