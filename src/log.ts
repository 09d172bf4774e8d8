/**
 * One pino logger for the process. Secrets never reach a log line: known secret keys are redacted,
 * and URLs with credentials must go through `redactUrl` before they are logged.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'url',
  '*.url',
  'amqpUrl',
  '*.amqpUrl',
  'token',
  '*.token',
  'tokens',
  '*.tokens',
  'headers["x-auth-token"]',
  'req.headers["x-auth-token"]',
];

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
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (options.pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return options.destination ? pino(base, options.destination) : pino(base);
}

/** A logger that drops everything: the default for library classes constructed without one. */
export const silentLogger: Logger = pino({ level: 'silent' });

/** amqp://user:secret@host → amqp://user:***@host (never log a credential). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}
