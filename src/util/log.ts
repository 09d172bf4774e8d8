/**
 * One pino logger for the process. Secrets never reach a log line:
 * - secret keys (passwords, tokens, the X-Auth-Token header) are replaced by `[redacted]`;
 * - URL keys keep the URL but lose its credentials (`redactUrl`): `amqp://user:***@host/`, and
 *   request URLs (`/v2/accounts/…`) stay readable. Callers still pass AMQP and storage URLs through
 *   `redactUrl` themselves (defence in depth: a URL under an unlisted key is not caught here).
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Keys whose value is a secret: replaced entirely. */
export const SECRET_PATHS: readonly string[] = [
  'password',
  '*.password',
  '*.*.password',
  'token',
  '*.token',
  '*.*.token',
  'tokens',
  '*.tokens',
  'auth_token',
  '*.auth_token',
  'headers["x-auth-token"]',
  '*.headers["x-auth-token"]',
  'headers.authorization',
  '*.headers.authorization',
];

/**
 * Keys whose value is a URL that may carry credentials (amqp.url, storage.url, amqpUrl, a config
 * object's `*.amqp.url`, a request's `url`): logged through redactUrl, so the host stays visible.
 */
export const URL_PATHS: readonly string[] = [
  'url',
  '*.url',
  '*.*.url',
  'amqpUrl',
  '*.amqpUrl',
  'connectionString',
  '*.connectionString',
];

const URL_KEYS = new Set(URL_PATHS.map((p) => p.split('.').at(-1)!));

/** The censor: URLs lose their credentials, everything else listed is replaced. */
function censor(value: unknown, path: string[]): unknown {
  const key = path.at(-1) ?? '';
  if (URL_KEYS.has(key)) return typeof value === 'string' ? redactUrl(value) : '[redacted]';
  return '[redacted]';
}

export interface LogOptions {
  level?: string;
  /** Pretty, human output (on a terminal); JSON otherwise. */
  pretty?: boolean;
  name?: string;
  /** Where JSON lines go (default stdout); ignored when pretty. Tests capture log lines with it. */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LogOptions = {}): Logger {
  const base: LoggerOptions = {
    name: options.name ?? 'confmgr',
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: [...SECRET_PATHS, ...URL_PATHS], censor },
  };
  if (options.pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return options.destination ? pino(base, options.destination) : pino(base);
}

/** A logger that drops everything: the default for library classes constructed without one. */
export const silentLogger: Logger = pino({ level: 'silent' });

/**
 * amqp://user:secret@host → amqp://user:***@host (never log a credential); query parameters that look
 * like secrets (`password`, `token`, `secret`, `key`, …) are masked too. Anything else (a request path)
 * is returned unchanged.
 */
export function redactUrl(url: string): string {
  // A list of brokers (`amqp.url` may name several, comma-separated): each one redacted.
  if (url.includes(',')) return url.split(',').map(redactOneUrl).join(',');
  return redactOneUrl(url);
}

function redactOneUrl(url: string): string {
  let out: string;
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    out = u.toString();
  } catch {
    out = url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
  return out.replace(/([?&][^=&#]*(?:pass|secret|token|key)[^=&#]*=)[^&#]*/gi, '$1***');
}
