/**
 * Loads the operator file: YAML → CONFMGR_* overrides → zod validation → secrets from the environment →
 * the resolved `Config` the rest of the process uses (camelCase, nothing optional left to guess).
 * Every problem is collected into one ConfigError naming each key; nothing is started before this passes.
 */
import type { z } from 'zod';
import { ConfigError, shorten, type ConfigIssue } from './errors.js';
import { applyEnvOverrides, formatPath, type AppliedOverride } from './overrides.js';
import { fileSchema, isAmqpUrlList, type ConfigFile } from './schema.js';
import { knownEventNames } from './known-events-source.js';
import { crossChecks } from './cross-checks.js';
import { parseYamlMapping } from './yaml-document.js';
import { readConfigText } from './read-file.js';
import { aboutEnvVariable, hasCredentials, isSecretPath } from './secret-values.js';
import { httpLimits, type HttpLimits } from './http-limits.js';

export interface FreeswitchNodeConfig {
  name: string;
  host: string;
  port: number;
  /** Resolved (from `password` or the `password_env` variable). Never log it. */
  password: string;
  commandConnections: number;
}

export interface ApiToken {
  /** Resolved secret. Never log it. */
  token: string;
  accountId: string;
}

/** What the API's `focus` names (config `http.focus`). */
type FocusSource = ConfigFile['http']['focus'];

export interface Config {
  appName: string;
  freeswitch: {
    nodes: FreeswitchNodeConfig[];
    reconnect: { baseMs: number; capMs: number };
    connectTimeoutMs: number;
    apiTimeoutMs: number;
    downGraceMs: number;
    /** How a resync lists the node's conferences (ConferenceStateSync `listing`). */
    resyncListing: 'whole' | 'paged';
    maxQueuedCommands: number;
    livenessIntervalMs: number;
    /** 0 disables the event connection's silence watchdog. */
    heartbeatTimeoutMs: number;
  };
  amqp: {
    /** Resolved (from `url` or `url_env`, default amqp://guest:guest@127.0.0.1:5672). Log only via redactUrl. */
    url: string;
    exchange: string;
    bufferSize: number;
    /** MB of buffered encoded events kept in memory; the rest waits in a temporary file. */
    bufferMemoryMb: number;
    writeCoalesceMs: number;
    commandQueue: string;
    /** Type of the durable queues confmgr declares: `quorum` on a RabbitMQ cluster. */
    queueType: 'classic' | 'quorum';
    reconnect: { baseMs: number; capMs: number };
    flushTimeoutMs: number;
  };
  /** undefined → publish every event; [] → none. */
  publishParticipantEvent: string[] | undefined;
  /** `defaultAccountId`: owner of running conferences nothing else attributes (see src/records/account.ts). */
  http: { host: string; port: number; tokens: ApiToken[]; defaultAccountId: string | undefined; limits: HttpLimits; console: boolean; focus: FocusSource };
  /** SQLite file (`path`, `:memory:` allowed) or PostgreSQL (`url`, resolved; never log it). */
  storage: { driver: 'sqlite'; path: string } | { driver: 'postgres'; url: string; poolMax?: number };
  /** Directories `record` / `norecord` command paths must be under (ConferenceControl's recordingDirs). */
  recordings: { dirs: string[] };
  /** The entry service (outbound Event Socket); absent when `entry.listen` is not set. Prompts: sound files replacing the tones. */
  entry?: {
    host: string;
    port: number;
    pinTimeoutMs: number;
    pinDigitTimeoutMs: number;
    namesDir: string;
    prompts: Partial<Record<'pin' | 'invalidPin' | 'pinFailed' | 'notFound' | 'locked' | 'full' | 'name', string>>;
  };
  /** Template resolving a Kazoo media id for `play` (`{media_id}`, `{account_id}`); undefined: not resolved. */
  media: { location: string | undefined };
  log: { level: string; pretty: boolean | undefined };
  shutdown: { timeoutMs: number };
  memory: { compact: boolean };
  /** Standby pairs per FreeSWITCH node (src/bus/node-lease.ts); disabled: no lease, every node served. */
  ha: { enabled: boolean; takeoverMs: number; settleMs: number; holdSize: number; heartbeatS: number; commandWaitMs: number };
  /** The cluster-wide view of the REST API and CLI (src/bus/cluster-view.ts). */
  clusterView: { enabled: boolean; gatherMs: number; forwardTimeoutMs: number };
}

