/**
 * Pure translation of AMQP command messages into ConferenceCommands, and of outcomes into replies.
 *
 * Two request forms (JSON bodies):
 *  1. Kazoo kapi_conference: `{"Event-Category":"conference","Event-Name":"command",
 *     "Application-Name":"mute_participant","Conference-ID":"c1","Participant-ID":3}`.
 *     Participant-ID may also be "all" | "last" | "non_moderator", or an array (bulk: one command
 *     per id, one reply listing each outcome).
 *  2. confmgr's own: `{"command": <ConferenceCommand>}` or `{"commands": [<ConferenceCommand>, ...]}`
 *     (src/conference/types.ts); `conference` may be omitted and is then taken from the routing key.
 * Mapping follows ecallmgr_conference_command.erl (kick → hup, relate mute/deaf → nospeak/nohear).
 */
import { z } from 'zod';
import type { CommandResult, ConferenceCommand, MemberTarget } from '../conference/types.js';
import { ConfmgrError } from '../util/errors.js';
import { InvalidCommandMessageError } from './errors.js';
import { parseRoutingKey } from './routing.js';

export const KAZOO_APPLICATIONS = [
  'mute_participant',
  'unmute_participant',
  'deaf_participant',
  'undeaf_participant',
  'kick',
  'lock',
  'unlock',
  'play',
  'stop_play',
  'record',
  'recordstop',
  'participant_energy',
  'participant_volume_in',
  'participant_volume_out',
  'relate_participants',
] as const;
export type KazooApplication = (typeof KAZOO_APPLICATIONS)[number];

export interface ParsedCommandMessage {
  /** One command, or several for bulk forms. */
  commands: ConferenceCommand[];
  bulk: boolean;
  /** Kazoo Application-Name when the Kazoo form was used. */
  application?: string;
  /** Kazoo Msg-ID, echoed in the reply. */
  msgId?: string;
}

// ---------------------------------------------------------------------------------------------
// Shared value schemas

const memberId = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/).transform(Number)]);
const target = z.union([memberId, z.enum(['all', 'last', 'non_moderator'])]);
const level = z.union([z.number().int(), z.string().regex(/^-?\d+$/).transform(Number)]);
const nonEmpty = z.string().min(1);

// ---------------------------------------------------------------------------------------------
// Kazoo form

const kazooSchema = z.looseObject({
  'Event-Category': z.literal('conference').optional(),
  'Event-Name': z.literal('command').optional(),
  'Application-Name': z.enum(KAZOO_APPLICATIONS),
  'Conference-ID': nonEmpty.optional(),
  'Participant-ID': z.union([target, z.array(target).min(1)]).optional(),
  'Other-Participant': memberId.optional(),
  Relationship: z.enum(['deaf', 'mute', 'clear']).optional(),
  'Media-Name': nonEmpty.optional(),
  Affects: z.enum(['current', 'all']).optional(),
  'Energy-Level': level.optional(),
  'Volume-In-Level': level.optional(),
  'Volume-Out-Level': level.optional(),
  'Msg-ID': z.string().optional(),
});
type KazooMessage = z.infer<typeof kazooSchema>;

function need<T>(value: T | undefined, field: string, app: string): T {
  if (value === undefined) throw new InvalidCommandMessageError(`${app} requires ${field}`, { field, application: app });
  return value;
}

function asMember(t: MemberTarget, app: string): number {
  if (typeof t !== 'number') throw new InvalidCommandMessageError(`${app} needs a numeric Participant-ID, got "${t}"`);
  return t;
}

