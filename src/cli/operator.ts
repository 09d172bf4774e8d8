/**
 * Operator commands: read and act on a running service through its HTTP API, print readable tables.
 * `member` targets: a member id, `non_moderator` (Kazoo's "participants" action: everyone except
 * moderators) or `all` (every member, moderators included).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { clientUrlFor, loadHttpSettings, type HttpSettings } from '../config/index.js';
import { ConfmgrError } from '../util/index.js';
import { UsageError } from './errors.js';
import { EXIT } from './exit-codes.js';
import type { CliIo } from './io.js';
import type { CliValues } from './options.js';
import { ServiceClient } from '../client/index.js';
import { formatDuration, renderTable } from '../client/index.js';

const MEMBER_ACTIONS = new Set(['mute', 'unmute', 'deaf', 'undeaf', 'kick']);
const CONFERENCE_ACTIONS = new Set(['lock', 'unlock']);
export const OPERATOR_COMMANDS: ReadonlySet<string> = new Set(['conferences', 'nodes', 'participants', ...MEMBER_ACTIONS, ...CONFERENCE_ACTIONS]);

/**
 * Where the operator commands look for the service's config file when given no --config, no
 * CONFMGR_CONFIG and none of --url/--token/--account (nor their variables): relative to the current
 * directory, first found wins. The last one makes `confmgr start --config config/confmgr.example.yaml`
 * in one shell and `confmgr conferences` in another work out of the box.
 */
export const CONFIG_CANDIDATES: readonly string[] = ['confmgr.yaml', 'config/confmgr.yaml', 'config/confmgr.example.yaml'];

export interface ClientSettings {
  client: ServiceClient;
  url: string;
  accountId: string;
  /** The config file the settings came from, when one was read. */
  file: string | undefined;
  /** Whether that file was found by looking for CONFIG_CANDIDATES (not named by the operator). */
  discovered: boolean;
}

/**
 * URL, token and account, each from (first wins): its flag, its variable (CONFMGR_URL / CONFMGR_TOKEN /
 * CONFMGR_ACCOUNT), the config file (http.listen; the token of the account asked for, else of
 * http.default_account_id, else the first token; that token's account).
 */
export function clientSettingsFrom(values: CliValues, env: NodeJS.ProcessEnv, cwd: string = process.cwd()): ClientSettings {
  const flagUrl = values.url ?? env.CONFMGR_URL;
  const flagToken = values.token ?? env.CONFMGR_TOKEN;
  const flagAccount = values.account ?? env.CONFMGR_ACCOUNT;
  const named = values.config ?? env.CONFMGR_CONFIG;
  const nothingGiven = flagUrl === undefined && flagToken === undefined && flagAccount === undefined;
  const found = named === undefined && nothingGiven ? CONFIG_CANDIDATES.find((f) => existsSync(resolve(cwd, f))) : undefined;
  const file = named ?? found;
  const settings: HttpSettings | undefined = file === undefined ? undefined : loadHttpSettings(resolve(cwd, file), env);

  const url = flagUrl ?? (settings ? clientUrlFor(settings.host, settings.port) : 'http://127.0.0.1:8000');
  if (!/^https?:\/\/\S+$/.test(url)) throw new UsageError(`--url: expected http://host:port (got "${url}")`);
  const tokens = settings?.tokens ?? [];
  const chosen =
    flagToken === undefined
      ? ((flagAccount !== undefined ? tokens.find((t) => t.accountId === flagAccount) : undefined) ??
        tokens.find((t) => t.accountId === settings?.defaultAccountId) ??
        tokens[0])
      : undefined;
  const token = flagToken ?? chosen?.token;
  const accountId = flagAccount ?? tokens.find((t) => t.token === token)?.accountId ?? tokens[0]?.accountId;
  // Without a token the service answers 401, which says enough; a token_env the file names but this
  // shell lacks is worth saying before that.
  const unresolved = !token && settings?.unresolvedTokenEnv.length ? ` (${file}: ${settings.unresolvedTokenEnv.join(', ')} not set in this shell)` : '';
  if (!accountId || unresolved) {
    const looked = file === undefined && nothingGiven ? ` (no --config; looked for ${CONFIG_CANDIDATES.join(', ')})` : '';
    throw new UsageError(
      `${unresolved ? 'no API token' : 'no account'}: pass --token TOKEN --account ID (or CONFMGR_TOKEN / CONFMGR_ACCOUNT), ` +
        `or --config FILE (or CONFMGR_CONFIG) with http.tokens${unresolved}${looked}`,
    );
  }
  return { client: new ServiceClient({ url, accountId, ...(token ? { token } : {}) }), url, accountId, file, discovered: found !== undefined };
}