/** Unknown keys named in one issue (a mapping may hold thousands). */
const MAX_UNKNOWN_KEYS_SHOWN = 20;

export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Event names accepted in publish_participant_event (default: the conference layer's list). */
  knownEvents?: readonly string[];
}

export function loadConfigFile(file: string, options: LoadOptions = {}): Config {
  const text = readConfigText(file);
  return parseConfig(text, file, options);
}

export function parseConfig(text: string, source: string, options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const raw = parseYamlMapping(text, source);
  const overrides = applyEnvOverrides(raw, env);
  const result = fileSchema(options.knownEvents ?? knownEventNames()).safeParse(raw);
  const issues = [
    ...(result.success ? [] : result.error.issues.map((i) => describeIssue(i, raw, overrides))),
    ...crossChecks(raw),
  ];
  if (!result.success || issues.length > 0) throw new ConfigError(source, issues);
  return resolve(result.data, env, source);
}

function resolve(file: ConfigFile, env: NodeJS.ProcessEnv, source: string): Config {
  const issues: ConfigIssue[] = [];
  const fromEnv = (key: string, name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') {
      issues.push({ key, message: aboutEnvVariable(name, 'is not set') });
      return '';
    }
    return value;
  };

  const nodes = file.freeswitch.nodes.map((n, i) => ({
    name: n.name,
    host: n.host.replace(/^\[(.*)\]$/, '$1'),
    port: n.port,
    password: n.password ?? fromEnv(`freeswitch.nodes[${i}].password_env`, n.password_env!),
    commandConnections: n.command_connections,
  }));

  let url = file.amqp.url ?? (file.amqp.url_env ? fromEnv('amqp.url_env', file.amqp.url_env) : DEFAULT_AMQP_URL);
  if (file.amqp.url_env && url !== '' && !isAmqpUrlList(url)) {
    issues.push({ key: 'amqp.url_env', message: aboutEnvVariable(file.amqp.url_env, 'is not an amqp:// or amqps:// URL') });
    url = '';
  }

  const tokens = file.http.tokens.map((t, i) => {
    const token = t.token ?? fromEnv(`http.tokens[${i}].token_env`, t.token_env!);
    if (t.token_env && token !== '' && token.length < 16) {
      issues.push({ key: `http.tokens[${i}].token_env`, message: aboutEnvVariable(t.token_env, 'holds a token shorter than 16 characters') });
    }
    return { token, accountId: t.account_id };
  });

  const listen = file.http.listen;
  const colon = listen.lastIndexOf(':');
  const http = {
    host: listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1'),
    port: Number(listen.slice(colon + 1)),
    tokens,
    defaultAccountId: file.http.default_account_id,
    limits: httpLimits(file.http.limits),
    console: file.http.console,
    focus: file.http.focus,
  };

  const st = file.storage;
  let storage: Config['storage'];
  if (st.url !== undefined || st.url_env !== undefined) {
    const pgUrl = st.url ?? fromEnv('storage.url_env', st.url_env!);
    if (st.url_env && pgUrl !== '' && !/^postgres(ql)?:\/\/\S+$/.test(pgUrl)) {
      issues.push({ key: 'storage.url_env', message: aboutEnvVariable(st.url_env, 'is not a postgres:// URL') });
    }
    storage = { driver: 'postgres', url: pgUrl, ...(st.pool_max !== undefined ? { poolMax: st.pool_max } : {}) };
  } else {
    storage = { driver: 'sqlite', path: st.path ?? './data/confmgr.sqlite' };
  }

  if (issues.length > 0) throw new ConfigError(source, issues);

  return {
    appName: file.app_name,
    freeswitch: {
      nodes,
      reconnect: { baseMs: file.freeswitch.reconnect.base_ms, capMs: file.freeswitch.reconnect.cap_ms },
      connectTimeoutMs: file.freeswitch.connect_timeout_ms,
      apiTimeoutMs: file.freeswitch.api_timeout_ms,
      downGraceMs: file.freeswitch.down_grace_ms,
      resyncListing: file.freeswitch.resync_listing,
      maxQueuedCommands: file.freeswitch.max_queued_commands,
      livenessIntervalMs: file.freeswitch.liveness_interval_ms,
      heartbeatTimeoutMs: file.freeswitch.heartbeat_timeout_ms,
    },
    amqp: {
      url,
      exchange: file.amqp.exchange,
      bufferSize: file.amqp.buffer_size,
      bufferMemoryMb: file.amqp.buffer_memory_mb,
      writeCoalesceMs: file.amqp.write_coalesce_ms,
      commandQueue: file.amqp.command_queue,
      queueType: file.amqp.queue_type,
      reconnect: { baseMs: file.amqp.reconnect.base_ms, capMs: file.amqp.reconnect.cap_ms },
      flushTimeoutMs: file.amqp.flush_timeout_ms,
    },
    publishParticipantEvent: file.publish_participant_event ?? undefined,
    http,
    storage,
    recordings: { dirs: file.recordings.dirs },
    ...entrySettings(file.entry),
    media: { location: file.media.location },
    log: { level: file.log.level, pretty: file.log.pretty },
    shutdown: { timeoutMs: file.shutdown.timeout_ms },
    memory: { compact: file.memory.compact },
    ha: { enabled: file.ha.enabled, takeoverMs: file.ha.takeover_ms, settleMs: file.ha.settle_ms, holdSize: file.ha.hold_size, heartbeatS: file.ha.heartbeat_s, commandWaitMs: file.ha.command_wait_ms },
    clusterView: {
      enabled: file.cluster_view.enabled ?? file.ha.enabled,
      gatherMs: file.cluster_view.gather_ms,
      forwardTimeoutMs: file.cluster_view.forward_timeout_ms,
    },
  };
}

