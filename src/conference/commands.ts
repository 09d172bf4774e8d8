/**
 * ConferenceCommand → the exact `conference <name> …` api string mod_conference expects
 * (syntax from conference_api.c's command table, checked against the fixtures' api-replies.txt).
 * Pure; every argument is validated first, so nothing malformed reaches the wire.
 */
import { InvalidArgumentError } from './errors.js';
import { assertRecordingPath } from './recording-path.js';
import type { ConferenceCommand, ConferenceCommandKind, MemberAction, MemberTarget } from './types.js';
import {
  assertBoolean,
  assertConferenceName,
  assertDigits,
  assertEnergy,
  assertFilePath,
  assertGetParam,
  assertMemberId,
  assertMemberTarget,
  assertSayConference,
  assertSayText,
  assertSetParam,
  assertSetValue,
  assertVolume,
} from './validate.js';

const MEMBER_ACTIONS: ReadonlySet<string> = new Set(['mute', 'unmute', 'tmute', 'deaf', 'undeaf', 'kick', 'hup', 'hold', 'unhold'] satisfies MemberAction[]);
/** mod_conference honours `quiet` (no mute/unmute indication sound) only on these. */
const QUIET_ACTIONS: ReadonlySet<string> = new Set(['mute', 'unmute', 'tmute']);

function target(t: MemberTarget): string {
  return typeof t === 'number' ? String(t) : t;
}

/** Operator policy applied on top of the syntax rules. */
export interface CommandPolicy {
  /** Directories `record` / `norecord` paths must be under (recording-path.ts); absent: not restricted. */
  recordingDirs?: readonly string[];
}

/** Throws InvalidArgumentError unless `command` is a well-formed ConferenceCommand allowed by `policy`. */
export function validateCommand(command: ConferenceCommand, policy: CommandPolicy = {}): void {
  if (command === null || typeof command !== 'object') throw new InvalidArgumentError('command must be an object');
  assertConferenceName(command.conference);
  const c = command;
  if (isMemberActionCommand(c)) {
    assertMemberTarget(c.target);
    assertBoolean(c.quiet, 'quiet');
    if (c.quiet && !QUIET_ACTIONS.has(c.kind)) throw new InvalidArgumentError(`quiet: not supported by ${c.kind}`, { field: 'quiet' });
    return;
  }
  switch (c.kind) {
    case 'lock':
    case 'unlock':
    case 'count':
    case 'list':
    case 'json_list':
      return;
    case 'energy':
      assertMemberTarget(c.target);
      if (c.value !== undefined) assertEnergy(c.value);
      return;
    case 'volume_in':
    case 'volume_out':
      assertMemberTarget(c.target);
      if (c.value !== undefined) assertVolume(c.value);
      return;
    case 'relate':
      assertMemberId(c.member, 'member');
      assertMemberId(c.other, 'other');
      if (c.member === c.other) throw new InvalidArgumentError('other: a member cannot relate to itself', { field: 'other' });
      if (c.relation !== 'nospeak' && c.relation !== 'nohear' && c.relation !== 'clear') {
        throw new InvalidArgumentError('relation: must be nospeak, nohear or clear', { field: 'relation', value: c.relation });
      }
      return;
    case 'dtmf':
      assertMemberTarget(c.target);
      assertDigits(c.digits);
      return;
    case 'floor':
      assertMemberId(c.member, 'member');
      return;
    case 'play':
      assertFilePath(c.file, 'file');
      if (c.member !== undefined) assertMemberId(c.member, 'member');
      assertBoolean(c.async, 'async');
      assertBoolean(c.nomux, 'nomux');
      // `play <file> async` mixes into the conference; FreeSWITCH ignores async for a member play.
      if (c.async && c.member !== undefined) throw new InvalidArgumentError('async: only for a conference-wide play', { field: 'async' });
      if (c.nomux && c.member === undefined) throw new InvalidArgumentError('nomux: only for a member play', { field: 'nomux' });
      return;
    case 'stop':
      if (c.which !== 'current' && c.which !== 'all') {
        throw new InvalidArgumentError('which: must be current or all', { field: 'which', value: c.which });
      }
      if (c.member !== undefined) assertMemberId(c.member, 'member');
      return;
    case 'record':
      assertFilePath(c.path, 'path');
      if (c.path === 'all') throw new InvalidArgumentError('path: "all" is not a file name', { field: 'path' });
      if (policy.recordingDirs) assertRecordingPath(c.path, policy.recordingDirs);
      return;
    case 'norecord':
      assertFilePath(c.path, 'path');
      if (c.path !== 'all' && policy.recordingDirs) assertRecordingPath(c.path, policy.recordingDirs);
      return;
    case 'get':
      assertGetParam(c.param);
      return;
    case 'set':
      assertSetParam(c.param);
      assertSetValue(c.param, c.value);
      return;
    case 'say':
      assertSayText(c.text);
      if (c.member !== undefined) assertMemberId(c.member, 'member');
      assertSayConference(c.conference, c.member === undefined ? 'say' : 'saymember');
      return;
    default: {
      const unknownKind: unknown = (c as { kind?: unknown }).kind;
      throw new InvalidArgumentError(`kind: unknown conference command ${JSON.stringify(unknownKind)}`, { field: 'kind' });
    }
  }
}

