import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/conference/commands.js';
import {
  CommandRejectedError,
  ConferenceNotFoundError,
  InvalidArgumentError,
  MemberNotFoundError,
  UnrecognizedReplyError,
} from '../../src/conference/errors.js';
import { NO_OUTPUT_REPLY, REPLY_ERRORS, parseReply, type ListedMember } from '../../src/conference/replies.js';
import type { CommandResult, ConferenceCommand } from '../../src/conference/types.js';
import { readApiExchanges } from '../helpers/conference-api-replies.js';

const exchanges = readApiExchanges();
/** The body FreeSWITCH sent for the first exchange whose command is exactly `command`. */
function replyTo(command: string, scenario = 'demo-plain', nth = 0): string {
  const found = exchanges.filter((e) => e.scenario === scenario && e.command === command)[nth];
  if (!found) throw new Error(`no fixture exchange for ${command}`);
  return found.frame.body;
}
function parse(line: string, body = replyTo(line)): CommandResult {
  return parseReply(parseCommandLine(line), line, 'fs1', body);
}
function fails(line: string, body: string, command?: ConferenceCommand): unknown {
  try {
    parseReply(command ?? parseCommandLine(line), line, 'fs1', body);
  } catch (err) {
    return err;
  }
  throw new Error(`expected ${line} with ${JSON.stringify(body)} to fail`);
}

describe('every conference reply of the fixtures is recognised', () => {
  const confExchanges = exchanges.filter(
    (e) => e.kind === 'api' && /^conference (?!list$)\S+ /.test(e.command) && !/ (xml_list|frobnicate|mute)$/.test(e.command),
  );
  it('covers both runs', () => expect(confExchanges.length).toBeGreaterThan(70));
  it.each(confExchanges.map((e) => [e.scenario, e.command, e] as const))('%s: %s', (_s, command, e) => {
    const cmd = parseCommandLine(command);
    let outcome: unknown;
    try {
      outcome = parseReply(cmd, command, 'fs1', e.frame.body);
    } catch (err) {
      outcome = err;
    }
    expect(outcome).not.toBeInstanceOf(UnrecognizedReplyError);
    if (outcome instanceof Error) {
      // The fixtures' error cases, and nothing else, fail.
      expect(/nosuchconf| 999|floor 2$/.test(command)).toBe(true);
    } else {
      expect((outcome as CommandResult).command).toBe(command);
      expect((outcome as CommandResult).node).toBe('fs1');
      expect((outcome as CommandResult).reply).toBe(e.frame.body.trimEnd());
    }
  });
});

