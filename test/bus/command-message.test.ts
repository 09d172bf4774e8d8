import { describe, expect, it } from 'vitest';
import { buildReply, parseCommandMessage, toReplyError } from '../../src/bus/command-message.js';
import { InvalidCommandMessageError } from '../../src/bus/errors.js';
import { MemberNotFoundError } from '../../src/conference/errors.js';

const key = 'conference.command.room%2E1';
const kazoo = (fields: Record<string, unknown>) =>
  JSON.stringify({ 'Event-Category': 'conference', 'Event-Name': 'command', 'Conference-ID': 'c1', ...fields });

describe('parseCommandMessage: Kazoo kapi_conference form', () => {
  it.each([
    [{ 'Application-Name': 'mute_participant', 'Participant-ID': 3 }, { kind: 'mute', conference: 'c1', target: 3 }],
    [{ 'Application-Name': 'unmute_participant', 'Participant-ID': '4' }, { kind: 'unmute', conference: 'c1', target: 4 }],
    [{ 'Application-Name': 'deaf_participant', 'Participant-ID': 'all' }, { kind: 'deaf', conference: 'c1', target: 'all' }],
    [{ 'Application-Name': 'undeaf_participant', 'Participant-ID': 'non_moderator' }, { kind: 'undeaf', conference: 'c1', target: 'non_moderator' }],
    [{ 'Application-Name': 'kick', 'Participant-ID': 7 }, { kind: 'hup', conference: 'c1', target: 7 }],
    [{ 'Application-Name': 'kick' }, { kind: 'hup', conference: 'c1', target: 'last' }],
    [{ 'Application-Name': 'lock' }, { kind: 'lock', conference: 'c1' }],
    [{ 'Application-Name': 'unlock' }, { kind: 'unlock', conference: 'c1' }],
    [{ 'Application-Name': 'play', 'Media-Name': 'tone_stream://%(100,0,440)' }, { kind: 'play', conference: 'c1', file: 'tone_stream://%(100,0,440)' }],
    [{ 'Application-Name': 'play', 'Media-Name': '/tmp/a.wav', 'Participant-ID': 2 }, { kind: 'play', conference: 'c1', file: '/tmp/a.wav', member: 2 }],
    [{ 'Application-Name': 'stop_play' }, { kind: 'stop', conference: 'c1', which: 'all' }],
    [{ 'Application-Name': 'stop_play', Affects: 'current', 'Participant-ID': 5 }, { kind: 'stop', conference: 'c1', which: 'current', member: 5 }],
    [{ 'Application-Name': 'record', 'Media-Name': '/rec/x.wav' }, { kind: 'record', conference: 'c1', path: '/rec/x.wav' }],
    [{ 'Application-Name': 'recordstop', 'Media-Name': '/rec/x.wav' }, { kind: 'norecord', conference: 'c1', path: '/rec/x.wav' }],
    [{ 'Application-Name': 'participant_energy', 'Participant-ID': 1, 'Energy-Level': '300' }, { kind: 'energy', conference: 'c1', target: 1, value: 300 }],
    [{ 'Application-Name': 'participant_volume_in', 'Participant-ID': 1, 'Volume-In-Level': -2 }, { kind: 'volume_in', conference: 'c1', target: 1, value: -2 }],
    [{ 'Application-Name': 'participant_volume_out', 'Participant-ID': 1, 'Volume-Out-Level': 3 }, { kind: 'volume_out', conference: 'c1', target: 1, value: 3 }],
    [{ 'Application-Name': 'relate_participants', 'Participant-ID': 1, 'Other-Participant': '2', Relationship: 'mute' }, { kind: 'relate', conference: 'c1', member: 1, other: 2, relation: 'nospeak' }],
    [{ 'Application-Name': 'relate_participants', 'Participant-ID': 1, 'Other-Participant': 2, Relationship: 'deaf' }, { kind: 'relate', conference: 'c1', member: 1, other: 2, relation: 'nohear' }],
    [{ 'Application-Name': 'relate_participants', 'Participant-ID': 1, 'Other-Participant': 2 }, { kind: 'relate', conference: 'c1', member: 1, other: 2, relation: 'clear' }],
  ])('%j', (fields, expected) => {
    const parsed = parseCommandMessage(kazoo(fields), key);
    expect(parsed.commands).toEqual([expected]);
    expect(parsed.bulk).toBe(false);
    expect(parsed.application).toBe(fields['Application-Name']);
  });

  it('bulk: a Participant-ID list gives one command per id, in order', () => {
    const parsed = parseCommandMessage(kazoo({ 'Application-Name': 'mute_participant', 'Participant-ID': [3, '4', 'last'], 'Msg-ID': 'm1' }), key);
    expect(parsed.bulk).toBe(true);
    expect(parsed.msgId).toBe('m1');
    expect(parsed.commands.map((c) => ('target' in c ? c.target : undefined))).toEqual([3, 4, 'last']);
  });

  it('takes the conference from the routing key when Conference-ID is absent', () => {
    const parsed = parseCommandMessage(JSON.stringify({ 'Application-Name': 'lock' }), key);
    expect(parsed.commands).toEqual([{ kind: 'lock', conference: 'room.1' }]);
  });

  it.each([
    ['not json', /not JSON/],
    ['[1,2]', /JSON object/],
    ['null', /JSON object/],
    [kazoo({ 'Application-Name': 'explode' }), /Application-Name/],
    [kazoo({ 'Application-Name': 'mute_participant' }), /requires Participant-ID/],
    [kazoo({ 'Application-Name': 'mute_participant', 'Participant-ID': -1 }), /Participant-ID/],
    [kazoo({ 'Application-Name': 'mute_participant', 'Participant-ID': 'someone' }), /Participant-ID/],
    [kazoo({ 'Application-Name': 'participant_energy', 'Participant-ID': 1 }), /requires Energy-Level/],
    [kazoo({ 'Application-Name': 'play' }), /requires Media-Name/],
    [kazoo({ 'Application-Name': 'play', 'Media-Name': 'x', 'Participant-ID': 'all' }), /numeric Participant-ID/],
    [kazoo({ 'Application-Name': 'relate_participants', 'Participant-ID': 1, 'Other-Participant': 2, Relationship: 'hug' }), /Relationship/],
    [kazoo({ 'Application-Name': 'lock', 'Event-Name': 'other' }), /Event-Name/],
    [JSON.stringify({ 'Application-Name': 'lock' }), /Conference-ID is required/],
  ])('rejects %s', (body, message) => {
    const routing = body.includes('Conference-ID') || !body.startsWith('{') ? key : 'conference.command';
    expect(() => parseCommandMessage(body, routing)).toThrow(InvalidCommandMessageError);
    expect(() => parseCommandMessage(body, routing)).toThrow(message);
  });
});