/**
 * The api string, without the `api ` prefix: e.g. `conference demo mute non_moderator quiet`.
 * Validates first (with `policy`); throws InvalidArgumentError on anything that must not reach FreeSWITCH.
 */
export function buildCommand(command: ConferenceCommand, policy: CommandPolicy = {}): string {
  validateCommand(command, policy);
  const head = `conference ${command.conference}`;
  const c = command;
  if (isMemberActionCommand(c)) return `${head} ${c.kind} ${target(c.target)}${c.quiet ? ' quiet' : ''}`;
  switch (c.kind) {
    case 'lock':
    case 'unlock':
    case 'count':
    case 'list':
    case 'json_list':
      return `${head} ${c.kind}`;
    case 'energy':
    case 'volume_in':
    case 'volume_out':
      return `${head} ${c.kind} ${target(c.target)}${c.value === undefined ? '' : ` ${c.value}`}`;
    case 'relate':
      return `${head} relate ${c.member} ${c.other} ${c.relation}`;
    case 'dtmf':
      return `${head} dtmf ${target(c.target)} ${c.digits}`;
    case 'floor':
      return `${head} floor ${c.member}`;
    case 'play':
      if (c.member !== undefined) return `${head} play ${c.file} ${c.member}${c.nomux ? ' nomux' : ''}`;
      return `${head} play ${c.file}${c.async ? ' async' : ''}`;
    case 'stop':
      return `${head} stop ${c.which}${c.member === undefined ? '' : ` ${c.member}`}`;
    case 'record':
      return `${head} record ${c.path}`;
    case 'norecord':
      return `${head} norecord ${c.path}`;
    case 'get':
      return `${head} get ${c.param}`;
    case 'set':
      return `${head} set ${c.param} ${c.value}`;
    case 'say':
      return c.member === undefined ? `${head} say ${c.text}` : `${head} saymember ${c.member} ${c.text}`;
  }
}

/** True for commands whose target may address several members at once. */
export function isMemberAction(kind: string): kind is MemberAction {
  return MEMBER_ACTIONS.has(kind);
}

/** A member action command (mute … unhold): a target and an optional `quiet`. */
export type MemberActionCommand = Extract<ConferenceCommand, { kind: MemberAction }>;

/** isMemberAction for a whole command, so callers get the command's type narrowed. */
export function isMemberActionCommand(command: ConferenceCommand): command is MemberActionCommand {
  return MEMBER_ACTIONS.has(command.kind);
}

function parseTarget(word: string | undefined): MemberTarget {
  if (word === undefined) throw new InvalidArgumentError('target: missing', { field: 'target' });
  if (/^\d+$/.test(word)) return Number(word);
  return word as MemberTarget; // validated by buildCommand/validateCommand below
}