describe('typed data from real replies', () => {
  it('member actions report who was affected', () => {
    expect(parse('conference demo mute 2').data).toEqual({ affected: [{ member: 2, action: 'mute' }], skippedModerators: [] });
    expect(parse('conference demo kick 2').data).toEqual({ affected: [{ member: 2, action: 'kicked' }], skippedModerators: [] });
    expect(parse('conference demo tmute 2', replyTo('conference demo tmute 2', 'demo-plain', 1)).data).toEqual({
      affected: [{ member: 2, action: 'unmute' }],
      skippedModerators: [],
    });
    expect(parse('conference demo mute all').data).toEqual({
      affected: [3, 2, 1].map((member) => ({ member, action: 'mute' })),
      skippedModerators: [],
    });
    expect(parse('conference demo unmute non_moderator').data).toEqual({
      affected: [3, 2].map((member) => ({ member, action: 'unmute' })),
      skippedModerators: [1],
    });
    expect(parse('conference demo unmute last quiet').data).toEqual({ affected: [{ member: 3, action: 'unmute' }], skippedModerators: [] });
    expect(parse('conference demo hup all').data).toEqual({ affected: [{ member: 1, action: 'hup' }], skippedModerators: [] });
    expect(parse('conference demo hold 2').data).toEqual({ affected: [{ member: 2, action: 'hold' }], skippedModerators: [] });
  });

  it('levels: energy without +OK, volumes with it, set and read', () => {
    expect(parse('conference demo energy 2 300').data).toEqual({ levels: [{ member: 2, value: 300 }], value: 300 });
    expect(parse('conference demo energy 2').data).toEqual({ levels: [{ member: 2, value: 300 }], value: 300 });
    expect(parse('conference demo volume_in 2 2').data).toEqual({ levels: [{ member: 2, value: 2 }], value: 2 });
    expect(parse('conference demo volume_out 2 -1').data).toEqual({ levels: [{ member: 2, value: -1 }], value: -1 });
  });

  it('conference-level commands', () => {
    expect(parse('conference demo lock').data).toEqual({ locked: true });
    expect(parse('conference demo unlock').data).toEqual({ locked: false });
    expect(parse('conference demo count').data).toBe(3);
    expect(parse('conference demo get count').data).toBe(3);
    expect(parse('conference demo dtmf 2 123').data).toEqual({ affected: [{ member: 2, digits: '123' }], skippedModerators: [] });
    expect(parse('conference demo play tone_stream://%(400,0,800)').data).toEqual({ file: 'tone_stream://%(400,0,800)' });
    expect(parse('conference demo play tone_stream://%(400,0,1000) 2').data).toEqual({ file: 'tone_stream://%(400,0,1000)', member: 2 });
    expect(parse('conference demo record /srv/freeswitch/recording/demo-plain.wav').data).toEqual({
      path: '/srv/freeswitch/recording/demo-plain.wav',
    });
    expect(parse('conference demo norecord all').data).toEqual({
      stoppedFiles: ['/srv/freeswitch/recording/demo-plain.wav'],
      reported: 0,
    });
  });

  it('list lines become members; json_list is parsed JSON', () => {
    const listed = parse('conference demo list', replyTo('conference demo list', 'demo-plain', 1)).data as ListedMember[];
    expect(listed.map((m) => m.memberId)).toEqual([3, 2, 1]);
    expect(listed[1]).toEqual({
      memberId: 2,
      channelName: 'loopback/conf-demo-b',
      callId: 'a596bc8f-cb3e-4e5e-9ce7-bb0233a8ac6a',
      callerIdName: 'Alice',
      callerIdNumber: '1002',
      flags: ['hear', 'speak'],
      volumeIn: 2,
      volumeOut: -1,
      energyLevel: 300,
    });
    expect(listed[2]!.flags).toContain('moderator');
    const json = parse('conference demo json_list').data as Array<{ conference_name: string; members: Array<{ id: number }> }>;
    expect(json[0]!.conference_name).toBe('demo');
    expect(json[0]!.members.map((m) => m.id)).toEqual([3, 2, 1]);
  });

  it('a caller name containing ";" does not shift the list columns', () => {
    const body = '4;sofia/internal/x;uuid-4;Smith; John;1004;hear|speak;0;0;100\n';
    const [m] = parse('conference demo list', body).data as ListedMember[];
    expect(m).toMatchObject({ memberId: 4, callerIdName: 'Smith; John', callerIdNumber: '1004', energyLevel: 100 });
  });
});

describe('errors from real reply texts', () => {
  it('unknown conference → ConferenceNotFoundError', () => {
    const err = fails('conference nosuchconf mute 1', replyTo('conference nosuchconf mute 1'));
    expect(err).toBeInstanceOf(ConferenceNotFoundError);
    expect((err as ConferenceNotFoundError).code).toBe('CONFERENCE_NOT_FOUND');
    expect(fails('conference nosuchconf list', replyTo('conference nosuchconf list'))).toBeInstanceOf(ConferenceNotFoundError);
  });

  it('unknown member → MemberNotFoundError with the id', () => {
    for (const line of ['conference demo mute 999', 'conference demo kick 999', 'conference demo energy 999 200']) {
      const err = fails(line, replyTo(line)) as MemberNotFoundError;
      expect(err).toBeInstanceOf(MemberNotFoundError);
      expect(err.details).toMatchObject({ conference: 'demo', member: 999 });
    }
  });

  it('refused floor → CommandRejectedError naming the holder', () => {
    const err = fails('conference demo floor 2', replyTo('conference demo floor 2')) as CommandRejectedError;
    expect(err).toBeInstanceOf(CommandRejectedError);
    expect(err.details).toMatchObject({ reason: 'floor_held', heldBy: 3 });
  });

  it('bare usage text (no -ERR) → InvalidArgumentError', () => {
    const cmd = { kind: 'mute', conference: 'demo', target: 1 } as ConferenceCommand;
    const err = fails('conference demo mute', replyTo('conference demo mute'), cmd);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).details).toMatchObject({ reason: 'usage' });
  });

  it('unknown subcommand → InvalidArgumentError', () => {
    const cmd = { kind: 'frobnicate', conference: 'demo' } as unknown as ConferenceCommand;
    expect(fails('conference demo frobnicate', replyTo('conference demo frobnicate'), cmd)).toBeInstanceOf(InvalidArgumentError);
  });

  it('no conference api on the node → CommandRejectedError', () => {
    const err = fails('conference demo lock', '-ERR conference Command not found!\n') as CommandRejectedError;
    expect(err).toBeInstanceOf(CommandRejectedError);
    expect(err.details).toMatchObject({ reason: 'api_not_found' });
  });

  it('other mod_conference refusals', () => {
    expect(fails('conference demo play /x.wav', '(play) File: /x.wav not found.\n')).toBeInstanceOf(CommandRejectedError);
    expect(fails('conference demo play /x.wav 9', 'Member: 9 not found.\n')).toBeInstanceOf(MemberNotFoundError);
    expect(fails('conference demo stop all 9', 'Member: 9 not found.\n')).toBeInstanceOf(MemberNotFoundError);
    expect(fails('conference demo relate 1 9 nohear', 'relationship 1->9 not found.\n')).toBeInstanceOf(MemberNotFoundError);
    expect(fails('conference demo norecord /a.wav', "non-existant recording '/a.wav'\nStopped recording 0 files\n")).toBeInstanceOf(
      CommandRejectedError,
    );
  });

  it('every row of the error table is reachable', () => {
    const samples: Record<string, string> = {
      conference_not_found: '-ERR Conference x not found',
      member_not_found: '-ERR Non-Existant ID 5',
      member_not_found_play: 'Member: 5 not found.',
      relationship_member_not_found: 'relationship 1->2 not found.',
      floor_held: '-ERR floor is held by 3',
      file_not_found: '(play) File: a.wav not found.',
      recording_not_found: "non-existant recording 'a'",
      unknown_subcommand: "-ERR Conference command 'x' not found.",
      api_not_found: '-ERR conference Command not found!',
      usage: 'mute <[member_id|all]|last|non_moderator> [<quiet>]',
      member_not_found_say: '(saymember) Unknown Member 7!\nsaymember <member_id> <text>',
      say_failed: '(say) Error!\nsay <text>',
    };
    expect(REPLY_ERRORS.map((r) => r.id).sort()).toEqual(Object.keys(samples).sort());
    for (const rule of REPLY_ERRORS) expect(rule.pattern.test(samples[rule.id]!), rule.id).toBe(true);
  });
});

