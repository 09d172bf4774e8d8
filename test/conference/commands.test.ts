import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildCommand, parseCommandLine, validateCommand } from '../../src/conference/commands.js';
import { InvalidArgumentError } from '../../src/conference/errors.js';
import type { ConferenceCommand } from '../../src/conference/types.js';
import { readApiExchanges } from '../helpers/conference-api-replies.js';

const conf = 'demo';

describe('buildCommand: exact api strings', () => {
  const cases: Array<[ConferenceCommand, string]> = [
    [{ kind: 'lock', conference: conf }, 'conference demo lock'],
    [{ kind: 'unlock', conference: conf }, 'conference demo unlock'],
    [{ kind: 'count', conference: conf }, 'conference demo count'],
    [{ kind: 'list', conference: conf }, 'conference demo list'],
    [{ kind: 'json_list', conference: conf }, 'conference demo json_list'],
    [{ kind: 'mute', conference: conf, target: 2 }, 'conference demo mute 2'],
    [{ kind: 'mute', conference: conf, target: 'non_moderator' }, 'conference demo mute non_moderator'],
    [{ kind: 'unmute', conference: conf, target: 'last', quiet: true }, 'conference demo unmute last quiet'],
    [{ kind: 'tmute', conference: conf, target: 'all', quiet: true }, 'conference demo tmute all quiet'],
    [{ kind: 'deaf', conference: conf, target: 'non_moderator' }, 'conference demo deaf non_moderator'],
    [{ kind: 'undeaf', conference: conf, target: 7 }, 'conference demo undeaf 7'],
    [{ kind: 'kick', conference: conf, target: 'all' }, 'conference demo kick all'],
    [{ kind: 'hup', conference: conf, target: 'all' }, 'conference demo hup all'],
    [{ kind: 'hold', conference: conf, target: 2 }, 'conference demo hold 2'],
    [{ kind: 'unhold', conference: conf, target: 2 }, 'conference demo unhold 2'],
    [{ kind: 'energy', conference: conf, target: 2, value: 300 }, 'conference demo energy 2 300'],
    [{ kind: 'energy', conference: conf, target: 2 }, 'conference demo energy 2'],
    [{ kind: 'volume_in', conference: conf, target: 2, value: 2 }, 'conference demo volume_in 2 2'],
    [{ kind: 'volume_out', conference: conf, target: 2, value: -1 }, 'conference demo volume_out 2 -1'],
    [{ kind: 'relate', conference: conf, member: 1, other: 2, relation: 'nohear' }, 'conference demo relate 1 2 nohear'],
    [{ kind: 'relate', conference: conf, member: 1, other: 2, relation: 'clear' }, 'conference demo relate 1 2 clear'],
    [{ kind: 'dtmf', conference: conf, target: 2, digits: '123#' }, 'conference demo dtmf 2 123#'],
    [{ kind: 'floor', conference: conf, member: 2 }, 'conference demo floor 2'],
    [{ kind: 'play', conference: conf, file: 'tone_stream://%(400,0,800)' }, 'conference demo play tone_stream://%(400,0,800)'],
    [{ kind: 'play', conference: conf, file: '/tmp/a.wav', async: true }, 'conference demo play /tmp/a.wav async'],
    [{ kind: 'play', conference: conf, file: '/tmp/a.wav', member: 2 }, 'conference demo play /tmp/a.wav 2'],
    [{ kind: 'play', conference: conf, file: '/tmp/a.wav', member: 2, nomux: true }, 'conference demo play /tmp/a.wav 2 nomux'],
    [{ kind: 'stop', conference: conf, which: 'current' }, 'conference demo stop current'],
    [{ kind: 'stop', conference: conf, which: 'all', member: 3 }, 'conference demo stop all 3'],
    [{ kind: 'record', conference: conf, path: '/srv/rec/a.wav' }, 'conference demo record /srv/rec/a.wav'],
    [{ kind: 'norecord', conference: conf, path: 'all' }, 'conference demo norecord all'],
    [{ kind: 'get', conference: conf, param: 'is_locked' }, 'conference demo get is_locked'],
  ];
  it.each(cases)('%j → %s', (cmd, expected) => {
    expect(buildCommand(cmd)).toBe(expected);
    expect(parseCommandLine(expected)).toEqual(cmd);
  });

  it('round-trips every conference command of the fixtures that names a conference and is well formed', () => {
    const lines = readApiExchanges()
      .filter((e) => e.kind === 'api' && /^conference (?!list$)\S+ /.test(e.command))
      .map((e) => e.command)
      .filter((l) => !/ frobnicate$| mute$| xml_list$/.test(l));
    expect(lines.length).toBeGreaterThan(60);
    for (const line of lines) expect(buildCommand(parseCommandLine(line))).toBe(line);
  });
});