function parseNumber(word: string, field: string): number {
  if (!/^-?\d+$/.test(word)) throw new InvalidArgumentError(`${field}: not an integer`, { field, value: word.slice(0, 64) });
  return Number(word);
}

/**
 * The inverse of buildCommand: `conference demo mute 2 quiet` (with or without the leading
 * `conference `) → { kind: 'mute', conference: 'demo', target: 2, quiet: true }. For the CLI and for
 * tests; throws InvalidArgumentError for anything buildCommand would not produce.
 */
export function parseCommandLine(line: string): ConferenceCommand {
  const words = line.trim().split(/ +/);
  if (words[0] === 'conference') words.shift();
  const [conference, kind, ...args] = words as [string, string, ...string[]];
  if (conference === undefined || kind === undefined) throw new InvalidArgumentError('expected "<conference> <subcommand> …"');
  const tooMany = (max: number): void => {
    if (args.length > max) throw new InvalidArgumentError(`${kind}: too many arguments`, { field: 'args' });
  };
  let command: ConferenceCommand;
  if (isMemberAction(kind)) {
    tooMany(2);
    if (args[1] !== undefined && args[1] !== 'quiet') throw new InvalidArgumentError(`${kind}: unexpected ${args[1]}`, { field: 'args' });
    command = { kind, conference, target: parseTarget(args[0]), ...(args[1] === 'quiet' ? { quiet: true } : {}) };
    validateCommand(command);
    return command;
  }
  switch (kind) {
    case 'lock':
    case 'unlock':
    case 'count':
    case 'list':
    case 'json_list':
      tooMany(0);
      command = { kind, conference };
      break;
    case 'energy':
    case 'volume_in':
    case 'volume_out':
      tooMany(2);
      command = { kind, conference, target: parseTarget(args[0]), ...(args[1] === undefined ? {} : { value: parseNumber(args[1], 'value') }) };
      break;
    case 'relate':
      tooMany(3);
      command = {
        kind,
        conference,
        member: parseNumber(args[0] ?? '', 'member'),
        other: parseNumber(args[1] ?? '', 'other'),
        relation: args[2] as 'nospeak' | 'nohear' | 'clear',
      };
      break;
    case 'dtmf':
      tooMany(2);
      command = { kind, conference, target: parseTarget(args[0]), digits: args[1] ?? '' };
      break;
    case 'floor':
      tooMany(1);
      command = { kind, conference, member: parseNumber(args[0] ?? '', 'member') };
      break;
    case 'play': {
      tooMany(3);
      const [file, second, third] = args;
      if (second === undefined) command = { kind, conference, file: file ?? '' };
      else if (second === 'async' && third === undefined) command = { kind, conference, file: file ?? '', async: true };
      else if (third === undefined || third === 'nomux') {
        command = { kind, conference, file: file ?? '', member: parseNumber(second, 'member'), ...(third ? { nomux: true } : {}) };
      } else throw new InvalidArgumentError(`play: unexpected ${third}`, { field: 'args' });
      break;
    }
    case 'stop':
      tooMany(2);
      command = {
        kind,
        conference,
        which: args[0] as 'current' | 'all',
        ...(args[1] === undefined ? {} : { member: parseNumber(args[1], 'member') }),
      };
      break;
    case 'record':
    case 'norecord':
      tooMany(1);
      command = { kind, conference, path: args[0] ?? '' };
      break;
    case 'get':
      tooMany(1);
      command = { kind, conference, param: args[0] ?? '' };
      break;
    case 'set':
      tooMany(2);
      command = { kind, conference, param: (args[0] ?? '') as 'max_members', value: args[1] ?? '' };
      break;
    case 'say':
      command = { kind, conference, text: args.join(' ') };
      break;
    case 'saymember':
      command = { kind: 'say', conference, member: parseNumber(args[0] ?? '', 'member'), text: args.slice(1).join(' ') };
      break;
    default:
      throw new InvalidArgumentError(`unknown conference subcommand ${JSON.stringify(kind)}`, { field: 'kind' });
  }
  validateCommand(command);
  return command;
}
