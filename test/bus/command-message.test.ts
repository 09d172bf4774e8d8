import { describe, expect, it } from 'vitest';
import { buildReply, encodeReply, MAX_BULK_COMMANDS, parseCommandMessage, toReplyError, type CommandReply, type ItemOutcome } from '../../src/bus/command-message.js';
import { CommandMessageTooLargeError, InvalidCommandMessageError, UnparsableCommandMessageError } from '../../src/bus/errors.js';
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

describe('bounds: one message can only cause bounded work', () => {
  it('refuses a body over the size cap before parsing it (default 256 KiB)', () => {
    expect(() => parseCommandMessage(`{"x":"${'a'.repeat(256 * 1024)}"}`, key)).toThrow(CommandMessageTooLargeError);
    const body = kazoo({ 'Application-Name': 'lock' });
    expect(() => parseCommandMessage(body, key, { maxBodyBytes: body.length - 1 })).toThrow(CommandMessageTooLargeError);
    expect(() => parseCommandMessage('x'.repeat(100), key, { maxBodyBytes: 10 })).toThrow(/100 bytes; at most 10/);
    expect(parseCommandMessage(body, key, { maxBodyBytes: body.length }).commands).toHaveLength(1);
  });

  it('marks bodies that are not a JSON object as unparsable (dead-lettered by the intake)', () => {
    expect(() => parseCommandMessage('{nope', key)).toThrow(UnparsableCommandMessageError);
    expect(() => parseCommandMessage('[1]', key)).toThrow(UnparsableCommandMessageError);
    expect(() => parseCommandMessage(kazoo({ 'Application-Name': 'dance' }), key)).not.toThrow(UnparsableCommandMessageError);
  });

  it('caps lists at MAX_BULK_COMMANDS in both forms', () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    expect(parseCommandMessage(kazoo({ 'Application-Name': 'mute_participant', 'Participant-ID': ids(MAX_BULK_COMMANDS) }), key).commands).toHaveLength(MAX_BULK_COMMANDS);
    expect(() => parseCommandMessage(kazoo({ 'Application-Name': 'mute_participant', 'Participant-ID': ids(MAX_BULK_COMMANDS + 1) }), key)).toThrow(/at most 1000/);
    const cmds = (n: number) => JSON.stringify({ commands: Array.from({ length: n }, () => ({ kind: 'lock' })) });
    expect(parseCommandMessage(cmds(MAX_BULK_COMMANDS), key).commands).toHaveLength(MAX_BULK_COMMANDS);
    expect(() => parseCommandMessage(cmds(MAX_BULK_COMMANDS + 1), key)).toThrow(/at most 1000/);
  });

  it.each([
    [kazoo({ 'Application-Name': 'lock', 'Conference-ID': 'c'.repeat(257) })],
    [kazoo({ 'Application-Name': 'lock', 'Msg-ID': 'm'.repeat(257) })],
    [kazoo({ 'Application-Name': 'lock', 'Account-ID': 'a'.repeat(257) })],
    [kazoo({ 'Application-Name': 'play', 'Media-Name': 'f'.repeat(2049) })],
    [kazoo({ 'Application-Name': 'mute_participant', 'Participant-ID': '1'.repeat(13) })],
    [kazoo({ 'Application-Name': 'participant_energy', 'Participant-ID': 1, 'Energy-Level': '9'.repeat(13) })],
    [JSON.stringify({ command: { kind: 'lock', conference: 'c'.repeat(257) } })],
    [JSON.stringify({ command: { kind: 'dtmf', target: 1, digits: '1'.repeat(2049) } })],
    [JSON.stringify({ command: { kind: 'record', path: 'p'.repeat(2049) } })],
    [JSON.stringify({ command: { kind: 'get', param: 'p'.repeat(2049) } })],
    [JSON.stringify({ command: { kind: 'lock' }, 'Account-ID': 'a'.repeat(257) })],
  ])('refuses an over-long string: %#', (body) => {
    expect(() => parseCommandMessage(body, key)).toThrow(InvalidCommandMessageError);
  });

  it('keeps the text of a validation error short however many unknown keys there are', () => {
    const keys = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`unknown_key_${i}`, 1]));
    try {
      parseCommandMessage(JSON.stringify({ command: { kind: 'lock' }, ...keys }), key);
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message.length).toBeLessThan(800);
    }
  });

  it('reads Account-ID in both forms', () => {
    expect(parseCommandMessage(kazoo({ 'Application-Name': 'lock', 'Account-ID': 'acct1' }), key).accountId).toBe('acct1');
    expect(parseCommandMessage(JSON.stringify({ command: { kind: 'lock' }, 'Account-ID': 'acct2' }), key).accountId).toBe('acct2');
    expect(parseCommandMessage(JSON.stringify({ commands: [{ kind: 'lock' }], 'Account-ID': 'acct3' }), key).accountId).toBe('acct3');
    expect(parseCommandMessage(kazoo({ 'Application-Name': 'lock' }), key).accountId).toBeUndefined();
  });
});

describe('encodeReply: replies are capped, never built whole', () => {
  const result = { command: 'c1 mute 3', node: 'fs1', reply: 'OK mute 3' };
  const outcomes = (n: number): ItemOutcome[] =>
    Array.from({ length: n }, (_, i) => (i % 3 === 0 ? { status: 'error', error: { code: 'MEMBER_NOT_FOUND', message: `member ${i} not found` } } : { status: 'success', result }));

  it('a reply under the cap is exactly the reply', () => {
    const bulk = buildReply(outcomes(5), { bulk: true, msgId: 'm1' });
    expect(JSON.parse(encodeReply(bulk, 1e6).toString())).toEqual(bulk);
    const one = buildReply([{ status: 'success', result }], { bulk: false, application: 'mute_participant' });
    expect(encodeReply(one, 1e6).toString()).toBe(JSON.stringify(one));
  });

  it('a bulk reply over the cap keeps the first outcomes that fit and a summary with counts', () => {
    const all = outcomes(1000);
    const bulk = buildReply(all, { bulk: true, application: 'mute_participant' });
    const body = encodeReply(bulk, 4000);
    expect(body.length).toBeLessThanOrEqual(4000);
    const r = JSON.parse(body.toString()) as CommandReply;
    expect(r).toMatchObject({ status: 'error', truncated: true, error: { code: 'PARTIAL_FAILURE' }, 'Application-Name': 'mute_participant' });
    expect(r.summary).toEqual({ total: 1000, succeeded: 666, failed: 334, included: r.results!.length });
    expect(r.results!.length).toBeGreaterThan(10);
    expect(r.results).toEqual(all.slice(0, r.results!.length));
  });

  it('a single reply over the cap becomes REPLY_TOO_LARGE, saying whether the command succeeded', () => {
    const big = buildReply([{ status: 'success', result: { ...result, reply: 'x'.repeat(10_000) } }], { bulk: false, msgId: 'm2' });
    const r = JSON.parse(encodeReply(big, 1000).toString()) as CommandReply;
    expect(r).toMatchObject({ status: 'error', 'Event-Name': 'conference_error', 'Msg-ID': 'm2', error: { code: 'REPLY_TOO_LARGE', details: { commandStatus: 'success', limit: 1000 } } });
    expect(r.result).toBeUndefined();
  });
});
