import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseJsonList, parseXmlList, type ListedConference } from '../../src/conference/json-list.js';
import { ConferenceRegistry } from '../../src/state/registry.js';
import { ConferenceNotFoundError, UnrecognizedReplyError } from '../../src/conference/errors.js';
import type { ConferenceEvent } from '../../src/conference/types.js';
import { parseConferenceEvent } from '../../src/conference/events.js';
import { event, fixtureEvents, member, replyTo } from './registry.helpers.js';

const CONTROL = 'demo-plain-control';

/** Applies the fixture events up to `runTime` seconds after conference-create (json_list's clock). */
function registryAt(runTimeSeconds: number): { reg: ConferenceRegistry; nowMs: number } {
  const events = fixtureEvents('demo-plain');
  const createUs = events.find((e) => e.action === 'conference-create')!.timestampUs;
  const cutUs = createUs + runTimeSeconds * 1_000_000;
  const nowMs = cutUs / 1000;
  const reg = new ConferenceRegistry({ now: () => nowMs });
  for (const e of events) if (e.timestampUs <= cutUs) reg.apply(e);
  return { reg, nowMs };
}

function expectStateMatches(reg: ConferenceRegistry, listed: ListedConference, nowMs: number): void {
  const info = reg.conference(listed.name)!;
  expect(info.uuid).toBe(listed.uuid);
  expect(info.locked).toBe(listed.locked);
  expect(info.recording).toBe(listed.recording);
  expect(info.memberCount).toBe(listed.memberCount);
  // The hot-path read names the same instance, without the counts and lists.
  const { name, uuid, node, switchname, hostname, locked, startedAt } = info;
  expect(reg.instance(listed.name)).toEqual({ name, uuid, node, switchname, hostname, locked, startedAt });
  const got = reg.participants(listed.name);
  const want = [...listed.members].sort((a, b) => a.memberId - b.memberId);
  expect(got.map((p) => p.memberId)).toEqual(want.map((m) => m.memberId));
  for (const [i, m] of want.entries()) {
    const p = got[i]!;
    expect({
      callId: p.callId,
      name: p.callerIdName,
      number: p.callerIdNumber,
      hear: p.hear,
      speak: p.speak,
      talking: p.talking,
      floor: p.floor,
      hold: p.hold,
      muteDetect: p.muteDetect,
      video: p.video,
      isModerator: p.isModerator,
      energy: p.energyLevel,
    }).toEqual({
      callId: m.callId,
      name: m.callerIdName,
      number: m.callerIdNumber,
      hear: m.hear,
      speak: m.speak,
      talking: m.talking,
      floor: m.floor,
      hold: m.hold,
      muteDetect: m.muteDetect,
      video: m.video,
      isModerator: m.isModerator,
      energy: m.energyLevel,
    });
    // json_list's join_time is "seconds ago", truncated.
    expect(Math.floor((nowMs - p.joinedAt) / 1000)).toBeGreaterThanOrEqual(m.joinedSecondsAgo - 1);
    expect(Math.floor((nowMs - p.joinedAt) / 1000)).toBeLessThanOrEqual(m.joinedSecondsAgo + 1);
  }
}

describe('json_list / xml_list parsing (fixture replies)', () => {
  it('parses the tab-formatted cJSON of `conference demo json_list`', () => {
    const [conf, ...rest] = parseJsonList(replyTo(CONTROL, 'conference demo json_list'));
    expect(rest).toEqual([]);
    expect(conf!.name).toBe('demo');
    expect(conf!.uuid).toBe('b6463fe1-a95a-4233-a3b5-bcdc587b77c4');
    expect(conf!.memberCount).toBe(3);
    expect(conf!.runTimeSeconds).toBe(7);
    expect(conf!.members.map((m) => [m.memberId, m.callerIdName, m.callerIdNumber, m.isModerator, m.talking, m.floor])).toEqual([
      [3, 'Bob', '1003', false, true, true],
      [2, 'Alice', '1002', false, false, false],
      [1, 'Moderator', '1001', true, false, false],
    ]);
    expect(conf!.members[0]!.callId).toBe('6c8c0670-831f-43bd-bce9-2a404f9d2938');
  });

  it('parses xml_list into the same shape, including N/A last_talking and volumes', () => {
    const [conf] = parseXmlList(replyTo(CONTROL, 'conference demo xml_list'));
    expect(conf!.uuid).toBe('b6463fe1-a95a-4233-a3b5-bcdc587b77c4');
    expect(conf!.runTimeSeconds).toBe(27);
    const alice = conf!.members.find((m) => m.memberId === 2)!;
    expect(alice).toMatchObject({ callerIdName: 'Alice', energyLevel: 300, volumeIn: 2, volumeOut: -1, lastTalking: undefined });
    const json = parseJsonList(replyTo(CONTROL, 'conference demo json_list'))[0]!;
    expect(conf!.members.map((m) => m.callId)).toEqual(json.members.map((m) => m.callId));
  });

  it('reads "no conferences" in every form FreeSWITCH uses', () => {
    expect(parseJsonList('[]')).toEqual([]);
    expect(parseJsonList('[]\n')).toEqual([]);
    expect(parseJsonList(replyTo(CONTROL, 'conference list'))).toEqual([]); // "+OK No active conferences."
    expect(parseXmlList('')).toEqual([]);
  });

  it('maps an unknown conference to ConferenceNotFoundError and anything else to UnrecognizedReplyError', () => {
    const notFound = replyTo(CONTROL, 'conference nosuchconf list');
    expect(() => parseJsonList(notFound)).toThrow(ConferenceNotFoundError);
    expect(() => parseJsonList('-ERR nosuchcommand Command not found!')).toThrow(UnrecognizedReplyError);
    expect(() => parseJsonList('[{"conference_name": "x",')).toThrow(UnrecognizedReplyError);
    expect(() => parseXmlList('<nope/>')).toThrow(UnrecognizedReplyError);
  });
});

