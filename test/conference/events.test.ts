import { describe, expect, it } from 'vitest';
import { EslParser, decodeEvent, isEventFrame, type EslEvent } from '../../src/esl/codec.js';
import { KNOWN_ACTIONS, isConferenceEvent, parseConferenceEvent } from '../../src/conference/events.js';
import type { ConferenceEvent } from '../../src/conference/types.js';
import { readRaw, readSummary } from '../helpers/fixtures.js';

function eventsOf(name: string): EslEvent[] {
  return new EslParser().push(readRaw(name)).filter(isEventFrame).map(decodeEvent);
}
function conferenceEventsOf(name: string): ConferenceEvent[] {
  return eventsOf(name)
    .map((e) => parseConferenceEvent(e, 'fs1'))
    .filter((e): e is ConferenceEvent => e !== undefined);
}

const FIXTURE_ACTIONS = [
  'add-member',
  'conference-create',
  'conference-destroy',
  'deaf-member',
  'del-member',
  'dtmf-member',
  'energy-level-member',
  'floor-change',
  'hold-member',
  'hup-member',
  'kick-member',
  'lock',
  'mute-member',
  'play-file',
  'play-file-done',
  'play-file-member',
  'play-file-member-done',
  'start-recording',
  'start-talking',
  'stop-recording',
  'stop-talking',
  'undeaf-member',
  'unhold-member',
  'unlock',
  'unmute-member',
  'volume-in-member',
  'volume-out-member',
];