describe('validation before the wire', () => {
  const bad: Array<[string, unknown]> = [
    ['name with space', { kind: 'lock', conference: 'de mo' }],
    ['name with newline', { kind: 'lock', conference: 'demo\napi status' }],
    ['name with NUL', { kind: 'lock', conference: 'demo\u0000' }],
    ['empty name', { kind: 'lock', conference: '' }],
    ['reserved name list', { kind: 'mute', conference: 'list', target: 1 }],
    ['name too long', { kind: 'lock', conference: 'a'.repeat(129) }],
    ['name not a string', { kind: 'lock', conference: 42 }],
    ['member 0', { kind: 'mute', conference: conf, target: 0 }],
    ['member negative', { kind: 'mute', conference: conf, target: -1 }],
    ['member fractional', { kind: 'mute', conference: conf, target: 1.5 }],
    ['member too big', { kind: 'mute', conference: conf, target: 2 ** 31 }],
    ['member keyword unknown', { kind: 'mute', conference: conf, target: 'everyone' }],
    ['member as numeric string', { kind: 'mute', conference: conf, target: '2' }],
    ['quiet on deaf', { kind: 'deaf', conference: conf, target: 2, quiet: true }],
    ['energy negative', { kind: 'energy', conference: conf, target: 2, value: -1 }],
    ['energy fractional', { kind: 'energy', conference: conf, target: 2, value: 1.5 }],
    ['volume 5', { kind: 'volume_in', conference: conf, target: 2, value: 5 }],
    ['volume -5', { kind: 'volume_out', conference: conf, target: 2, value: -5 }],
    ['relate self', { kind: 'relate', conference: conf, member: 2, other: 2, relation: 'nohear' }],
    ['relate bad relation', { kind: 'relate', conference: conf, member: 1, other: 2, relation: 'mute' }],
    ['dtmf letters', { kind: 'dtmf', conference: conf, target: 2, digits: '12x' }],
    ['dtmf empty', { kind: 'dtmf', conference: conf, target: 2, digits: '' }],
    ['dtmf with space', { kind: 'dtmf', conference: conf, target: 2, digits: '1 2' }],
    ['floor keyword', { kind: 'floor', conference: conf, member: 'all' }],
    ['file with space', { kind: 'play', conference: conf, file: '/tmp/a b.wav' }],
    ['file with CR', { kind: 'play', conference: conf, file: '/tmp/a.wav\r' }],
    ['file with quote', { kind: 'play', conference: conf, file: "/tmp/a'.wav" }],
    ['file empty', { kind: 'play', conference: conf, file: '' }],
    ['file too long', { kind: 'play', conference: conf, file: '/' + 'a'.repeat(1024) }],
    ['async to member', { kind: 'play', conference: conf, file: '/a.wav', member: 2, async: true }],
    ['nomux to conference', { kind: 'play', conference: conf, file: '/a.wav', nomux: true }],
    ['stop async', { kind: 'stop', conference: conf, which: 'async' }],
    ['record all', { kind: 'record', conference: conf, path: 'all' }],
    ['record tab', { kind: 'record', conference: conf, path: '/a\tb.wav' }],
    ['get unknown', { kind: 'get', conference: conf, param: 'secret' }],
    ['unknown kind', { kind: 'frobnicate', conference: conf }],
  ];
  it.each(bad)('refuses %s with InvalidArgumentError', (_name, cmd) => {
    expect(() => buildCommand(cmd as ConferenceCommand)).toThrow(InvalidArgumentError);
    try {
      validateCommand(cmd as ConferenceCommand);
    } catch (err) {
      expect((err as InvalidArgumentError).code).toBe('INVALID_ARGUMENT');
    }
  });

  it('never emits a line with a control character or a stray space, whatever the name', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.integer({ min: -5, max: 2 ** 32 }), (name, id) => {
        let line: string;
        try {
          line = buildCommand({ kind: 'mute', conference: name, target: id });
        } catch (err) {
          return err instanceof InvalidArgumentError;
        }
        // eslint-disable-next-line no-control-regex
        return !/[\x00-\x1f\x7f]/.test(line) && line.split(' ').length === 4 && line === `conference ${name} mute ${id}`;
      }),
      { numRuns: 2000 },
    );
  });

  it('parseCommandLine refuses what buildCommand would refuse', () => {
    expect(() => parseCommandLine('conference demo mute')).toThrow(InvalidArgumentError);
    expect(() => parseCommandLine('conference demo frobnicate')).toThrow(InvalidArgumentError);
    expect(() => parseCommandLine('conference demo mute 2 loud')).toThrow(InvalidArgumentError);
    expect(() => parseCommandLine('conference demo energy 2 x')).toThrow(InvalidArgumentError);
    expect(() => parseCommandLine('conference demo volume_in 2 9')).toThrow(InvalidArgumentError);
  });
});