function kazooToCommands(m: KazooMessage, conference: string): ConferenceCommand[] {
  const app = m['Application-Name'];
  const pid = m['Participant-ID'];
  const targets: MemberTarget[] | undefined = pid === undefined ? undefined : Array.isArray(pid) ? pid : [pid];
  const each = (fn: (t: MemberTarget) => ConferenceCommand, fallback?: MemberTarget): ConferenceCommand[] => {
    const list = targets ?? (fallback !== undefined ? [fallback] : undefined);
    return need(list, 'Participant-ID', app).map(fn);
  };
  switch (app) {
    case 'lock':
    case 'unlock':
      return [{ kind: app, conference }];
    case 'mute_participant':
      return each((t) => ({ kind: 'mute', conference, target: t }));
    case 'unmute_participant':
      return each((t) => ({ kind: 'unmute', conference, target: t }));
    case 'deaf_participant':
      return each((t) => ({ kind: 'deaf', conference, target: t }));
    case 'undeaf_participant':
      return each((t) => ({ kind: 'undeaf', conference, target: t }));
    case 'kick':
      // ecallmgr: `hup <Participant-ID | last>`.
      return each((t) => ({ kind: 'hup', conference, target: t }), 'last');
    case 'participant_energy': {
      const value = need(m['Energy-Level'], 'Energy-Level', app);
      return each((t) => ({ kind: 'energy', conference, target: t, value }));
    }
    case 'participant_volume_in': {
      const value = need(m['Volume-In-Level'], 'Volume-In-Level', app);
      return each((t) => ({ kind: 'volume_in', conference, target: t, value }));
    }
    case 'participant_volume_out': {
      const value = need(m['Volume-Out-Level'], 'Volume-Out-Level', app);
      return each((t) => ({ kind: 'volume_out', conference, target: t, value }));
    }
    case 'relate_participants': {
      const other = need(m['Other-Participant'], 'Other-Participant', app);
      const rel = m.Relationship ?? 'clear';
      const relation = rel === 'mute' ? 'nospeak' : rel === 'deaf' ? 'nohear' : 'clear';
      return each((t) => ({ kind: 'relate', conference, member: asMember(t, app), other, relation }));
    }
    case 'play': {
      const file = need(m['Media-Name'], 'Media-Name', app);
      if (targets === undefined) return [{ kind: 'play', conference, file }];
      return targets.map((t) => ({ kind: 'play', conference, file, member: asMember(t, app) }));
    }
    case 'stop_play': {
      const which = m.Affects ?? 'all';
      if (targets === undefined) return [{ kind: 'stop', conference, which }];
      return targets.map((t) => ({ kind: 'stop', conference, which, member: asMember(t, app) }));
    }
    case 'record':
      return [{ kind: 'record', conference, path: need(m['Media-Name'], 'Media-Name', app) }];
    case 'recordstop':
      return [{ kind: 'norecord', conference, path: need(m['Media-Name'], 'Media-Name', app) }];
  }
}

// ---------------------------------------------------------------------------------------------
// confmgr form: a ConferenceCommand with `conference` optional

const conf = { conference: nonEmpty.optional() };
const memberActions = ['mute', 'unmute', 'tmute', 'deaf', 'undeaf', 'kick', 'hup', 'hold', 'unhold'] as const;
const commandSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.enum(['lock', 'unlock']), ...conf }),
  z.strictObject({ kind: z.enum(memberActions), ...conf, target, quiet: z.boolean().optional() }),
  z.strictObject({ kind: z.enum(['energy', 'volume_in', 'volume_out']), ...conf, target, value: z.number().int().optional() }),
  z.strictObject({ kind: z.literal('relate'), ...conf, member: memberId, other: memberId, relation: z.enum(['nospeak', 'nohear', 'clear']) }),
  z.strictObject({ kind: z.literal('dtmf'), ...conf, target, digits: nonEmpty }),
  z.strictObject({ kind: z.literal('floor'), ...conf, member: memberId }),
  z.strictObject({ kind: z.literal('play'), ...conf, file: nonEmpty, member: memberId.optional(), async: z.boolean().optional() }),
  z.strictObject({ kind: z.literal('stop'), ...conf, which: z.enum(['current', 'all']), member: memberId.optional() }),
  z.strictObject({ kind: z.literal('record'), ...conf, path: nonEmpty }),
  z.strictObject({ kind: z.literal('norecord'), ...conf, path: nonEmpty }),
  z.strictObject({ kind: z.literal('get'), ...conf, param: nonEmpty }),
  z.strictObject({ kind: z.enum(['count', 'list', 'json_list']), ...conf }),
]);
const ownSchema = z.union([
  z.strictObject({ command: commandSchema }),
  z.strictObject({ commands: z.array(commandSchema).min(1).max(1000) }),
]);

// ---------------------------------------------------------------------------------------------

function issueText(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
    .join('; ');
}

function conferenceFromKey(routingKey: string): string | undefined {
  const parsed = parseRoutingKey(routingKey);
  return parsed?.kind === 'command' && parsed.conferenceId !== '' ? parsed.conferenceId : undefined;
}

