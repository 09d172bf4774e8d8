/**
 * Operator commands: read and act on a running service through its HTTP API, print readable tables.
 * `member` targets: a member id, `non_moderator` (the seed's "participants" action: everyone except
 * moderators) or `all` (every member, moderators included).
 */
import { loadConfigFile } from '../config/index.js';
import { UsageError } from './errors.js';
import { EXIT } from './exit-codes.js';
import type { CliIo, CliValues } from './run.js';
import { ServiceClient } from './service-client.js';
import { formatDuration, renderTable } from './table.js';

const MEMBER_ACTIONS = new Set(['mute', 'unmute', 'deaf', 'undeaf', 'kick']);
const CONFERENCE_ACTIONS = new Set(['lock', 'unlock']);
export const OPERATOR_COMMANDS: ReadonlySet<string> = new Set(['conferences', 'participants', ...MEMBER_ACTIONS, ...CONFERENCE_ACTIONS]);

export function clientFrom(values: CliValues, env: NodeJS.ProcessEnv): ServiceClient {
  const config = values.config ? loadConfigFile(values.config, { env }) : undefined;
  const fromConfig = config
    ? `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${config.http.port}`
    : undefined;
  const url = values.url ?? env.CONFMGR_URL ?? fromConfig ?? 'http://127.0.0.1:8000';
  if (!/^https?:\/\/\S+$/.test(url)) throw new UsageError(`--url: expected http://host:port (got "${url}")`);
  const token = values.token ?? env.CONFMGR_TOKEN ?? config?.http.tokens[0]?.token;
  const accountId =
    values.account ??
    env.CONFMGR_ACCOUNT ??
    config?.http.tokens.find((t) => t.token === token)?.accountId ??
    config?.http.tokens[0]?.accountId;
  if (!accountId) throw new UsageError('no account: pass --account ID (or CONFMGR_ACCOUNT, or --config with http.tokens)');
  return new ServiceClient({ url, accountId, ...(token ? { token } : {}) });
}

export async function runOperatorCommand(command: string, args: string[], values: CliValues, io: CliIo): Promise<number> {
  const expected = command === 'conferences' ? 0 : command === 'participants' || CONFERENCE_ACTIONS.has(command) ? 1 : 2;
  if (args.length !== expected) {
    const shape =
      command === 'conferences' ? 'conferences' : expected === 1 ? `${command} <conf>` : `${command} <conf> <member-id|all|non_moderator>`;
    throw new UsageError(`usage: confmgr ${shape}`);
  }
  const client = clientFrom(values, io.env);
  const [conference, target] = args as [string, string];
  const print = (data: unknown, table: () => string) => io.out(values.json ? `${JSON.stringify(data, null, 2)}\n` : table());

  if (command === 'conferences') {
    const data = await client.listConferences();
    print(data, () => conferencesTable(asList(data)));
    return EXIT.OK;
  }
  if (command === 'participants') {
    const data = await client.listParticipants(conference);
    print(data, () => participantsTable(asList(data)));
    return EXIT.OK;
  }
  if (CONFERENCE_ACTIONS.has(command)) {
    const data = await client.conferenceAction(conference, command);
    print(data, () => `OK: ${command} ${conference}\n`);
    return EXIT.OK;
  }
  // member actions
  let data: unknown;
  // Bulk: the service applies `data.target` as asked (its default without one is the seed's).
  if (target === 'non_moderator' || target === 'all') data = await client.participantsAction(conference, command, target);
  else if (/^[1-9]\d{0,9}$/.test(target)) data = await client.participantAction(conference, Number(target), command);
  else throw new UsageError(`member: expected a member id, "all" or "non_moderator" (got "${target}")`);
  print(data, () => `OK: ${command} ${conference} ${target}\n`);
  return EXIT.OK;
}

function asList(data: unknown): Record<string, unknown>[] {
  if (Array.isArray(data)) return data as Record<string, unknown>[];
  const d = data as Record<string, unknown> | undefined;
  const nested = (d?._read_only as Record<string, unknown> | undefined)?.participants ?? d?.participants;
  return Array.isArray(nested) ? (nested as Record<string, unknown>[]) : [];
}

/**
 * Why a running conference may be missing: the API only shows an account's conferences, and a
 * conference belongs to an account through a document or its callers' channel variables (src/api/account.ts).
 */
export const NO_CONFERENCES_HINT =
  'No conferences.\n' +
  '  (A running conference is listed once it belongs to this account: create a conference document\n' +
  '   with its name as id, PUT /v2/accounts/<account>/conferences {"data":{"id":"<name>","name":"<name>"}},\n' +
  '   or give its calls an account_id / ecallmgr_Account-ID channel variable with verbose-events on.)\n';

export function conferencesTable(list: Record<string, unknown>[]): string {
  if (list.length === 0) return NO_CONFERENCES_HINT;
  return renderTable(
    ['conference', 'name', 'members', 'moderators', 'locked', 'duration'],
    list.map((c) => {
      const ro = (c._read_only ?? c) as Record<string, unknown>;
      return [c.id ?? c.name, c.name ?? '-', ro.members, ro.admins, ro.is_locked, formatDuration(ro.duration as number | undefined)];
    }),
  );
}

export function participantsTable(list: Record<string, unknown>[]): string {
  if (list.length === 0) return 'No participants.\n';
  const sorted = [...list].sort((a, b) => Number(a.participant_id) - Number(b.participant_id));
  return renderTable(
    ['id', 'caller', 'moderator', 'speak', 'hear', 'talking', 'floor', 'duration', 'call_id'],
    sorted.map((p) => [
      p.participant_id,
      callerOf(p),
      p.is_moderator,
      p.speak,
      p.hear,
      p.talking,
      p.floor,
      formatDuration(p.duration as number | undefined),
      p.call_id,
    ]),
  );
}

function callerOf(p: Record<string, unknown>): string {
  const vars = (p.channel_vars ?? {}) as Record<string, string>;
  const name = (p.caller_id_name as string | undefined) ?? vars.caller_id_name;
  const number = (p.caller_id_number as string | undefined) ?? vars.caller_id_number;
  if (name && number) return `${name} <${number}>`;
  return name ?? number ?? '-';
}
