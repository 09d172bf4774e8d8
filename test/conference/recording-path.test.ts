/**
 * Recording paths: only a file under a configured recording directory, judged on the text alone;
 * traversal, relative paths, look-alike prefixes, control characters, percent-encoding and variables
 * are refused, and the command builder applies the rule to `record` and `norecord` when given directories.
 */
import { describe, expect, it } from 'vitest';
import { buildCommand, validateCommand } from '../../src/conference/commands.js';
import { ConferenceControl } from '../../src/conference/control.js';
import type { ConferenceLocator } from '../../src/conference/types.js';
import type { EslNode } from '../../src/esl/types.js';
import { InvalidArgumentError, RecordingPathRefusedError } from '../../src/conference/errors.js';
import {
  DEFAULT_RECORDING_DIRS,
  assertRecordingPath,
  recordingDirProblem,
  recordingPathProblem,
} from '../../src/conference/recording-path.js';

const DIRS = ['/rec', '/srv/freeswitch/recordings/'];

describe('recordingPathProblem', () => {
  it.each([
    ['/rec/a.wav'],
    ['/rec/2024/05/room-1.wav'],
    ['/rec//a.wav'],
    ['/srv/freeswitch/recordings/a.mp3'],
    ['/rec/a..b.wav'],
    ['/rec/.hidden.wav'],
  ])('accepts %s', (path) => {
    expect(recordingPathProblem(path, DIRS)).toBeUndefined();
  });

  it.each([
    ['/rec/../etc/passwd', 'traversal'],
    ['/rec/a/../../etc/passwd', 'traversal'],
    ['/rec/..', 'traversal'],
    ['/rec/./a.wav', 'traversal'],
    ['../../../../etc/passwd', 'not_absolute'],
    ['rec/a.wav', 'not_absolute'],
    ['a.wav', 'not_absolute'],
    ['~/a.wav', 'not_absolute'],
    ['http://example.com/a.wav', 'not_absolute'],
    ['{channels=2}/rec/a.wav', 'not_absolute'],
    ['/recX/a.wav', 'outside_recording_dirs'],
    ['/rec', 'outside_recording_dirs'],
    ['/rec/', 'outside_recording_dirs'],
    ['/etc/passwd', 'outside_recording_dirs'],
    ['/srv/freeswitch/recordingsX/a.wav', 'outside_recording_dirs'],
    ['/rec/a\u0000.wav', 'control_character'],
    ['/rec/a.wav\n', 'control_character'],
    ['/rec/%2e%2e/etc/passwd', 'percent_encoded'],
    ['/rec/%2E%2E%2Fetc%2Fpasswd', 'percent_encoded'],
    ['/rec/a%00.wav', 'percent_encoded'],
    ['/rec/..\\..\\etc\\passwd', 'backslash'],
    ['/rec/${base_dir}/a.wav', 'variable'],
    ['/rec/$${recordings_dir}/a.wav', 'variable'],
    ['', 'not_a_string'],
  ])('refuses %j (%s)', (path, problem) => {
    expect(recordingPathProblem(path, DIRS)).toBe(problem);
  });

  it('refuses everything when no directory is configured, and non-strings', () => {
    expect(recordingPathProblem('/rec/a.wav', [])).toBe('outside_recording_dirs');
    expect(recordingPathProblem(42, DIRS)).toBe('not_a_string');
    expect(recordingPathProblem(undefined, DIRS)).toBe('not_a_string');
  });

  it('defaults to FreeSWITCH’s own recordings directory', () => {
    expect(DEFAULT_RECORDING_DIRS).toEqual(['/var/lib/freeswitch/recordings']);
    expect(recordingPathProblem('/var/lib/freeswitch/recordings/room.wav', DEFAULT_RECORDING_DIRS)).toBeUndefined();
    expect(recordingPathProblem('/var/lib/freeswitch/recordings/../../../../etc/passwd', DEFAULT_RECORDING_DIRS)).toBe('traversal');
  });

  it('assertRecordingPath throws a typed INVALID_ARGUMENT naming the field and the rule, listing the directories', () => {
    let err: unknown;
    try {
      assertRecordingPath('/etc/passwd', DIRS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RecordingPathRefusedError);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as RecordingPathRefusedError).code).toBe('INVALID_ARGUMENT');
    expect((err as RecordingPathRefusedError).message).toBe('path: must be a file under a recording directory (/rec, /srv/freeswitch/recordings/)');
    expect((err as RecordingPathRefusedError).details).toEqual({ field: 'path', problem: 'outside_recording_dirs' });
    expect(() => assertRecordingPath('/rec/a.wav', DIRS)).not.toThrow();
  });
});