describe('ConferenceRegistry fed the demo-plain events', () => {
  it('matches what json_list said at run_time 7', () => {
    const listed = parseJsonList(replyTo(CONTROL, 'conference demo json_list'))[0]!;
    const { reg, nowMs } = registryAt(listed.runTimeSeconds);
    expectStateMatches(reg, listed, nowMs);
  });

  it('matches what xml_list said at run_time 27 (after mute/deaf/lock/energy/hold/record cycles)', () => {
    const listed = parseXmlList(replyTo(CONTROL, 'conference demo xml_list'))[0]!;
    const { reg, nowMs } = registryAt(listed.runTimeSeconds);
    expectStateMatches(reg, listed, nowMs);
    const alice = reg.participant('demo', 2)!;
    expect([alice.volumeIn, alice.volumeOut]).toEqual([2, -1]);
  });

  it('serves the seed _read_only view', () => {
    const { reg, nowMs } = registryAt(7);
    const view = reg.readOnlyView('demo', nowMs);
    expect(view).toMatchObject({ members: 2, admins: 1, moderators: 1, is_locked: false, focus: 'fs1' });
    expect(view.duration).toBe(7);
    const bob = view.participants.find((p) => p.participant_id === 3)!;
    expect(bob).toEqual({
      call_id: '6c8c0670-831f-43bd-bce9-2a404f9d2938',
      conference_name: 'demo',
      conference_uuid: 'b6463fe1-a95a-4233-a3b5-bcdc587b77c4',
      switch_hostname: 'vm',
      floor: true,
      hear: true,
      speak: true,
      talking: true,
      mute_detect: false,
      participant_id: 3,
      energy_level: 100,
      current_energy: 4152,
      video: false,
      is_moderator: false,
      join_time: 1795312646 + 62_167_219_200, // Gregorian seconds, as the seed
      duration: 4, // joined at …646.11, now is …651.07
    });
    expect(reg.readOnlyView('nosuch')).toEqual({ members: 0, admins: 0, moderators: 0, duration: 0, is_locked: false, participants: [] });
  });

  it('tracks lock and recording between their events', () => {
    const events = fixtureEvents('demo-plain');
    const reg = new ConferenceRegistry();
    for (const e of events) {
      reg.apply(e);
      if (e.action === 'lock') expect(reg.conference('demo')!.locked).toBe(true);
      if (e.action === 'unlock') expect(reg.conference('demo')!.locked).toBe(false);
      if (e.action === 'start-recording') {
        expect(reg.conference('demo')!.recordings).toEqual(['/srv/freeswitch/recording/demo-plain.wav']);
      }
      if (e.action === 'stop-recording') expect(reg.conference('demo')!.recording).toBe(false);
      if (e.action === 'hold-member') expect(reg.participant('demo', 2)!.hold).toBe(true);
      if (e.action === 'kick-member') expect(reg.participant('demo', 2)!.status).toBe('leaving');
    }
  });

  it('passes every received event straight through and ends empty, as `conference list` says', () => {
    const events = fixtureEvents('demo-plain');
    const reg = new ConferenceRegistry();
    const out = events.flatMap((e) => reg.apply(e));
    expect(out).toEqual(events);
    expect(reg.conferences()).toEqual([]);
    expect(reg.stats()).toEqual({ nodes: 1, conferences: 0, participants: 0, deduplicated: 0 });
  });

  it('moves the floor on floor-change, including to nobody', () => {
    const events = fixtureEvents('demo-plain');
    const reg = new ConferenceRegistry();
    const floorHolders: (number | undefined)[] = [];
    for (const e of events) {
      reg.apply(e);
      if (e.action === 'floor-change') floorHolders.push(reg.participants('demo').find((p) => p.floor)?.memberId);
    }
    expect(floorHolders).toEqual([1, 3, undefined, 1, undefined]);
  });
});