function entrySettings(entry: ConfigFile['entry']): Pick<Config, 'entry'> {
  if (entry.listen === undefined) return {};
  const colon = entry.listen.lastIndexOf(':');
  const p = entry.prompts;
  const prompts: NonNullable<Config['entry']>['prompts'] = {};
  for (const [key, value] of [
    ['pin', p.pin],
    ['invalidPin', p.invalid_pin],
    ['pinFailed', p.pin_failed],
    ['notFound', p.not_found],
    ['locked', p.locked],
    ['full', p.full],
    ['name', p.name],
  ] as const) {
    if (value !== undefined) prompts[key] = value;
  }
  return {
    entry: {
      host: entry.listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1'),
      port: Number(entry.listen.slice(colon + 1)),
      pinTimeoutMs: entry.pin_timeout_ms,
      pinDigitTimeoutMs: entry.pin_digit_timeout_ms,
      namesDir: entry.names_dir.replace(/\/+$/, '') || '/',
      prompts,
    },
  };
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown, overrides: AppliedOverride[]): ConfigIssue {
  if (issue.code === 'unrecognized_keys') {
    const base = formatPath(issue.path);
    const keys = issue.keys.slice(0, MAX_UNKNOWN_KEYS_SHOWN).map((k) => shorten(base === '' ? k : `${base}.${k}`));
    if (issue.keys.length > keys.length) keys.push(`… ${issue.keys.length - keys.length} more`);
    return { key: keys.join(', '), message: `unknown key${issue.keys.length > 1 ? 's' : ''} (misspelt, or not supported)` };
  }
  const key = formatPath(issue.path);
  let message = issue.message;
  const value = valueAt(raw, issue.path);
  if (value === undefined && issue.code === 'invalid_type') message = `missing: ${message}`;
  else if (
    value !== undefined &&
    (value === null || typeof value !== 'object') &&
    !(issue.code === 'too_big' && typeof value === 'string') && // "at most N characters" says it; no need to quote it
    !isSecretPath(issue.path) &&
    !hasCredentials(value)
  ) {
    const shown = shorten(JSON.stringify(value));
    if (!message.includes(shown)) message += ` (got ${shown})`;
  }
  const from = overrides.find((o) => o.key === key || key.startsWith(`${o.key}[`) || key.startsWith(`${o.key}.`));
  if (from) message += ` [from ${from.variable}]`;
  return { key, message };
}

function valueAt(raw: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let cur: unknown = raw;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}
