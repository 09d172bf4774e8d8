/**
 * The operator file's shape (snake_case, as written in YAML), validated with zod.
 * Every object is strict so a misspelt key is reported instead of silently ignored.
 * Rules spanning several keys (x or x_env, unique names) are in cross-checks.ts, so they are reported even
 * when other keys are invalid too.
 * Numeric and boolean leaves also accept strings, because CONFMGR_* environment overrides are strings.
 * Every list and string has an upper bound (limits.ts).
 */
import { z } from 'zod';
import { envNameProblem } from './secret-values.js';
import { CONFIG_LIMITS as L } from './limits.js';
import { DEFAULT_RECORDING_DIRS, recordingDirProblem } from '../conference/index.js';

/** "8021" → 8021 (env overrides), numbers pass through; anything else is left for zod to reject. */
function numeric(value: unknown): unknown {
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return value;
}

function booleanish(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(v)) return true;
  if (['false', 'no', '0', 'off'].includes(v)) return false;
  return value;
}

/** "a, b" → ['a', 'b']; "" → [] (env overrides of list keys). */
function listish(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export const int = (min: number, max: number, what = 'an integer') =>
  z.preprocess(
    numeric,
    z
      .number({ error: `expected ${what} from ${min} to ${max}` })
      .int({ error: `expected ${what} from ${min} to ${max}` })
      .min(min, { error: `expected ${what} from ${min} to ${max}` })
      .max(max, { error: `expected ${what} from ${min} to ${max}` }),
  );

const bool = () => z.preprocess(booleanish, z.boolean({ error: 'expected true or false' }));

/** Checked first and aborting, so an oversized value gets this one message and no pattern check. */
const atMost = (max: number) => ({ error: `at most ${max} characters`, abort: true });

const nonEmpty = (what: string, max: number) =>
  z
    .string({ error: `expected ${what} (a string)` })
    .max(max, atMost(max))
    .trim()
    .min(1, { error: `${what} must not be empty` });

/** A password or token: it travels on one ESL line (`auth …`) or in one HTTP header. */
const secret = (min: number, minMessage: string) =>
  z
    .string({ error: 'expected a string' })
    .max(L.secretLength, atMost(L.secretLength))
    .min(min, { error: minMessage })
    // eslint-disable-next-line no-control-regex
    .regex(/^[^\x00-\x1f\x7f]*$/, { error: 'must not contain control characters' });

/** Never quotes the value in its message: a secret or URL pasted here by mistake stays unseen. */
const envName = z.string({ error: 'expected the name of an environment variable (a string)' }).superRefine((value, ctx) => {
  const problem = envNameProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const nodeName = z
  .string({ error: 'expected a node name (a string)' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, {
    error: 'expected a node name of letters, digits, "_", "." or "-" (at most 63 characters)',
  });

/** Host names and IP literals only: these end up in socket calls and log lines. */
const host = z
  .string({ error: 'expected a host name or IP address' })
  .max(L.hostLength, atMost(L.hostLength))
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*|[A-Za-z0-9]([A-Za-z0-9.-]{0,252}))$/, {
    error: 'expected a host name or IP address',
  });

export const nodeSchema = z
  .strictObject({
    name: nodeName,
    host,
    port: int(1, 65535, 'a TCP port').default(8021),
    password: secret(1, 'must not be empty').optional(),
    password_env: envName.optional(),
    command_connections: int(1, 64).default(2),
  });

const reconnectSchema = z
  .strictObject({
    base_ms: int(10, 600_000).default(500),
    cap_ms: int(100, 3_600_000).default(30_000),
  })
  .refine((r) => r.cap_ms >= r.base_ms, { path: ['cap_ms'], message: 'must be greater than or equal to base_ms' });

export const freeswitchSchema = z
  .strictObject(
    {
    nodes: z
      .array(nodeSchema, { error: 'expected a list of nodes' })
      .min(1, { error: 'at least one FreeSWITCH node is required' })
      .max(L.nodes, { error: `at most ${L.nodes} FreeSWITCH nodes` }),
    reconnect: reconnectSchema.prefault({}),
    connect_timeout_ms: int(100, 600_000).default(5_000),
    api_timeout_ms: int(100, 600_000).default(5_000),
    /** How long a node may stay down before its conferences are reported gone. */
    down_grace_ms: int(0, 3_600_000).default(30_000),
    /**
     * How a resync lists a node's conferences: `whole` (one `conference json_list`) or `paged`
     * (`conference list summary`, then `conference <name> json_list` each: no multi-MB reply).
     */
    resync_listing: z.enum(['whole', 'paged'], { error: 'expected whole or paged' }).default('whole'),
    max_queued_commands: int(1, 1_000_000).default(1_000),
    liveness_interval_ms: int(0, 3_600_000).default(15_000),
    /**
     * The event connection is replaced when neither an event (FreeSWITCH sends HEARTBEAT every 20 s by
     * default) nor a successful liveness probe was seen for this long; 0 disables the watchdog.
     */
    heartbeat_timeout_ms: int(0, 3_600_000).default(65_000),
    },
    { error: 'expected a mapping with `nodes:` (a list of FreeSWITCH nodes)' },
  );

/** `amqp://a,amqp://b`: the comma-separated form (also what `url_env` may hold). */
const AMQP_URL_LIST = /^amqps?:\/\/[^\s,]+(,\s*amqps?:\/\/[^\s,]+)*$/;

const amqpUrlList = z
  .string({ error: 'expected an amqp:// or amqps:// URL' })
  .max(L.urlLength, atMost(L.urlLength))
  .regex(AMQP_URL_LIST, { error: 'expected an amqp:// or amqps:// URL' });

/** Whether `text` is one AMQP URL or a comma-separated list of them (the `url_env` check). */
export function isAmqpUrlList(text: string): boolean {
  return AMQP_URL_LIST.test(text);
}

export const amqpSchema = z
  .strictObject({
    /** One broker, or the nodes of one RabbitMQ cluster (a list, or comma-separated): tried in turn. */
    url: z
      .preprocess((v) => (Array.isArray(v) && v.every((u) => typeof u === 'string') ? v.join(',') : v), amqpUrlList)
      .optional(),
    url_env: envName.optional(),
    exchange: nonEmpty('an exchange name', L.amqpNameLength).default('conference'),
    /** Events held while the broker is unreachable; beyond it the oldest are dropped (and counted). */
    buffer_size: int(1, 10_000_000).default(100_000),
    /**
     * MB of that buffer's encoded events held in memory; beyond, the buffer continues in a temporary
     * file (unlinked at once, in TMPDIR) and is read back from it in order. Bounded by buffer_size.
     */
    buffer_memory_mb: int(4, 4096).default(4),
    /** After a publish write, the next waits this long unless a batch is pending (fewer socket writes at a steady rate). */
    write_coalesce_ms: int(0, 50).default(2),
    /** Queue the command intake consumes (RPC: reply_to + correlation_id). */
    command_queue: nonEmpty('a queue name', L.amqpNameLength).default('confmgr.commands'),
    /**
     * Type of the durable queues confmgr declares (the shared command queue, its dead-letter queue).
     * On a RabbitMQ cluster a classic queue lives on one node and is unusable while that node is down;
     * a quorum queue is replicated and survives the loss of a minority of the nodes.
     */
    queue_type: z.enum(['classic', 'quorum'], { error: 'expected classic or quorum' }).default('classic'),
    reconnect: reconnectSchema.prefault({}),
    /** On shutdown, how long to wait for buffered events to be confirmed by the broker. */
    flush_timeout_ms: int(0, 600_000).default(5_000),
  });

const accountId = z
  .string({ error: 'expected an account id (a string)' })
  .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected an account id of letters, digits, "_" or "-" (1-64)' });

const tokenSchema = z
  .strictObject({
    token: secret(16, 'must be at least 16 characters').optional(),
    token_env: envName.optional(),
    account_id: accountId,
  });

/** Bounds of the HTTP server and its WebSocket (what one client may hold or send); see src/config/http-limits.ts. */
export const httpLimitsSchema = z
  .strictObject({
    max_connections: int(1, 1_000_000).default(1_000),
    max_connections_per_address: int(1, 1_000_000).default(100),
    headers_timeout_ms: int(100, 600_000).default(10_000),
    request_timeout_ms: int(100, 3_600_000).default(30_000),
    keep_alive_timeout_ms: int(100, 600_000).default(5_000),
    body_bytes: int(1_024, 64 * 1024 * 1024).default(128 * 1024),
    websocket_auth_timeout_ms: int(100, 600_000).default(5_000),
    websocket_message_bytes: int(1_024, 16 * 1024 * 1024).default(64 * 1024),
    websocket_subscriptions: int(1, 10_000).default(100),
    websocket_write_coalesce_ms: int(0, 100).default(16),
  })
  .refine((l) => l.request_timeout_ms >= l.headers_timeout_ms, {
    path: ['request_timeout_ms'],
    message: 'must be greater than or equal to headers_timeout_ms',
  });

export const httpSchema = z.strictObject({
  /** host:port, e.g. 127.0.0.1:8000 or [::1]:8000; port 0 picks a free port. */
  listen: z
    .string({ error: 'expected host:port' })
    .max(L.listenLength, atMost(L.listenLength))
    .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: 'expected host:port, e.g. 127.0.0.1:8000', abort: true })
    .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, { error: 'port must be from 0 to 65535' })
    .default('127.0.0.1:8000'),
  tokens: z
    .array(tokenSchema, { error: 'expected a list of {token, account_id}' })
    .max(L.tokens, { error: `at most ${L.tokens} tokens` })
    .default([]),
  /**
   * The account of running conferences nothing else attributes (no conference document, no
   * `ecallmgr_Account-ID` / `account_id` channel variable). Absent: such conferences belong to no
   * account and the API does not show them.
   */
  default_account_id: accountId.optional(),
  limits: httpLimitsSchema.prefault({}),
  /** The operator console at /console (browser UI over this API); false turns it off. */
  console: bool().default(true),
  /**
   * What the API's `focus` (a running conference's host) names: `node_name`, confmgr's name of the
   * FreeSWITCH node (`freeswitch.nodes[].name`, Kazoo's `focus` names the node too), or `switchname`,
   * FreeSWITCH's own FreeSWITCH-Switchname.
   */
  focus: z.enum(['node_name', 'switchname'], { error: 'expected node_name or switchname' }).default('node_name'),
});