describe('parseCommandMessage: confmgr form', () => {
  it('accepts a ConferenceCommand, filling conference from the key', () => {
    expect(parseCommandMessage(JSON.stringify({ command: { kind: 'mute', target: 2 } }), key).commands).toEqual([
      { kind: 'mute', conference: 'room.1', target: 2 },
    ]);
    expect(parseCommandMessage(JSON.stringify({ command: { kind: 'get', conference: 'x', param: 'count' } }), key).commands).toEqual([
      { kind: 'get', conference: 'x', param: 'count' },
    ]);
  });

  it('accepts a list (bulk)', () => {
    const p = parseCommandMessage(JSON.stringify({ commands: [{ kind: 'lock' }, { kind: 'energy', target: 'all', value: 100 }] }), key);
    expect(p.bulk).toBe(true);
    expect(p.commands).toHaveLength(2);
  });

  it.each([
    [{ command: { kind: 'explode' } }],
    [{ command: { kind: 'mute' } }],
    [{ command: { kind: 'mute', target: 1, extra: true } }],
    [{ commands: [] }],
    [{ something: 1 }],
  ])('rejects %j', (body) => {
    expect(() => parseCommandMessage(JSON.stringify(body), key)).toThrow(InvalidCommandMessageError);
  });
});

describe('replies', () => {
  const result = { command: 'c1 mute 3', node: 'fs1', reply: 'OK mute 3' };
  it('success, error, bulk partial', () => {
    expect(buildReply([{ status: 'success', result }], { bulk: false, application: 'mute_participant' })).toEqual({
      status: 'success',
      result,
      'Event-Category': 'conference',
      'Event-Name': 'command_resp',
      'Application-Name': 'mute_participant',
    });
    const err = toReplyError(new MemberNotFoundError('c1', 3));
    expect(err.code).toBe('MEMBER_NOT_FOUND');
    const failed = buildReply([{ status: 'error', error: err }], { bulk: false });
    expect(failed).toMatchObject({ status: 'error', error: { code: 'MEMBER_NOT_FOUND' }, 'Event-Name': 'conference_error' });
    const bulk = buildReply([{ status: 'success', result }, { status: 'error', error: err }], { bulk: true });
    expect(bulk).toMatchObject({ status: 'error', error: { code: 'PARTIAL_FAILURE' }, results: [{ status: 'success' }, { status: 'error' }] });
    expect(toReplyError(new Error('boom'))).toEqual({ code: 'INTERNAL', message: 'boom' });
  });
});
