/**
 * FreeSWITCH's answer to a `conference …` api → a typed result or a typed error. Pure.
 *
 * An `api` reply is always `api/response`; success or failure is only in the body text, and
 * mod_conference is inconsistent about it (`+OK mute 2`, `Energy 2 = 300` without `+OK`, a bare
 * usage text for missing arguments, `-ERR …` for some errors and not others). So:
 * 1. REPLY_ERRORS below is the ONE table from reply text to error. It is checked first.
 * 2. Otherwise the body must match what the command is known to answer on success, line by line.
 *    Anything else is an UnrecognizedReplyError carrying the raw text — never a success.
 * Reply texts are those of FreeSWITCH 1.10 (test/fixtures/freeswitch/api-replies.txt); the
 * `+OK`/`-ERR` prefixes are optional so older builds (which printed `OK mute 2`) parse the same.
 */
import type { ConfmgrError } from '../util/index.js';
import {
  CommandRejectedError,
  ConferenceNotFoundError,
  InvalidArgumentError,
  MemberNotFoundError,
  UnrecognizedReplyError,
} from './errors.js';
import type { CommandResult, ConferenceCommand, MemberTarget } from './types.js';
import { isMemberActionCommand, type MemberActionCommand } from './commands.js';

/** mod_event_socket's body when an api command wrote no output at all. */
export const NO_OUTPUT_REPLY = '-ERR no reply';

interface ErrorContext {
  command: ConferenceCommand;
  /** The api string that was sent. */
  apiCommand: string;
  raw: string;
}

interface ReplyErrorRule {
  /** Stable name of the rule (tests and docs refer to it). */
  id: string;
  /** Matched against the whole trimmed body. */
  pattern: RegExp;
  /** The error the reply means; undefined when the row does not apply after all (see `usage`). */
  error(match: RegExpExecArray, ctx: ErrorContext): ConfmgrError | undefined;
}

/**
 * THE mapping from FreeSWITCH reply texts to errors. Order matters only where patterns overlap
 * (none do today). Every row is exercised by test/conference/replies.test.ts.
 */