const recordingDir = z
  .string({ error: 'expected an absolute directory path' })
  .max(L.pathLength, atMost(L.pathLength))
  .superRefine((dir, ctx) => {
    const problem = recordingDirProblem(dir);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

export const recordingsSchema = z.strictObject({
  /**
   * The directories `record` / `norecord` commands may name files in (src/conference/recording-path.ts):
   * any other path, a relative one or one with `..` is refused before it reaches FreeSWITCH; [] refuses
   * every recording command.
   */
  dirs: z
    .preprocess(
      listish,
      z
        .array(recordingDir, { error: 'expected a list of absolute directory paths' })
        .max(L.recordingDirs, { error: `at most ${L.recordingDirs} directories` }),
    )
    .default([...DEFAULT_RECORDING_DIRS]),
});

/** A prompt of the entry service: one printable token (a sound file path or a tone_stream:// string). */
const prompt = z
  .string({ error: 'expected a sound file or tone_stream:// string' })
  .regex(/^[\x21-\x7e]{1,1024}$/, { error: 'expected one token of printable characters (no spaces), at most 1024' });

/**
 * The entry service (src/entry): FreeSWITCH's outbound Event Socket hands calls to confmgr at
 * `listen` (host:port; absent: off). Prompts default to tone strings.
 */
export const entrySchema = z.strictObject({
  listen: z
    .string({ error: 'expected host:port' })
    .max(L.listenLength, atMost(L.listenLength))
    .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: 'expected host:port, e.g. 127.0.0.1:8084', abort: true })
    .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, { error: 'port must be from 0 to 65535' })
    .optional(),
  pin_timeout_ms: int(500, 60_000).default(5000),
  pin_digit_timeout_ms: int(500, 60_000).default(3000),
  /** Where FreeSWITCH records callers' names for `play_name` (a directory on the FreeSWITCH host). */
  names_dir: z
    .string({ error: 'expected an absolute directory path' })
    .max(L.pathLength, atMost(L.pathLength))
    .regex(/^\/[\x21-\x7e]*$/, { error: 'expected an absolute directory path without spaces' })
    .refine((d) => !d.split('/').includes('..'), { error: 'must not contain ..' })
    .default('/tmp/confmgr-names'),
  prompts: z
    .strictObject({
      pin: prompt.optional(),
      invalid_pin: prompt.optional(),
      pin_failed: prompt.optional(),
      not_found: prompt.optional(),
      locked: prompt.optional(),
      full: prompt.optional(),
      name: prompt.optional(),
    })
    .prefault({}),
});

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const logSchema = z.strictObject({
  level: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  /** Human-readable output; default: when stdout is a terminal. */
  pretty: bool().optional(),
});