describe('ConferenceRegistry.apply edge cases', () => {
  it('learns a conference from any event when it missed the create (started late)', () => {
    const reg = new ConferenceRegistry();
    const m = member({ memberId: 7, callId: 'c7', channelVars: { account_id: 'acc' } });
    reg.apply(event('start-talking', { member: { ...m, talking: true } }));
    expect(reg.participant('room', 7)).toMatchObject({ callId: 'c7', talking: true, channelVars: { account_id: 'acc' } });
  });

  it('keeps channel variables when later events carry none', () => {
    const reg = new ConferenceRegistry();
    reg.apply(event('add-member', { member: member({ memberId: 1, callId: 'c1', channelVars: { account_id: 'acc' } }) }));
    reg.apply(event('mute-member', { member: member({ memberId: 1, callId: 'c1', speak: false }) }));
    expect(reg.participant('room', 'c1')).toMatchObject({ speak: false, channelVars: { account_id: 'acc' } });
  });

  it('replaces a conference re-created under the same name with synthesized leave events for the old one', () => {
    const reg = new ConferenceRegistry();
    reg.apply(event('conference-create', { uuid: 'old' }));
    reg.apply(event('add-member', { uuid: 'old', member: member({ memberId: 1, callId: 'c1' }) }));
    const out = reg.apply(event('conference-create', { uuid: 'new' }));
    expect(out.map((e) => [e.action, e.synthesized, e.conferenceUuid])).toEqual([
      ['del-member', true, 'old'],
      ['conference-destroy', true, 'old'],
      ['conference-create', false, 'new'],
    ]);
    expect(reg.participants('room')).toEqual([]);
  });

  it('says goodbye to participants still listed when their conference is destroyed', () => {
    const reg = new ConferenceRegistry();
    reg.apply(event('add-member', { member: member({ memberId: 1, callId: 'c1' }) }));
    const destroy = event('conference-destroy');
    expect(reg.apply(destroy).map((e) => [e.action, e.synthesized, e.member?.callId])).toEqual([
      ['del-member', true, 'c1'],
      ['conference-destroy', false, undefined],
    ]);
    expect(reg.conferences()).toEqual([]);
  });

  it('treats a member id now held by another call as a missed del-member', () => {
    const reg = new ConferenceRegistry();
    reg.apply(event('add-member', { member: member({ memberId: 1, callId: 'old-call' }) }));
    const out = reg.apply(event('add-member', { member: member({ memberId: 1, callId: 'new-call' }) }));
    expect(out.map((e) => [e.action, e.synthesized, e.member?.callId])).toEqual([
      ['del-member', true, 'old-call'],
      ['add-member', false, 'new-call'],
    ]);
    expect(reg.participants('room').map((p) => p.callId)).toEqual(['new-call']);
  });

  it('ignores a del-member for another membership of the same call', () => {
    const reg = new ConferenceRegistry();
    reg.apply(event('add-member', { member: member({ memberId: 5, callId: 'c1' }) }));
    reg.apply(event('del-member', { member: member({ memberId: 2, callId: 'c1' }) }));
    expect(reg.participant('room', 'c1')?.memberId).toBe(5);
  });
});