export const REPLY_ERRORS: readonly ReplyErrorRule[] = [
  {
    // `-ERR Conference nosuchconf not found` (api-replies.txt); older builds omit `-ERR `.
    id: 'conference_not_found',
    pattern: /^(?:-ERR )?Conference (\S+) not found\.?$/,
    error: (_m, ctx) => new ConferenceNotFoundError(ctx.command.conference, { reply: ctx.raw }),
  },
  {
    // `-ERR Non-Existant ID 999` (FreeSWITCH's spelling) for any member-target command.
    id: 'member_not_found',
    pattern: /^(?:-ERR )?Non-Existant ID (\d+)$/,
    error: (m, ctx) => new MemberNotFoundError(ctx.command.conference, Number(m[1]), { reply: ctx.raw }),
  },
  {
    // play/stop to one member: `Member: 7 not found.`
    id: 'member_not_found_play',
    pattern: /^(?:-ERR )?Member: (\d+) not found\.?$/,
    error: (m, ctx) => new MemberNotFoundError(ctx.command.conference, Number(m[1]), { reply: ctx.raw }),
  },
  {
    // relate when either member is gone: `relationship 1->2 not found.`
    id: 'relationship_member_not_found',
    pattern: /^(?:-ERR )?relationship (\d+)->(\d+) not found\.?$/,
    error: (m, ctx) => new MemberNotFoundError(ctx.command.conference, `${m[1]} or ${m[2]}`, { reply: ctx.raw }),
  },
  {
    // `-ERR floor is held by 3`: the floor belongs to someone else.
    id: 'floor_held',
    pattern: /^-?ERR floor is held by (\d+)$/,
    error: (m, ctx) =>
      new CommandRejectedError(`floor is held by member ${m[1]}`, { reason: 'floor_held', heldBy: Number(m[1]), reply: ctx.raw }),
  },
  {
    // `(play) File: x.wav not found.`
    id: 'file_not_found',
    pattern: /^(?:-ERR )?\(play\) File: (.*) not found\.?$/,
    error: (m, ctx) => new CommandRejectedError(`file ${m[1]} not found`, { reason: 'file_not_found', file: m[1], reply: ctx.raw }),
  },
  {
    // norecord of a path that is not being recorded.
    id: 'recording_not_found',
    pattern: /^(?:-ERR )?non-existant recording '(.*)'[\s\S]*$/,
    error: (m, ctx) =>
      new CommandRejectedError(`no recording ${m[1]}`, { reason: 'recording_not_found', path: m[1], reply: ctx.raw }),
  },
  {
    // saymember to a member that is gone: `(saymember) Unknown Member 7!`, then (the handler failed)
    // conference_api_dispatch's usage line.
    id: 'member_not_found_say',
    pattern: /^\(saymember\) Unknown Member (\d+)!(?:\n.*)?$/,
    error: (m, ctx) => new MemberNotFoundError(ctx.command.conference, Number(m[1]), { reply: ctx.raw }),
  },
  {
    // say/saymember when the text could not be spoken (no TTS engine on the profile, engine failure).
    id: 'say_failed',
    pattern: /^\((say|saymember)\) (Error!|Error! No text\.|No Text!)(?:\n.*)?$/,
    error: (m, ctx) =>
      new CommandRejectedError(`FreeSWITCH could not speak the text (${m[1]}: ${m[2]}); is a TTS engine configured on the conference profile?`, {
        reason: 'tts_failed',
        reply: ctx.raw,
      }),
  },
  {
    // `-ERR Conference command 'frobnicate' not found.`: mod_conference has no such subcommand.
    id: 'unknown_subcommand',
    pattern: /^(?:-ERR )?Conference command '([^']*)' not found\.?$/,
    error: (m, ctx) => new InvalidArgumentError(`unknown conference subcommand ${m[1]}`, { reason: 'unknown_subcommand', reply: ctx.raw }),
  },
  {
    // `-ERR conference Command not found!`: the node has no `conference` api (mod_conference not loaded).
    id: 'api_not_found',
    pattern: /^-ERR (\S+) Command not found!$/,
    error: (m, ctx) =>
      new CommandRejectedError(`api command ${m[1]} not available on this node`, { reason: 'api_not_found', reply: ctx.raw }),
  },
  {
    // Missing or bad arguments: mod_conference prints `<subcommand> <syntax>` with no -ERR, e.g.
    // `mute <[member_id|all]|last|non_moderator> [<quiet>]`. Only taken as usage when it names the
    // subcommand we sent and looks like a syntax line.
    id: 'usage',
    pattern: /^([A-Za-z_-]+) (.*[<[].*)$/,
    error: (m, ctx) =>
      m[1] === apiSubcommand(ctx)
        ? new InvalidArgumentError(`FreeSWITCH refused the arguments of ${ctx.command.kind}; usage: ${ctx.raw}`, {
            reason: 'usage',
            reply: ctx.raw,
          })
        : undefined,
  },
];

/** The mod_conference subcommand that was sent (`saymember` for a member `say`). */
function apiSubcommand(ctx: ErrorContext): string {
  return ctx.apiCommand.split(' ')[2] ?? ctx.command.kind;
}