describe.each(['demo-plain', 'demo-json'])('every event of %s', (fixture) => {
  const raw = eventsOf(fixture);
  const parsed = conferenceEventsOf(fixture);
  const summary = readSummary(fixture).filter((l) => l.eventName !== undefined);

  it('becomes a ConferenceEvent, in order, none dropped', () => {
    expect(raw.length).toBe(85);
    expect(parsed.length).toBe(raw.length);
    expect(parsed.map((e) => e.action)).toEqual(summary.map((l) => l.action));
  });

  it('has 27 distinct actions, all known', () => {
    const distinct = [...new Set(parsed.map((e) => e.action))].sort();
    expect(distinct).toEqual(FIXTURE_ACTIONS);
    for (const e of parsed) expect(e.known).toBe(true);
  });

  it('carries member id and caller number exactly as the summary shows', () => {
    parsed.forEach((e, i) => {
      const line = summary[i]!;
      expect(e.member?.memberId).toBe(line.memberId);
      if (line.callerNumber !== undefined) expect(e.member?.callerIdNumber).toBe(line.callerNumber);
    });
  });

  it('types the common fields', () => {
    for (const e of parsed) {
      expect(e.node).toBe('fs1');
      expect(e.conferenceName).toBe('demo');
      expect(e.conferenceUuid).toMatch(/^[0-9a-f-]{36}$/);
      expect(e.switchname).toBe('vm');
      expect(e.coreUuid).toMatch(/^[0-9a-f-]{36}$/);
      expect(e.profile).toBe('default');
      expect(e.conferenceDomain).toBe('127.0.0.1');
      expect(Number.isInteger(e.conferenceSize)).toBe(true);
      expect(e.timestampUs).toBeGreaterThan(1.7e15);
      expect(e.sequence).toBeGreaterThan(0);
      expect(e.synthesized).toBe(false);
      expect(e.headers['Action']).toBe(e.action);
    }
    const seqs = parsed.map((e) => e.sequence);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  });

  it('types member state: moderator from Member-Type, booleans and numbers', () => {
    const adds = parsed.filter((e) => e.action === 'add-member');
    expect(adds.map((e) => [e.member!.memberId, e.member!.callerIdName, e.member!.isModerator])).toEqual([
      [1, 'Moderator', true],
      [2, 'Alice', false],
      [3, 'Bob', false],
    ]);
    for (const e of parsed.filter((x) => x.member)) {
      const m = e.member!;
      for (const flag of [m.hear, m.see, m.speak, m.talking, m.floor, m.hold, m.muteDetect, m.video, m.ghost]) expect(typeof flag).toBe('boolean');
      expect(Number.isInteger(m.energyLevel)).toBe(true);
      expect(Number.isInteger(m.currentEnergy)).toBe(true);
      expect(m.callId).toMatch(/^[0-9a-f-]{36}$/);
      expect(m.channelName).toMatch(/^loopback\//);
      expect(m.channelVars).toEqual({});
    }
    const mute = parsed.find((e) => e.action === 'mute-member')!;
    expect(mute.member!.speak).toBe(false);
    const deaf = parsed.find((e) => e.action === 'deaf-member')!;
    expect(deaf.member).toMatchObject({ memberId: 2, hear: false });
    const hold = parsed.find((e) => e.action === 'hold-member')!;
    expect(hold.member!.hold).toBe(true);
    const talking = parsed.find((e) => e.action === 'start-talking')!;
    expect(talking.member!.talking).toBe(true);
    expect(talking.member!.currentEnergy).toBeGreaterThan(0);
    const energy = parsed.find((e) => e.action === 'energy-level-member')!;
    expect(energy.member!.energyLevel).toBe(300);
  });

  it('types action details', () => {
    const floors = parsed.filter((e) => e.action === 'floor-change');
    expect(floors[0]!.details).toEqual({ 'Old-ID': null, 'New-ID': 1 });
    expect(floors[0]!.member!.memberId).toBe(1);
    expect(floors[1]!.details).toEqual({ 'Old-ID': 1, 'New-ID': 3 });
    const toNobody = floors.find((e) => e.details['New-ID'] === null)!;
    expect(toNobody.member).toBeUndefined();
    expect(parsed.find((e) => e.action === 'dtmf-member')!.details).toEqual({ Digits: '123' });
    expect(parsed.find((e) => e.action === 'volume-in-member')!.details).toEqual({ 'Volume-Level': 2 });
    expect(parsed.find((e) => e.action === 'volume-out-member')!.details).toEqual({ 'Volume-Level': -1 });
    expect(parsed.find((e) => e.action === 'play-file')!.details).toEqual({ File: 'tone_stream://%(400,0,800)', Async: false });
    expect(parsed.find((e) => e.action === 'play-file-member')!.details).toEqual({ File: 'tone_stream://%(400,0,1000)' });
    const done = parsed.find((e) => e.action === 'play-file-done')!;
    expect(done.details).toMatchObject({ seconds: expect.any(Number), milliseconds: expect.any(Number), samples: expect.any(Number) });
    const stopRec = parsed.find((e) => e.action === 'stop-recording')!;
    expect(stopRec.details).toMatchObject({ 'Other-Recordings': false, Samplerate: 8000, Path: expect.stringMatching(/\.wav$/) });
    const stopTalking = parsed.find((e) => e.action === 'stop-talking')!;
    expect(typeof stopTalking.details['talking-average-energy']).toBe('number');
    expect(typeof stopTalking.details['talking-duration-ms']).toBe('number');
    const dels = parsed.filter((e) => e.action === 'del-member');
    expect(dels.map((e) => e.member!.memberId)).toEqual([2, 3, 1]);
    expect(dels[1]!.details).toEqual({ 'Hangup-Cause': 'NORMAL_CLEARING' });
    for (const e of parsed.filter((x) => ['lock', 'unlock', 'conference-create', 'conference-destroy'].includes(x.action))) {
      expect(e.member).toBeUndefined();
      expect(e.details).toEqual({});
    }
  });
});

describe('plain and json encodings agree', () => {
  it('same actions, members and details (uuids and times differ between the two runs)', () => {
    const strip = (e: ConferenceEvent) => ({
      action: e.action,
      member: e.member && { ...e.member, callId: '', currentEnergy: 0, talking: false },
      size: e.conferenceSize,
      details: Object.fromEntries(Object.entries(e.details).filter(([k]) => !/^(talking-|seconds|milliseconds|samples|Path|Samples-Out|Milliseconds-Elapsed|Record-File-Size)/.test(k))),
    });
    const plain = conferenceEventsOf('demo-plain').map(strip);
    const json = conferenceEventsOf('demo-json').map(strip);
    expect(json.map((e) => e.action)).toEqual(plain.map((e) => e.action));
    expect(json.map((e) => e.member?.memberId)).toEqual(plain.map((e) => e.member?.memberId));
    expect(json.map((e) => e.member?.isModerator)).toEqual(plain.map((e) => e.member?.isModerator));
  });
});

describe('other fixtures and edge cases', () => {
  it('shutdown: del-member and conference-destroy parse; SHUTDOWN is not a conference event', () => {
    const all = eventsOf('shutdown-listener');
    const conf = all.filter(isConferenceEvent);
    expect(all.some((e) => e.name === 'SHUTDOWN')).toBe(true);
    expect(all.filter((e) => !isConferenceEvent(e)).every((e) => parseConferenceEvent(e, 'fs1') === undefined)).toBe(true);
    const parsed = conf.map((e) => parseConferenceEvent(e, 'fs1')!);
    expect(parsed.map((e) => e.action)).toContain('del-member');
    expect(parsed.map((e) => e.action)).toContain('conference-destroy');
    expect(parsed.find((e) => e.action === 'del-member')!.details['Hangup-Cause']).toBe('SYSTEM_SHUTDOWN');
  });

  it('mixed events and api: every conference event parses', () => {
    const conf = eventsOf('mixed-events-and-api').filter(isConferenceEvent);
    expect(conf.length).toBeGreaterThan(0);
    for (const e of conf) expect(parseConferenceEvent(e, 'fs1')!.known).toBe(true);
  });

  const base = {
    'Event-Name': 'CUSTOM',
    'Event-Subclass': 'conference::maintenance',
    'Core-UUID': 'core',
    'FreeSWITCH-Switchname': 'fs.example',
    'Event-Date-Timestamp': '1795312644071503',
    'Event-Sequence': '7',
    'Conference-Name': 'c1',
    'Conference-Unique-ID': 'u1',
    'Conference-Size': '2',
  };
  const ev = (headers: Record<string, string>): EslEvent => ({ name: 'CUSTOM', subclass: 'conference::maintenance', headers: { ...base, ...headers }, body: '' });

  it('an unknown Action passes through with known=false, its headers kept as strings', () => {
    const e = parseConferenceEvent(ev({ Action: 'brand-new-thing', 'New-Header': '42' }), 'fs1')!;
    expect(e).toMatchObject({ action: 'brand-new-thing', known: false, conferenceName: 'c1', sequence: 7 });
    expect(e.details).toEqual({ 'New-Header': '42' });
  });

  it('an event without Action is still delivered', () => {
    const e = parseConferenceEvent(ev({}), 'fs1')!;
    expect(e).toMatchObject({ action: '', known: false });
  });

  it('source-only actions are known and typed (bgdial-result, transfer, energy-level, gain-level)', () => {
    expect(parseConferenceEvent(ev({ Action: 'bgdial-result', Result: 'SUCCESS', 'Job-UUID': 'j1' }), 'fs1')!.details).toEqual({
      Result: 'SUCCESS',
      'Job-UUID': 'j1',
    });
    const transfer = parseConferenceEvent(
      ev({ Action: 'transfer', 'Member-ID': '4', 'Old-Conference-Name': 'c1', 'New-Conference-Name': 'c2', 'Member-Type': 'member' }),
      'fs1',
    )!;
    expect(transfer.known).toBe(true);
    expect(transfer.member!.memberId).toBe(4);
    expect(transfer.details).toEqual({ 'Old-Conference-Name': 'c1', 'New-Conference-Name': 'c2' });
    expect(parseConferenceEvent(ev({ Action: 'energy-level', 'Energy-Level': '250' }), 'fs1')!.details).toEqual({ 'Energy-Level': 250 });
    expect(parseConferenceEvent(ev({ Action: 'gain-level', 'Gain-Level': '3' }), 'fs1')!.details).toEqual({ 'Gain-Level': 3 });
    for (const a of ['mute-detect', 'pause-recording', 'resume-recording', 'dtmf', 'video-floor-change', 'vmute-member']) {
      expect(KNOWN_ACTIONS.has(a)).toBe(true);
    }
  });

  it('verbose events: variable_* headers become channel vars; presence from Channel-Presence-ID', () => {
    const e = parseConferenceEvent(
      ev({
        Action: 'add-member',
        'Member-ID': '9',
        'Member-Type': 'moderator',
        'Unique-ID': 'call-9',
        'Channel-Presence-ID': '1000@realm',
        'variable_ecallmgr_Account-ID': 'acc',
        variable_presence_id: '1000@realm',
      }),
      'fs1',
    )!;
    expect(e.member).toMatchObject({
      memberId: 9,
      isModerator: true,
      callId: 'call-9',
      presenceId: '1000@realm',
      channelVars: { 'ecallmgr_Account-ID': 'acc', presence_id: '1000@realm' },
      // flags missing from the event take a fresh member's defaults
      hear: true,
      speak: true,
      talking: false,
    });
    expect(e.details).toEqual({});
  });
});