describe('ConferenceRegistry.applySnapshot (resync diff)', () => {
  const NODE = 'fs1';

  function listedConf(uuid: string, members: ReturnType<typeof member>[], extra: Partial<ListedConference> = {}): ListedConference {
    return {
      name: 'room',
      uuid,
      memberCount: members.length,
      ghostCount: 0,
      rate: 8000,
      runTimeSeconds: 60,
      locked: false,
      recording: false,
      running: true,
      answered: true,
      dynamic: true,
      variables: {},
      members: members.map((m) => ({
        memberId: m.memberId,
        callId: m.callId,
        callerIdName: m.callerIdName,
        callerIdNumber: m.callerIdNumber,
        type: 'caller',
        hear: m.hear,
        see: m.see,
        speak: m.speak,
        hold: m.hold,
        muteDetect: m.muteDetect,
        talking: m.talking,
        video: m.video,
        floor: m.floor,
        isModerator: m.isModerator,
        ghost: m.ghost,
        endConference: false,
        joinedSecondsAgo: 30,
        lastTalking: undefined,
        energyLevel: m.energyLevel,
        volumeIn: 0,
        volumeOut: 0,
      })),
      ...extra,
    };
  }

  const alice = member({ memberId: 1, callId: 'call-a', callerIdName: 'Alice', isModerator: true, channelVars: { account_id: 'acc1' } });
  const bob = member({ memberId: 2, callId: 'call-b', callerIdName: 'Bob', floor: true, talking: true });
  const carol = member({ memberId: 3, callId: 'call-c', callerIdName: 'Carol' });

  function known(): ConferenceRegistry {
    const reg = new ConferenceRegistry({ quietWindowMs: 0 });
    reg.apply(event('conference-create', { uuid: 'u1' }));
    for (const m of [alice, bob, carol]) reg.apply(event('add-member', { uuid: 'u1', member: m }));
    return reg;
  }

  const summary = (out: ConferenceEvent[]): string[] =>
    out.map((e) => `${e.action}${e.member ? `:${e.member.memberId}/${e.member.callId}` : ''}`);

  it('changes nothing and says nothing when the snapshot equals what we knew', () => {
    const reg = known();
    expect(reg.applySnapshot(NODE, [listedConf('u1', [alice, bob, carol])])).toEqual([]);
  });

  it('emits del-member, with member id, caller id and flags, for a participant that left while away', () => {
    const reg = known();
    const out = reg.applySnapshot(NODE, [listedConf('u1', [alice, carol, { ...bob, floor: false, talking: false }].filter((m) => m.memberId !== 2))]);
    expect(summary(out)).toEqual(['del-member:2/call-b', 'floor-change']);
    expect(out[0]).toMatchObject({ synthesized: true, node: NODE, conferenceUuid: 'u1', switchname: 'fs1-switch' });
    expect(out[0]!.member).toMatchObject({ callerIdName: 'Bob', callerIdNumber: '1002', memberId: 2 });
    expect(out[0]!.headers).toMatchObject({ Action: 'del-member', 'Member-ID': '2', 'Unique-ID': 'call-b', 'Caller-Caller-ID-Name': 'Bob' });
    expect(out[1]!.details).toEqual({ 'Old-ID': 2, 'New-ID': 'none' });
    expect(reg.participants('room').map((p) => p.memberId)).toEqual([1, 3]);
  });

  it('emits add-member for a participant that joined while away, with its join time', () => {
    const reg = known();
    const dave = member({ memberId: 4, callId: 'call-d', callerIdName: 'Dave', callerIdNumber: '2004' });
    const out = reg.applySnapshot(NODE, [listedConf('u1', [alice, bob, carol, dave])], 1_000_000);
    expect(summary(out)).toEqual(['add-member:4/call-d']);
    expect(out[0]!.member).toMatchObject({ callerIdName: 'Dave', callerIdNumber: '2004' });
    expect(reg.participant('room', 'call-d')!.joinedAt).toBe(1_000_000 - 30_000);
  });

  it('emits the flag changes it finds, keeping channel variables', () => {
    const reg = known();
    const out = reg.applySnapshot(NODE, [
      listedConf('u1', [
        { ...alice, speak: false, hear: false },
        { ...bob, talking: false, floor: false, hold: true },
        { ...carol, floor: true, energyLevel: 300 },
      ]),
    ]);
    expect(summary(out)).toEqual([
      'mute-member:1/call-a',
      'deaf-member:1/call-a',
      'hold-member:2/call-b',
      'stop-talking:2/call-b',
      'energy-level-member:3/call-c',
      'floor-change:3/call-c',
    ]);
    expect(out[0]!.member!.channelVars).toEqual({ account_id: 'acc1' });
    expect(reg.participant('room', 1)).toMatchObject({ speak: false, hear: false, channelVars: { account_id: 'acc1' } });
    expect(reg.participant('room', 3)!.floor).toBe(true);
    expect(reg.participant('room', 2)!.floor).toBe(false);
  });

  it('emits lock/unlock and recording changes', () => {
    const reg = known();
    const out = reg.applySnapshot(NODE, [listedConf('u1', [alice, bob, carol], { locked: true, recording: true })]);
    expect(summary(out)).toEqual(['lock', 'start-recording']);
    expect(reg.conference('room')).toMatchObject({ locked: true, recording: true });
    expect(summary(reg.applySnapshot(NODE, [listedConf('u1', [alice, bob, carol])]))).toEqual(['unlock', 'stop-recording']);
  });

  it('destroys a conference gone while away, after del-member for everyone in it', () => {
    const reg = known();
    const out = reg.applySnapshot(NODE, []);
    expect(summary(out)).toEqual(['del-member:1/call-a', 'del-member:2/call-b', 'del-member:3/call-c', 'conference-destroy']);
    expect(out.every((e) => e.synthesized)).toBe(true);
    expect(out.at(-1)!.conferenceSize).toBe(0);
    expect(reg.conferences()).toEqual([]);
  });

  it('creates a conference that started while away, with its start time and members', () => {
    const reg = new ConferenceRegistry();
    const out = reg.applySnapshot(NODE, [listedConf('u9', [alice, bob], { locked: true })], 500_000);
    expect(summary(out)).toEqual(['conference-create', 'lock', 'add-member:1/call-a', 'add-member:2/call-b', 'floor-change:2/call-b']);
    expect(reg.conference('room')).toMatchObject({ uuid: 'u9', node: NODE, startedAt: 500_000 - 60_000, moderatorCount: 1, memberCount: 2 });
  });

  it('sees a FreeSWITCH restart (new conference uuid, member id 1 on another call) as leave + join', () => {
    const reg = known();
    const stranger = member({ memberId: 1, callId: 'call-x', callerIdName: 'Xavier' });
    const out = reg.applySnapshot(NODE, [listedConf('u2', [stranger])]);
    expect(summary(out)).toEqual([
      'del-member:1/call-a',
      'del-member:2/call-b',
      'del-member:3/call-c',
      'conference-destroy',
      'conference-create',
      'add-member:1/call-x',
    ]);
    expect(out[3]!.conferenceUuid).toBe('u1');
    expect(out[4]!.conferenceUuid).toBe('u2');
    expect(out[5]!.conferenceUuid).toBe('u2');
    expect(reg.participants('room').map((p) => [p.memberId, p.callId, p.callerIdName])).toEqual([[1, 'call-x', 'Xavier']]);
  });

  it('matches by call id, not member id, inside the same conference', () => {
    const reg = known();
    // Same uuid, but member id 1 is now another call and Alice came back as member 9.
    const stranger = member({ memberId: 1, callId: 'call-x' });
    const out = reg.applySnapshot(NODE, [listedConf('u1', [stranger, bob, carol, { ...alice, memberId: 9 }])]);
    expect(summary(out)).toEqual(['del-member:1/call-a', 'add-member:1/call-x', 'add-member:9/call-a']);
  });

  it('leaves other nodes alone', () => {
    const reg = known();
    reg.apply(event('add-member', { node: 'fs2', uuid: 'v1', member: member({ memberId: 1, callId: 'other' }) }));
    reg.applySnapshot(NODE, []);
    expect(reg.conferences().map((c) => c.node)).toEqual(['fs2']);
  });

  it('flushNode says goodbye to everyone on the node', () => {
    const reg = known();
    const out = reg.flushNode(NODE);
    expect(summary(out)).toEqual(['del-member:1/call-a', 'del-member:2/call-b', 'del-member:3/call-c', 'conference-destroy']);
    expect(reg.stats().conferences).toBe(0);
  });

  it('passes received events that change nothing, and drops them (counted) only when asked to dedupe', () => {
    const reg = new ConferenceRegistry();
    reg.apply(event('conference-create', { uuid: 'u1' }));
    reg.apply(event('add-member', { uuid: 'u1', member: bob }));
    reg.apply(event('add-member', { uuid: 'u1', member: carol }));
    reg.applySnapshot(NODE, [listedConf('u1', [])]); // both left while away: synthesized del-members
    // Right after a snapshot, a received no-op still reaches consumers: FreeSWITCH said it.
    const undeaf = event('undeaf-member', { uuid: 'u1', member: { ...bob, memberId: 7, callId: 'call-x' } });
    reg.apply(event('add-member', { uuid: 'u1', member: { ...bob, memberId: 7, callId: 'call-x' } }));
    expect(reg.apply(undeaf)).toEqual([undeaf]);
    // With dedupe (the resync's buffered events), a no-op state event is dropped and counted…
    const lateDel = event('del-member', { uuid: 'u1', member: bob });
    expect(reg.apply(lateDel, { dedupe: true })).toEqual([]);
    expect(reg.stats().deduplicated).toBe(1);
    // …a real change passes…
    const mute = event('mute-member', { uuid: 'u1', member: { ...bob, memberId: 7, callId: 'call-x', speak: false } });
    expect(reg.apply(mute, { dedupe: true })).toEqual([mute]);
    // …and a non-state event always passes.
    const dtmf = event('dtmf-member', { uuid: 'u1', member: { ...bob, memberId: 7, callId: 'call-x', speak: false }, headers: { Digits: '1' } });
    expect(reg.apply(dtmf, { dedupe: true })).toEqual([dtmf]);
    expect(reg.apply(lateDel)).toEqual([lateDel]); // without dedupe the same no-op passes
    expect(reg.stats().deduplicated).toBe(1);
  });

  it('applyEach tells what apply returns, in the same order, and lets a listener apply another event', () => {
    // The same event objects for both registries (applying does not change an event).
    const script: { e: ConferenceEvent; dedupe?: boolean }[] = [
      { e: event('conference-create', { uuid: 'u1' }) },
      { e: event('add-member', { uuid: 'u1', member: bob }) },
      { e: event('add-member', { uuid: 'u1', member: carol }) },
      // Carol's member id now held by another call (missed del-member): a synthesized del-member first.
      { e: event('add-member', { uuid: 'u1', member: { ...carol, callId: 'call-z' } }) },
      // A new instance under the same name: the old one is dropped (synthesized), then the event.
      { e: event('add-member', { uuid: 'u2', member: bob }) },
      { e: event('del-member', { uuid: 'u2', member: carol }), dedupe: true }, // no-op, deduplicated
      ...fixtureEvents('demo-plain').map((e) => ({ e })),
    ];
    const viaApply = new ConferenceRegistry({ now: () => 1_000 });
    const returned = script.flatMap(({ e, dedupe }) => viaApply.apply(e, dedupe ? { dedupe } : undefined));
    const viaEach = new ConferenceRegistry({ now: () => 1_000 });
    const told: ConferenceEvent[] = [];
    for (const { e, dedupe } of script) viaEach.applyEach(e, dedupe ? { dedupe } : undefined, (ev) => told.push(ev));
    expect(told.map((e) => `${e.action}:${e.member?.memberId ?? ''}/${e.member?.callId ?? ''}:${e.synthesized}`)).toEqual(
      returned.map((e) => `${e.action}:${e.member?.memberId ?? ''}/${e.member?.callId ?? ''}:${e.synthesized}`),
    );
    expect(told.filter((e) => e.synthesized).length).toBeGreaterThan(1);
    expect(viaEach.stats()).toEqual(viaApply.stats());
    expect(viaEach.conferences()).toEqual(viaApply.conferences());

    // A listener that applies an event while being told: each call tells its own events, none lost or repeated.
    const reg = new ConferenceRegistry();
    reg.apply(event('add-member', { uuid: 'u1', member: bob }));
    const seen: string[] = [];
    const nested = event('add-member', { uuid: 'u9', member: carol });
    reg.applyEach(event('add-member', { uuid: 'u2', member: bob }), undefined, (ev) => {
      seen.push(`${ev.action}:${ev.conferenceUuid}`);
      if (seen.length === 1) reg.applyEach(nested, undefined, (inner) => seen.push(`nested ${inner.action}:${inner.conferenceUuid}`));
    });
    expect(seen).toEqual([
      'del-member:u1',
      'nested del-member:u2',
      'nested conference-destroy:u2',
      'nested add-member:u9',
      'conference-destroy:u1',
      'add-member:u2',
    ]);
  });

  it('lists the call legs a snapshot would add, and uses channel variables filled in for them', () => {
    const reg = known();
    // Bob: same call under a new member id (left and came back); Dave: new; Alice: known.
    const listing = [listedConf('u1', [alice, { ...bob, memberId: 12 }, member({ memberId: 9, callId: 'call-d' })])];
    expect(reg.unknownMembers(NODE, listing).map((m) => m.callId)).toEqual(['call-b', 'call-d']);
    const dave = listing[0]!.members[2]!;
    dave.channelVars = { account_id: 'acc-1' };
    dave.channelName = 'loopback/dave-b';
    const out = reg.applySnapshot(NODE, listing);
    const add = out.find((e) => e.action === 'add-member' && e.member!.callId === 'call-d')!;
    expect(add.member!.channelVars).toEqual({ account_id: 'acc-1' });
    expect(add.headers['variable_account_id']).toBe('acc-1');
    expect(reg.participant('room', 'call-d')!.channelName).toBe('loopback/dave-b');
  });
});