describe('anything unrecognised is an error carrying the raw text, never success', () => {
  const cases: Array<[string, string]> = [
    ['conference demo mute 2', '+OK unmute 2'], // wrong verb
    ['conference demo mute 2', '+OK mute 3'], // wrong member
    ['conference demo mute 2', '-ERR something new'],
    ['conference demo mute 2', ''],
    ['conference demo mute 2', NO_OUTPUT_REPLY],
    ['conference demo mute all', '+OK mute 3\nsurprise'],
    ['conference demo lock', '+OK'],
    ['conference demo count', 'three'],
    ['conference demo get count', 'n/a'],
    ['conference demo get is_locked', 'maybe'],
    ['conference demo json_list', '[{"truncated":'],
    ['conference demo json_list', '{"not":"an array"}'],
    ['conference demo list', '1;only;three'],
    ['conference demo energy 2', 'Volume IN 2 = 1'],
    ['conference demo floor 2', 'granted'],
    ['conference demo play /a.wav', '+OK (play) Playing file /b.wav'],
    ['conference demo dtmf 2 12', '+OK sent 13 to 2'],
    ['conference demo norecord all', 'Stopped recording file /a.wav'],
    ['conference demo get caller_id_name', 'get <parameter-name>\nextra'],
  ];
  it.each(cases)('%s ← %j', (line, body) => {
    const err = fails(line, body) as UnrecognizedReplyError;
    expect(err).toBeInstanceOf(UnrecognizedReplyError);
    expect(err.code).toBe('UNRECOGNIZED_REPLY');
    expect(err.details).toEqual({ command: line, reply: body.trimEnd() });
  });
});

describe('empty output (mod_event_socket answers "-ERR no reply")', () => {
  it('get of an unset flag is false, of a set one true', () => {
    expect(parse('conference demo get is_locked', NO_OUTPUT_REPLY).data).toBe(false);
    expect(parse('conference demo get is_locked', 'locked').data).toBe(true);
    expect(parse('conference demo get wait_mod', NO_OUTPUT_REPLY).data).toBe(false);
    expect(parse('conference demo get uuid', 'b6463fe1-a95a-4233-a3b5-bcdc587b77c4').data).toBe('b6463fe1-a95a-4233-a3b5-bcdc587b77c4');
    expect(parse('conference demo get caller_id_name', 'Alice <x>').data).toBe('Alice <x>');
  });
  it('`last` with nobody there is MemberNotFound; all/non_moderator with nobody is an empty success', () => {
    expect(fails('conference demo mute last', NO_OUTPUT_REPLY)).toBeInstanceOf(MemberNotFoundError);
    expect(parse('conference demo kick all', NO_OUTPUT_REPLY).data).toEqual({ affected: [], skippedModerators: [] });
    expect(parse('conference demo list', NO_OUTPUT_REPLY).data).toEqual([]);
  });
});