export function fileSchema(knownEvents: readonly string[]) {
  const known = new Set(knownEvents);
  return z.strictObject({
    app_name: nonEmpty('an application name', L.appNameLength).default('confmgr'),
    freeswitch: freeswitchSchema,
    amqp: amqpSchema.prefault({}),
    /** Absent (or null) → publish every event; [] → publish none. */
    publish_participant_event: z
      .preprocess(
        listish,
        z
          .array(
            z
              .string({ error: 'expected an event name (a string)' })
              .max(L.eventNameLength, { error: `an event name has at most ${L.eventNameLength} characters` }),
            { error: 'expected a list of event names' },
          )
          .max(L.publishParticipantEvent, { error: `at most ${L.publishParticipantEvent} event names` }),
      )
      .nullish()
      .superRefine((list, ctx) => {
        list?.forEach((name, i) => {
          if (name.length <= L.eventNameLength && !known.has(name)) {
            ctx.addIssue({ code: 'custom', path: [i], message: `unknown event "${name}"; known: ${[...known].join(', ')}` });
          }
        });
      }),
    http: httpSchema.prefault({}),
    /** SQLite `path` (default), or PostgreSQL when `url` / `url_env` is set. */
    storage: z
      .strictObject({
        /** Optional, explicit: `sqlite` (path) or `postgres` (url / url_env). Inferred when absent. */
        driver: z.enum(['sqlite', 'postgres'], { error: 'expected sqlite or postgres' }).optional(),
        path: nonEmpty('a file path', L.pathLength).optional(),
        url: z
          .string({ error: 'expected a postgres:// URL' })
          .max(L.urlLength, atMost(L.urlLength))
          .regex(/^postgres(ql)?:\/\/\S+$/, { error: 'expected a postgres:// or postgresql:// URL' })
          .optional(),
        url_env: envName.optional(),
        pool_max: int(1, 1000).optional(),
      })
      .prefault({}),
    recordings: recordingsSchema.prefault({}),
    entry: entrySchema.prefault({}),
    /**
     * Where a Kazoo `media_id` (the REST `play` actions) is found: a path or URL template with
     * `{media_id}` and optionally `{account_id}`, e.g. `/var/lib/media/{account_id}/{media_id}.wav`.
     * Absent: a bare media id is refused (a path or URL is still played as given).
     */
    media: z
      .strictObject({
        location: z
          .string({ error: 'expected a path or URL template' })
          .max(L.urlLength, atMost(L.urlLength))
          .regex(/\{media_id\}/, { error: 'the template must contain {media_id}' })
          .regex(/^\S+$/, { error: 'the template must not contain whitespace' })
          .optional(),
      })
      .prefault({}),
    log: logSchema.prefault({}),
    shutdown: z.strictObject({ timeout_ms: int(0, 600_000).default(10_000) }).prefault({}),
    memory: z
      .strictObject({
        /**
         * At start-up (before connecting) and after each resync of 1,000 participants or more (once its
         * events have left for RabbitMQ), one full, compacting garbage collection hands the burst's
         * memory back to the kernel (a short pause). false: V8's memory
         * reducer alone, whenever it sees fit.
         */
        compact: bool().default(true),
      })
      .prefault({}),
    /**
     * Standby pairs: several instances may list the same node; one holds its lease (an exclusive
     * RabbitMQ queue) and publishes, the others hold its events and take over. false: no lease at all.
     */
    ha: z
      .strictObject({
        enabled: bool().default(false),
        /** A standby retries a held lease this often; with the lease connection's heartbeat, bounds a takeover. */
        takeover_ms: int(200, 60_000).default(1_000),
        /** After winning a lease, how long to keep reading what the previous holder published before releasing. */
        settle_ms: int(0, 10_000).default(300),
        /**
         * AMQP heartbeat of the lease connection, seconds: the broker drops a cut-off holder's leases after
         * about two missed beats, and as well those of a holder whose event loop is starved that long.
         */
        heartbeat_s: int(1, 60).default(1),
        /** Events of a node this instance does not serve, held for a takeover; the oldest go first. */
        hold_size: int(1, 10_000_000).default(100_000),
        /**
         * A command for a conference whose node is changing hands is rerouted for up to this long, until
         * the instance taking the node over has bound it, instead of being answered CONFERENCE_NOT_FOUND.
         */
        command_wait_ms: int(0, 60_000).default(5_000),
      })
      .prefault({}),
    /**
     * The cluster-wide view: the REST API and the operator CLI of any instance list, show and control
     * the conferences of every instance on the broker (a scatter-gather over `<amqp.exchange>.cluster`).
     */
    cluster_view: z
      .strictObject({
        /** Default: on with `ha.enabled`, off otherwise (one instance alone answers from itself only). */
        enabled: bool().optional(),
        /** How long a list waits for the other instances' answers (it returns as soon as every live one answered). */
        gather_ms: int(50, 10_000).default(500),
        /** A forwarded command (a conference another instance serves) not answered within this gets TIMEOUT. */
        forward_timeout_ms: int(1_000, 120_000).default(15_000),
      })
      .prefault({}),
  });
}

export type ConfigFile = z.output<ReturnType<typeof fileSchema>>;