export async function runOperatorCommand(command: string, args: string[], values: CliValues, io: CliIo): Promise<number> {
  const expected = command === 'conferences' || command === 'nodes' ? 0 : command === 'participants' || CONFERENCE_ACTIONS.has(command) ? 1 : 2;
  if (args.length !== expected) {
    const shape = expected === 0 ? command : expected === 1 ? `${command} <conf>` : `${command} <conf> <member-id|all|non_moderator>`;
    throw new UsageError(`usage: confmgr ${shape}`);
  }
  const settings = clientSettingsFrom(values, io.env, io.cwd);
  try {
    return await runWith(settings.client, command, args, values, io);
  } catch (err) {
    // Say where the connection settings came from when they did not work.
    if (settings.file !== undefined && err instanceof ConfmgrError && ['SERVICE_UNREACHABLE', 'UNAUTHORIZED', 'FORBIDDEN'].includes(err.code)) {
      io.err(`confmgr: (${settings.url}, account ${settings.accountId}: from ${settings.discovered ? 'the config file found, ' : ''}${settings.file})\n`);
    }
    throw err;
  }
}

async function runWith(client: ServiceClient, command: string, args: string[], values: CliValues, io: CliIo): Promise<number> {
  const [conference, target] = args as [string, string];
  const print = (data: unknown, table: () => string) => io.out(values.json ? `${JSON.stringify(data, null, 2)}\n` : table());

  if (command === 'conferences') {
    const { data, partial, missing } = await client.listConferencesGathered();
    print(data, () => conferencesTable(asList(data)));
    if (partial) io.err(partialNote(missing));
    return EXIT.OK;
  }
  if (command === 'nodes') {
    const { data, partial, missing } = await client.listNodes();
    print(data, () => nodesTable(asList(data)));
    if (partial) io.err(partialNote(missing));
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
  // Bulk: the service applies `data.target` as asked (its default without one is Kazoo's).
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
 * conference belongs to an account through a document or its callers' channel variables (src/records/account.ts).
 */
export const NO_CONFERENCES_HINT =
  'No conferences.\n' +
  '  (A running conference is listed once it belongs to this account: create a conference document\n' +
  '   with its name as id, PUT /v2/accounts/<account>/conferences {"data":{"id":"<name>","name":"<name>"}},\n' +
  '   give its calls an account_id / ecallmgr_Account-ID channel variable with verbose-events on,\n' +
  '   or set http.default_account_id in the service config: conferences nothing else attributes are its.)\n';

/** What a partial cluster-wide answer lacks, for stderr (the table itself stays parseable). */
export function partialNote(missing: readonly string[]): string {
  return `confmgr: partial: ${missing.length > 0 ? `no answer in time from ${missing.join(', ')}` : 'the other instances could not be asked'}; what they serve is not listed\n`;
}

export function conferencesTable(list: Record<string, unknown>[]): string {
  if (list.length === 0) return NO_CONFERENCES_HINT;
  // Conferences on several FreeSWITCH nodes (the cluster view): say which node hosts each.
  const foci = new Set(list.map((c) => c.focus).filter((f) => f !== undefined));
  const withFocus = foci.size > 1;
  return renderTable(
    ['conference', 'name', 'members', 'moderators', 'locked', 'duration', ...(withFocus ? ['focus'] : [])],
    list.map((c) => {
      const ro = (c._read_only ?? c) as Record<string, unknown>;
      const row = [c.id ?? c.name, c.name ?? '-', ro.members, ro.admins, ro.is_locked, formatDuration(ro.duration as number | undefined)];
      return withFocus ? [...row, c.focus] : row;
    }),
  );
}

/** `confmgr nodes`: one row per node and instance, the active one first. */
export function nodesTable(list: Record<string, unknown>[], now: number = Date.now()): string {
  if (list.length === 0) return 'No FreeSWITCH nodes.\n';
  const rank = (s: unknown): number => (s === 'active' ? 0 : s === 'standby' ? 1 : 2);
  const sorted = [...list].sort((a, b) => String(a.node).localeCompare(String(b.node)) || rank(a.state) - rank(b.state) || String(a.instance).localeCompare(String(b.instance)));
  return renderTable(
    ['node', 'instance', 'state', 'connected', 'since', 'takeovers'],
    sorted.map((n) => {
      const since = typeof n.since === 'string' ? Date.parse(n.since) : NaN;
      return [n.node, n.instance, n.state, n.connected, Number.isFinite(since) ? `${formatDuration((now - since) / 1000)} ago` : '-', n.takeovers];
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
