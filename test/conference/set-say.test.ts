/**
 * `set` and `say` / `saymember`: the api lines built for them, what is refused before the wire, and
 * how mod_conference's replies (conference_api_sub_set, conference_api_sub_say/saymember and the
 * dispatcher's usage line) are read.
 */
import { describe, expect, it } from 'vitest';
import { buildCommand, parseCommandLine } from '../../src/conference/commands.js';
import { CommandRejectedError, InvalidArgumentError, MemberNotFoundError } from '../../src/conference/errors.js';
import { parseReply } from '../../src/conference/replies.js';
import type { ConferenceCommand } from '../../src/conference/types.js';

describe('set', () => {
  it('builds `set <param> <value>` for max_members, caller_id_name and caller_id_number', () => {
    expect(buildCommand({ kind: 'set', conference: 'demo', param: 'max_members', value: '10' })).toBe('conference demo set max_members 10');
    expect(buildCommand({ kind: 'set', conference: 'demo', param: 'caller_id_name', value: 'Sales' })).toBe('conference demo set caller_id_name Sales');
    expect(parseCommandLine('conference demo set caller_id_number +15550100')).toEqual({ kind: 'set', conference: 'demo', param: 'caller_id_number', value: '+15550100' });
  });

  it('refuses other parameters, values with spaces, quotes or control characters, and a non-numeric max_members', () => {
    const bad: ConferenceCommand[] = [
      { kind: 'set', conference: 'demo', param: 'sound_prefix' as 'max_members', value: '/tmp' },
      { kind: 'set', conference: 'demo', param: 'caller_id_name', value: 'Sales Team' },
      { kind: 'set', conference: 'demo', param: 'caller_id_name', value: 'a\nb' },
      { kind: 'set', conference: 'demo', param: 'caller_id_name', value: "it's" },
      { kind: 'set', conference: 'demo', param: 'max_members', value: '-1' },
      { kind: 'set', conference: 'demo', param: 'max_members', value: '10 all' },
      { kind: 'set', conference: 'demo', param: 'max_members', value: '' },
    ];
    for (const c of bad) expect(() => buildCommand(c), JSON.stringify(c)).toThrow(InvalidArgumentError);
  });

  it('reads the previous value; the usage text is an error', () => {
    const c: ConferenceCommand = { kind: 'set', conference: 'demo', param: 'max_members', value: '5' };
    expect(parseReply(c, buildCommand(c), 'fs1', '0\n').data).toEqual({ param: 'max_members', previous: 0, value: 5 });
    const n: ConferenceCommand = { kind: 'set', conference: 'demo', param: 'caller_id_name', value: 'Sales' };
    expect(parseReply(n, buildCommand(n), 'fs1', 'Old').data).toEqual({ param: 'caller_id_name', previous: 'Old', value: 'Sales' });
    expect(parseReply(n, buildCommand(n), 'fs1', '-ERR no reply').data).toEqual({ param: 'caller_id_name', previous: '', value: 'Sales' });
    expect(() =>
      parseReply(c, buildCommand(c), 'fs1', 'set <max_members|sound_prefix|caller_id_name|caller_id_number|endconference_grace_time> <value>'),
    ).toThrow(InvalidArgumentError);
  });
});

describe('say / saymember', () => {
  it('builds `say <text>` and `saymember <id> <text>` (the text is the rest of the line)', () => {
    expect(buildCommand({ kind: 'say', conference: 'demo', text: 'Welcome to the call' })).toBe('conference demo say Welcome to the call');
    expect(buildCommand({ kind: 'say', conference: 'demo', text: 'Hi', member: 3 })).toBe('conference demo saymember 3 Hi');
    expect(parseCommandLine('demo saymember 3 Hello there')).toEqual({ kind: 'say', conference: 'demo', member: 3, text: 'Hello there' });
  });

  it('refuses line breaks, `$` (saymember expands channel variables), empty text, and names mod_conference would search the text in', () => {
    const bad: ConferenceCommand[] = [
      { kind: 'say', conference: 'demo', text: 'a\n\napi status' },
      { kind: 'say', conference: 'demo', text: '${uuid}' , member: 2 },
      { kind: 'say', conference: 'demo', text: '   ' },
      { kind: 'say', conference: 'demo', text: ' padded' },
      { kind: 'say', conference: 'essay-room', text: 'hello' },
      { kind: 'say', conference: 'saymember-room', text: 'hello', member: 2 },
      { kind: 'say', conference: 'demo', text: 'x'.repeat(1025) },
    ];
    for (const c of bad) expect(() => buildCommand(c), JSON.stringify(c)).toThrow(InvalidArgumentError);
  });

  it('reads `(say) OK` / `(saymember) OK`; errors (with the usage line the dispatcher appends) are typed', () => {
    const say: ConferenceCommand = { kind: 'say', conference: 'demo', text: 'hi' };
    const member: ConferenceCommand = { kind: 'say', conference: 'demo', text: 'hi', member: 7 };
    expect(parseReply(say, buildCommand(say), 'fs1', '(say) OK\n').data).toEqual({ text: 'hi' });
    expect(parseReply(member, buildCommand(member), 'fs1', '(saymember) OK\n').data).toEqual({ text: 'hi', member: 7 });
    expect(() => parseReply(member, buildCommand(member), 'fs1', '(saymember) Unknown Member 7!\nsaymember <member_id> <text>')).toThrow(MemberNotFoundError);
    expect(() => parseReply(say, buildCommand(say), 'fs1', '(say) Error!\nsay <text>')).toThrow(CommandRejectedError);
    expect(() => parseReply(say, buildCommand(say), 'fs1', '(saymember) OK')).toThrow();
  });
});