describe('recordingDirProblem (config)', () => {
  it('accepts absolute directories, refuses relative, traversal, / and control characters', () => {
    expect(recordingDirProblem('/var/lib/freeswitch/recordings')).toBeUndefined();
    expect(recordingDirProblem('/rec/')).toBeUndefined();
    expect(recordingDirProblem('recordings')).toMatch(/absolute/);
    expect(recordingDirProblem('/rec/../etc')).toMatch(/\.\./);
    expect(recordingDirProblem('/')).toMatch(/must not be \//);
    expect(recordingDirProblem('//')).toMatch(/must not be \//);
    expect(recordingDirProblem('/rec\n')).toMatch(/control/);
  });
});

describe('record / norecord commands with recording directories', () => {
  const policy = { recordingDirs: DIRS };

  it('builds a command under a directory', () => {
    expect(buildCommand({ kind: 'record', conference: 'demo', path: '/rec/demo.wav' }, policy)).toBe('conference demo record /rec/demo.wav');
    expect(buildCommand({ kind: 'norecord', conference: 'demo', path: '/rec/demo.wav' }, policy)).toBe('conference demo norecord /rec/demo.wav');
    expect(buildCommand({ kind: 'norecord', conference: 'demo', path: 'all' }, policy)).toBe('conference demo norecord all');
  });

  it.each([['../../../../etc/passwd'], ['/rec/../etc/passwd'], ['/recX/a.wav'], ['/rec/%2e%2e/x.wav'], ['/tmp/a.wav']])('refuses %s for record and norecord', (path) => {
    for (const kind of ['record', 'norecord'] as const) {
      expect(() => validateCommand({ kind, conference: 'demo', path }, policy)).toThrow(RecordingPathRefusedError);
    }
  });

  it('injection is still refused by the file-path rule first (same code)', () => {
    expect(() => buildCommand({ kind: 'record', conference: 'demo', path: '/rec/a.wav\n\napi status' }, policy)).toThrow(/control characters/);
  });

  it('without directories (a library caller that sets none) the path is not restricted', () => {
    expect(buildCommand({ kind: 'record', conference: 'demo', path: '/tmp/a.wav' })).toBe('conference demo record /tmp/a.wav');
  });
});

describe('ConferenceControl with recordingDirs', () => {
  function setup(recordingDirs?: readonly string[]) {
    const sent: string[] = [];
    const node = {
      name: 'fs1',
      state: 'up',
      api: async (command: string) => {
        sent.push(command);
        return `+OK Record file ${command.split(' ').pop()}\n`;
      },
      bgapi: async () => {
        throw new Error('not used');
      },
    } as unknown as EslNode;
    const locator: ConferenceLocator = { nodeFor: async () => 'fs1' };
    const control = new ConferenceControl({ locator, nodes: () => node, ...(recordingDirs ? { recordingDirs } : {}) });
    return { control, sent };
  }

  it('refuses a path outside the directories before locating or sending anything, runs one inside', async () => {
    const { control, sent } = setup(['/rec']);
    for (const path of ['../../../../etc/passwd', '/rec/../etc/passwd', '/recX/a.wav']) {
      await expect(control.execute({ kind: 'record', conference: 'demo', path })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'path' } });
      await expect(control.executeOn('fs1', { kind: 'record', conference: 'demo', path })).rejects.toBeInstanceOf(RecordingPathRefusedError);
    }
    expect(sent).toEqual([]);
    await control.execute({ kind: 'record', conference: 'demo', path: '/rec/demo.wav' });
    expect(sent).toEqual(['conference demo record /rec/demo.wav']);
  });
});