/** The first REPLY_ERRORS row matching `body`, as an error; undefined when none matches. */
export function matchReplyError(body: string, ctx: ErrorContext): ConfmgrError | undefined {
  for (const rule of REPLY_ERRORS) {
    const m = rule.pattern.exec(body);
    const error = m ? rule.error(m, ctx) : undefined;
    if (error) return error;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Success shapes (CommandResult.data)

export interface MemberActionData {
  /** Members the action was applied to, in FreeSWITCH's order, with the verb it reported. */
  affected: Array<{ member: number; action: string }>;
  /** Moderators a `non_moderator` target left alone. */
  skippedModerators: number[];
}
export interface LevelData {
  levels: Array<{ member: number; value: number }>;
  /** The level of the single member a numeric or `last` target addressed. */
  value?: number;
}
export interface ListedMember {
  memberId: number;
  channelName: string;
  callId: string;
  callerIdName: string;
  callerIdNumber: string;
  flags: string[];
  volumeIn: number;
  volumeOut: number;
  energyLevel: number;
}

const SKIP_RE = /^Skipping moderator \(member id (\d+)\)\.?$/;

function lines(body: string): string[] {
  return body.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim().length > 0);
}

function toInt(s: string): number | undefined {
  return /^-?\d+$/.test(s) ? Number(s) : undefined;
}

/** Verbs mod_conference prints for each member action (tmute prints mute or unmute). */
const ACTION_VERBS: Record<string, readonly string[]> = {
  mute: ['mute'],
  unmute: ['unmute'],
  tmute: ['mute', 'unmute'],
  deaf: ['deaf'],
  undeaf: ['undeaf'],
  kick: ['kicked'],
  hup: ['hup'],
  hold: ['hold'],
  unhold: ['unhold'],
};

/** A body the parser cannot take as success. */
class Unrecognized extends Error {}

function parseMemberAction(c: MemberActionCommand, body: string): MemberActionData {
  const verbs = ACTION_VERBS[c.kind] ?? [];
  const data: MemberActionData = { affected: [], skippedModerators: [] };
  for (const line of lines(body)) {
    const skip = SKIP_RE.exec(line);
    if (skip) {
      data.skippedModerators.push(Number(skip[1]));
      continue;
    }
    const m = /^\+?OK (\S+) (\d+)$/.exec(line);
    if (!m || !verbs.includes(m[1]!)) throw new Unrecognized();
    data.affected.push({ member: Number(m[2]), action: m[1]! });
  }
  checkTarget(c.target, data.affected.map((a) => a.member));
  return data;
}

/** A numeric or `last` target addresses exactly one member; a numeric one must be that member. */
function checkTarget(target: number | string, members: number[]): void {
  if (typeof target === 'number' && (members.length !== 1 || members[0] !== target)) throw new Unrecognized();
  if (target === 'last' && members.length !== 1) throw new Unrecognized();
}

function parseLevels(c: Extract<ConferenceCommand, { kind: 'energy' | 'volume_in' | 'volume_out' }>, body: string): LevelData {
  const re =
    c.kind === 'energy'
      ? /^(?:\+OK )?Energy (\d+) = (-?\d+)$/
      : c.kind === 'volume_in'
        ? /^(?:\+OK )?Volume IN (\d+) = (-?\d+)$/
        : /^(?:\+OK )?Volume OUT (\d+) = (-?\d+)$/;
  const data: LevelData = { levels: [] };
  for (const line of lines(body)) {
    if (SKIP_RE.test(line)) continue;
    const m = re.exec(line);
    if (!m) throw new Unrecognized();
    data.levels.push({ member: Number(m[1]), value: Number(m[2]) });
  }
  checkTarget(c.target, data.levels.map((l) => l.member));
  if (typeof c.target === 'number' || c.target === 'last') data.value = data.levels[0]!.value;
  return data;
}

/** `conference <name> list` lines: id;channel;uuid;caller name;caller number;flags;vol in;vol out;energy. */
export function parseListLines(body: string): ListedMember[] {
  if (body.trim() === '' || body.trim() === NO_OUTPUT_REPLY) return [];
  return lines(body).map((line) => {
    const f = line.split(';');
    if (f.length < 9) throw new Unrecognized();
    // The caller name may itself contain ';': take fixed fields from both ends, the name is the rest.
    const [id, channelName, callId] = f as [string, string, string];
    const tail = f.slice(-5) as [string, string, string, string, string];
    const callerIdName = f.slice(3, f.length - 5).join(';');
    const memberId = toInt(id);
    const volumeIn = toInt(tail[2]);
    const volumeOut = toInt(tail[3]);
    const energyLevel = toInt(tail[4]);
    if (memberId === undefined || volumeIn === undefined || volumeOut === undefined || energyLevel === undefined) {
      throw new Unrecognized();
    }
    return {
      memberId,
      channelName,
      callId,
      callerIdName,
      callerIdNumber: tail[0],
      flags: tail[1] === '' ? [] : tail[1].split('|'),
      volumeIn,
      volumeOut,
      energyLevel,
    };
  });
}

const INT_PARAMS: ReadonlySet<string> = new Set(['run_time', 'count', 'count_ghosts', 'max_members', 'rate', 'endconference_grace_time']);

function parseGet(param: string, body: string): string | number | boolean {
  // Flags print an empty string when unset; mod_event_socket turns "no output" into `-ERR no reply`.
  const value = body === NO_OUTPUT_REPLY ? '' : body;
  if (param === 'is_locked') {
    if (value === 'locked') return true;
    if (value === '') return false;
    throw new Unrecognized();
  }
  if (param === 'wait_mod') {
    if (value === 'true') return true;
    if (value === '') return false;
    throw new Unrecognized();
  }
  if (INT_PARAMS.has(param)) {
    const n = toInt(value);
    if (n === undefined) throw new Unrecognized();
    return n;
  }
  if (value.includes('\n')) throw new Unrecognized();
  return value;
}

/**
 * `-ERR no reply` to a command with a member target means nobody to act on: a numeric target would
 * have said Non-Existant ID, so this is `last` in an empty conference (an error) or all/non_moderator
 * with no one left (nothing to do: `nothing` is the command's empty result).
 */
function noMemberReply<T>(c: ConferenceCommand & { target: MemberTarget }, nothing: T): T {
  if (c.target === 'last') throw new MemberNotFoundError(c.conference, 'last', { reply: NO_OUTPUT_REPLY });
  if (c.target === 'all' || c.target === 'non_moderator') return nothing;
  throw new Unrecognized();
}

function parseSuccess(c: ConferenceCommand, body: string): unknown {
  const one = (re: RegExp): RegExpExecArray => {
    const m = re.exec(body);
    if (!m) throw new Unrecognized();
    return m;
  };
  if (isMemberActionCommand(c)) {
    if (body === NO_OUTPUT_REPLY) return noMemberReply(c, { affected: [], skippedModerators: [] } satisfies MemberActionData);
    return parseMemberAction(c, body);
  }
  switch (c.kind) {
    case 'energy':
    case 'volume_in':
    case 'volume_out':
      if (body === NO_OUTPUT_REPLY) return noMemberReply(c, { levels: [] } satisfies LevelData);
      return parseLevels(c, body);
    case 'dtmf': {
      if (body === NO_OUTPUT_REPLY) return noMemberReply(c, { affected: [], skippedModerators: [] });
      const affected: Array<{ member: number; digits: string }> = [];
      const skippedModerators: number[] = [];
      for (const line of lines(body)) {
        const skip = SKIP_RE.exec(line);
        if (skip) {
          skippedModerators.push(Number(skip[1]));
          continue;
        }
        const m = /^\+?OK sent (\S+) to (\d+)$/.exec(line);
        if (!m || m[1] !== c.digits) throw new Unrecognized();
        affected.push({ member: Number(m[2]), digits: m[1] });
      }
      checkTarget(c.target, affected.map((a) => a.member));
      return { affected, skippedModerators };
    }
    case 'lock':
      one(/^\+?OK \S+ locked$/);
      return { locked: true };
    case 'unlock':
      one(/^\+?OK \S+ unlocked$/);
      return { locked: false };
    case 'relate': {
      if (c.relation === 'clear') {
        const m = one(/^(?:\+OK )?relationship (\d+)->(\d+) cleared\.?$/);
        return { member: Number(m[1]), other: Number(m[2]), relation: 'clear' };
      }
      const m = one(/^(?:\+OK |OK |ok )(\d+)->(\d+) (\S+) set$/);
      return { member: Number(m[1]), other: Number(m[2]), relation: m[3] };
    }
    case 'floor': {
      const m = one(/^\+?OK floor (none|\d+)$/);
      return { holder: m[1] === 'none' ? null : Number(m[1]) };
    }
    case 'play': {
      const m = one(/^(?:\+OK )?\(play\) Playing file (\S+)(?: to member (\d+))?$/);
      if (m[1] !== c.file) throw new Unrecognized();
      if ((m[2] === undefined) !== (c.member === undefined) || (m[2] !== undefined && Number(m[2]) !== c.member)) {
        throw new Unrecognized();
      }
      return c.member === undefined ? { file: m[1] } : { file: m[1], member: c.member };
    }
    case 'stop': {
      const m = one(/^(?:\+OK )?Stopped (\d+) files?\.?$/);
      return { stopped: Number(m[1]) };
    }
    case 'record': {
      const m = one(/^(?:\+OK )?Record file (\S+)$/);
      return { path: m[1] };
    }
    case 'norecord': {
      // `Stopped recording file <path>` per file, then `+OK Stopped recording <n> files`. (1.10 reports
      // n=0 even after stopping one — see api-replies.txt — so the file lines are the truth.)
      const stoppedFiles: string[] = [];
      let reported: number | undefined;
      for (const line of lines(body)) {
        const f = /^Stopped recording file (.+)$/.exec(line);
        if (f) {
          stoppedFiles.push(f[1]!);
          continue;
        }
        const t = /^(?:\+OK )?Stopped recording (\d+) files?$/.exec(line);
        if (!t || reported !== undefined) throw new Unrecognized();
        reported = Number(t[1]);
      }
      if (reported === undefined) throw new Unrecognized();
      return { stoppedFiles, reported };
    }
    case 'get':
      return parseGet(c.param, body);
    case 'set': {
      // conference_api_sub_set writes the previous value and nothing else.
      const previous = body === NO_OUTPUT_REPLY ? '' : body;
      if (previous.includes('\n')) throw new Unrecognized();
      if (c.param !== 'max_members') return { param: c.param, previous, value: c.value };
      const before = toInt(previous);
      if (before === undefined) throw new Unrecognized();
      return { param: c.param, previous: before, value: Number(c.value) };
    }
    case 'say':
      one(c.member === undefined ? /^\(say\) OK$/ : /^\(saymember\) OK$/);
      return c.member === undefined ? { text: c.text } : { text: c.text, member: c.member };
    case 'count': {
      const n = toInt(body);
      if (n === undefined || n < 0) throw new Unrecognized();
      return n;
    }
    case 'list':
      return parseListLines(body);
    case 'json_list': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        throw new Unrecognized();
      }
      if (!Array.isArray(parsed)) throw new Unrecognized();
      return parsed;
    }
    default:
      // A command kind this parser does not know cannot have a known success text.
      throw new Unrecognized();
  }
}

/**
 * Turns the api/response body for `command` (sent as `apiCommand` to `node`) into a CommandResult,
 * or throws the typed error the reply means. Never returns success for a reply it does not know.
 */
export function parseReply(command: ConferenceCommand, apiCommand: string, node: string, rawBody: string): CommandResult {
  const body = rawBody.replace(/\s+$/, '');
  const ctx: ErrorContext = { command, apiCommand, raw: body };
  const error = matchReplyError(body, ctx);
  if (error) throw error;
  let data: unknown;
  try {
    data = parseSuccess(command, body);
  } catch (err) {
    if (err instanceof Unrecognized) throw new UnrecognizedReplyError(apiCommand, body);
    throw err;
  }
  return data === undefined ? { command: apiCommand, node, reply: body } : { command: apiCommand, node, reply: body, data };
}