/** Parses one message body; throws InvalidCommandMessageError with a precise message otherwise. */
export function parseCommandMessage(body: Buffer | string, routingKey: string): ParsedCommandMessage {
  let json: unknown;
  try {
    json = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err) {
    throw new InvalidCommandMessageError(`body is not JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InvalidCommandMessageError('body must be a JSON object');
  }
  const keyConference = conferenceFromKey(routingKey);

  if ('Application-Name' in json) {
    const r = kazooSchema.safeParse(json);
    if (!r.success) throw new InvalidCommandMessageError(`invalid Kazoo command: ${issueText(r.error)}`);
    const conference = r.data['Conference-ID'] ?? keyConference;
    if (conference === undefined) throw new InvalidCommandMessageError('Conference-ID is required');
    const commands = kazooToCommands(r.data, conference);
    const out: ParsedCommandMessage = {
      commands,
      bulk: Array.isArray(r.data['Participant-ID']),
      application: r.data['Application-Name'],
    };
    if (r.data['Msg-ID'] !== undefined) out.msgId = r.data['Msg-ID'];
    return out;
  }

  const r = ownSchema.safeParse(json);
  if (!r.success) {
    throw new InvalidCommandMessageError(
      `invalid command: expected {"command":{...}}, {"commands":[...]} or a Kazoo "Application-Name" message: ${issueText(r.error)}`,
    );
  }
  const list = 'command' in r.data ? [r.data.command] : r.data.commands;
  const commands = list.map((c) => {
    const conference = c.conference ?? keyConference;
    if (conference === undefined) throw new InvalidCommandMessageError('command.conference is required');
    return { ...c, conference } as ConferenceCommand;
  });
  return { commands, bulk: 'commands' in r.data };
}

// ---------------------------------------------------------------------------------------------
// Replies

export interface ReplyError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export type ItemOutcome = { status: 'success'; result: CommandResult } | { status: 'error'; error: ReplyError };

export interface CommandReply {
  status: 'success' | 'error';
  /** Single command: its result. */
  result?: CommandResult;
  /** Bulk: one outcome per command, in request order. */
  results?: ItemOutcome[];
  error?: ReplyError;
  // Kazoo-style envelope
  'Event-Category': 'conference';
  'Event-Name': 'command_resp' | 'conference_error';
  'Application-Name'?: string;
  'Msg-ID'?: string;
  'Error-Message'?: string;
}

/** The one table mapping thrown values to reply errors: ConfmgrError codes pass through. */
export function toReplyError(err: unknown): ReplyError {
  if (err instanceof ConfmgrError) {
    return err.details === undefined
      ? { code: err.code, message: err.message }
      : { code: err.code, message: err.message, details: err.details };
  }
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

export function buildReply(
  outcomes: ItemOutcome[],
  parsed: Pick<ParsedCommandMessage, 'bulk' | 'application' | 'msgId'> | undefined,
  failure?: unknown,
): CommandReply {
  const envelope = (ok: boolean): CommandReply => {
    const r: CommandReply = {
      status: ok ? 'success' : 'error',
      'Event-Category': 'conference',
      'Event-Name': ok ? 'command_resp' : 'conference_error',
    };
    if (parsed?.application !== undefined) r['Application-Name'] = parsed.application;
    if (parsed?.msgId !== undefined) r['Msg-ID'] = parsed.msgId;
    return r;
  };
  if (failure !== undefined) {
    const r = envelope(false);
    r.error = toReplyError(failure);
    r['Error-Message'] = r.error.message;
    return r;
  }
  if (parsed?.bulk) {
    const failed = outcomes.filter((o) => o.status === 'error').length;
    const r = envelope(failed === 0);
    r.results = outcomes;
    if (failed > 0) {
      r.error = { code: 'PARTIAL_FAILURE', message: `${failed} of ${outcomes.length} commands failed` };
      r['Error-Message'] = r.error.message;
    }
    return r;
  }
  const only = outcomes[0];
  if (!only) return buildReply([], parsed, new Error('no command'));
  if (only.status === 'success') {
    const r = envelope(true);
    r.result = only.result;
    return r;
  }
  const r = envelope(false);
  r.error = only.error;
  r['Error-Message'] = only.error.message;
  return r;
}
