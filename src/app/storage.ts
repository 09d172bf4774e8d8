/**
 * The configured storage (SQLite file or PostgreSQL) opened for the records, and how it is named in
 * log lines.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config/index.js';
import { redactUrl, type Logger } from '../util/index.js';
import type { Storage } from '../storage/index.js';

/** Opens `config.storage` (creating a SQLite file's directory); logs where when it cannot. */
export async function openConfiguredStorage(config: Config, logger: Logger): Promise<Storage> {
  const st = config.storage;
  if (st.driver === 'sqlite' && st.path !== ':memory:') mkdirSync(dirname(st.path), { recursive: true });
  const { openStorage } = await import('../storage/index.js');
  return openStorage(
    st.driver === 'sqlite'
      ? { driver: 'sqlite', path: st.path }
      : { driver: 'postgres', url: st.url, ...(st.poolMax !== undefined ? { max: st.poolMax } : {}) },
  ).catch((err: unknown) => {
    // pg errors may quote the connection string: say where, without the password.
    logger.error({ err: (err as Error).message, storage: storageLabel(config) }, 'cannot open storage');
    throw err;
  });
}

/** Where the records live, for log lines: never the password. */
export function storageLabel(config: Config): string {
  const st = config.storage;
  return st.driver === 'sqlite' ? `sqlite:${st.path}` : redactUrl(st.url);
}