describe('resync diffs are a faithful story (property)', () => {
  const flags = fc.record({
    hear: fc.boolean(),
    speak: fc.boolean(),
    talking: fc.boolean(),
    hold: fc.boolean(),
    isModerator: fc.boolean(),
    energyLevel: fc.constantFrom(100, 300),
    callerIdName: fc.constantFrom('A', 'B'),
  });
  /** A node snapshot: conferences with distinct names; a call is in one conference at most; one floor. */
  const snapshot = fc
    .array(
      fc.record({
        name: fc.constantFrom('r1', 'r2', 'r3'),
        uuid: fc.constantFrom('u1', 'u2'),
        locked: fc.boolean(),
        members: fc.uniqueArray(fc.record({ memberId: fc.integer({ min: 1, max: 6 }), call: fc.integer({ min: 1, max: 8 }), f: flags, floor: fc.boolean() }), {
          selector: (m) => m.memberId,
          maxLength: 5,
        }),
      }),
      { maxLength: 3 },
    )
    .map((confs) => {
      const seenNames = new Set<string>();
      const seenCalls = new Set<number>();
      const out: ListedConference[] = [];
      for (const c of confs) {
        if (seenNames.has(c.name)) continue;
        seenNames.add(c.name);
        const members = c.members.filter((m) => !seenCalls.has(m.call));
        members.forEach((m) => seenCalls.add(m.call));
        let floorGiven = false;
        out.push({
          name: c.name,
          uuid: `${c.name}-${c.uuid}`,
          memberCount: members.length,
          ghostCount: 0,
          rate: 8000,
          runTimeSeconds: 10,
          locked: c.locked,
          recording: false,
          running: true,
          answered: true,
          dynamic: true,
          variables: {},
          members: members.map((m) => {
            const floor = m.floor && !floorGiven;
            floorGiven ||= floor;
            return {
              memberId: m.memberId,
              callId: `call-${m.call}`,
              callerIdName: m.f.callerIdName,
              callerIdNumber: '100',
              type: 'caller',
              hear: m.f.hear,
              see: true,
              speak: m.f.speak,
              hold: m.f.hold,
              muteDetect: false,
              talking: m.f.talking,
              video: false,
              floor,
              isModerator: m.f.isModerator,
              ghost: false,
              endConference: false,
              joinedSecondsAgo: 5,
              lastTalking: undefined,
              energyLevel: m.f.energyLevel,
              volumeIn: 0,
              volumeOut: 0,
            };
          }),
        });
      }
      return out;
    });

  const stateOf = (reg: ConferenceRegistry): string[] =>
    reg
      .conferences()
      .flatMap((c) => [
        `${c.name}|${c.uuid}|locked=${c.locked}`,
        ...reg
          .participants(c.name)
          .map((p) => `${c.name}|${p.memberId}|${p.callId}|${p.callerIdName}|${p.hear}|${p.speak}|${p.talking}|${p.hold}|${p.floor}|${p.isModerator}|${p.energyLevel}`),
      ])
      .sort();

  type Field = 'hear' | 'speak' | 'talking' | 'hold' | 'isModerator' | 'energyLevel' | 'callerIdName' | 'floor';
  const step = fc.record({
    flips: fc.array(
      fc.record({ idx: fc.nat(), field: fc.constantFrom<Field>('hear', 'speak', 'talking', 'hold', 'isModerator', 'energyLevel', 'callerIdName', 'floor') }),
      { maxLength: 4 },
    ),
    drops: fc.array(fc.nat(), { maxLength: 2 }),
    adds: fc.array(fc.record({ conf: fc.nat(), memberId: fc.integer({ min: 1, max: 9 }) }), { maxLength: 2 }),
    lock: fc.option(fc.nat(), { freq: 3 }),
    restart: fc.option(fc.nat(), { freq: 6 }),
  });

  /** The next snapshot: the previous one with members flipped, dropped, added; maybe a conference restarted. */
  function mutate(prev: ListedConference[], st: typeof step extends fc.Arbitrary<infer T> ? T : never, n: number): ListedConference[] {
    const next: ListedConference[] = prev.map((c) => ({ ...c, members: c.members.map((m) => ({ ...m })) }));
    const all = next.flatMap((c) => c.members.map((m) => ({ c, m })));
    for (const f of st.flips) {
      if (all.length === 0) break;
      const { c, m } = all[f.idx % all.length]!;
      if (f.field === 'floor') c.members.forEach((o) => (o.floor = o === m ? !m.floor : false));
      else if (f.field === 'energyLevel') m.energyLevel = m.energyLevel === 100 ? 300 : 100;
      else if (f.field === 'callerIdName') m.callerIdName = m.callerIdName === 'A' ? 'B' : 'A';
      else m[f.field] = !m[f.field];
    }
    for (const d of st.drops) {
      const conf = next[d % Math.max(1, next.length)];
      if (conf && conf.members.length > 0) conf.members.splice(d % conf.members.length, 1);
    }
    st.adds.forEach((a, i) => {
      const conf = next[a.conf % Math.max(1, next.length)];
      if (!conf) return;
      conf.members = conf.members.filter((m) => m.memberId !== a.memberId); // ids are unique in a conference
      conf.members.push({ ...conf.members[0]!, ...baseMember, memberId: a.memberId, callId: `new-${n}-${i}` });
    });
    if (st.lock !== null && next.length > 0) next[st.lock % next.length]!.locked = !next[st.lock % next.length]!.locked;
    if (st.restart !== null && next.length > 0) {
      const conf = next[st.restart % next.length]!;
      conf.uuid = `${conf.name}-restart-${n}`;
    }
    for (const c of next) c.memberCount = c.members.length;
    return next;
  }

  const baseMember = {
    callerIdName: 'A',
    callerIdNumber: '100',
    type: 'caller',
    hear: true,
    see: true,
    speak: true,
    hold: false,
    muteDetect: false,
    talking: false,
    video: false,
    floor: false,
    isModerator: false,
    ghost: false,
    endConference: false,
    joinedSecondsAgo: 5,
    lastTalking: undefined,
    energyLevel: 100,
    volumeIn: 0,
    volumeOut: 0,
  };

  it('a consumer applying the emitted events ends where json_list says, whatever changed while away', () => {
    fc.assert(
      fc.property(snapshot, fc.array(step, { minLength: 1, maxLength: 5 }), (first, steps) => {
        const reg = new ConferenceRegistry({ quietWindowMs: 0 });
        const consumer = new ConferenceRegistry({ quietWindowMs: 0 });
        let snap = first;
        for (let n = 0; n <= steps.length; n++) {
          if (n > 0) snap = mutate(snap, steps[n - 1]!, n);
          for (const ev of reg.applySnapshot('fs1', snap, 1_000_000)) {
            expect(ev.synthesized).toBe(true);
            consumer.apply(ev);
          }
          const fresh = new ConferenceRegistry();
          fresh.applySnapshot('fs1', snap, 1_000_000);
          expect(stateOf(reg)).toEqual(stateOf(fresh));
          expect(stateOf(consumer)).toEqual(stateOf(fresh));
          // And the same snapshot again says nothing.
          expect(reg.applySnapshot('fs1', snap, 1_000_000)).toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('a listing with values FreeSWITCH could not have sent', () => {
  it('applies the rest of it: the conference named with a space and the member with id -1 are left out', () => {
    const listing = JSON.stringify([
      { conference_name: 'my room', conference_uuid: 'u0', members: [{ id: 1, uuid: 'c0', type: 'caller', flags: {} }] },
      {
        conference_name: 'good',
        conference_uuid: 'u1',
        members: [
          { id: 1, uuid: 'c1', type: 'caller', caller_id_name: 'Alice', flags: { can_hear: true, can_speak: true } },
          { id: -1, uuid: 'c2', type: 'caller', flags: {} },
          { id: 1e20, uuid: 'c3', type: 'caller', flags: {} },
        ],
      },
    ]);
    const refused: string[] = [];
    const listed = parseJsonList(listing, 'conference json_list', (r) => refused.push(`${r.dropped} ${r.field} ${r.value}`));
    const reg = new ConferenceRegistry({ now: () => 1_000_000 });
    const out = reg.applySnapshot('fs1', listed, 1_000_000);
    expect(reg.conferences().map((c) => c.name)).toEqual(['good']);
    expect(reg.participants('good').map((p) => [p.memberId, p.callId, p.callerIdName])).toEqual([[1, 'c1', 'Alice']]);
    expect(out.map((e) => `${e.action}:${e.conferenceName}`)).toEqual(['conference-create:good', 'add-member:good']);
    expect(refused).toEqual(['conference conference_name "my room"', 'member id "-1"', 'member id "100000000000000000000"']);
  });

  it('applies the events around a refused one', () => {
    const reg = new ConferenceRegistry();
    const refused: string[] = [];
    const headers = (id: string, callId: string): Record<string, string> => ({
      'Event-Name': 'CUSTOM',
      'Event-Subclass': 'conference::maintenance',
      'Conference-Name': 'room',
      'Conference-Unique-ID': 'u1',
      Action: 'add-member',
      'Member-ID': id,
      'Unique-ID': callId,
    });
    for (const [id, callId] of [['1', 'c1'], ['-1', 'c2'], ['1e20', 'c3'], ['abc', 'c4'], ['2', 'c5']] as const) {
      const ev = parseConferenceEvent({ name: 'CUSTOM', subclass: 'conference::maintenance', headers: headers(id, callId), body: '' }, 'fs1', (r) =>
        refused.push(r.value),
      );
      if (ev) reg.apply(ev);
    }
    expect(reg.participants('room').map((p) => [p.memberId, p.callId])).toEqual([
      [1, 'c1'],
      [2, 'c5'],
    ]);
    expect(refused).toEqual(['"-1"', '"1e20"', '"abc"']);
  });
});
