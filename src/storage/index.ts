/**
 * Storage entry point: the service wiring calls `openStorage(config)`.
 * SQLite (a file, or `:memory:`) by default; PostgreSQL when a `postgres://` URL is configured.
 * The PostgreSQL module is loaded only when used.
 */
import { openSqliteStorage } from './sqlite.js';
import type { Storage } from './types.js';

export type StorageConfig = { driver: 'sqlite'; path: string } | { driver: 'postgres'; url: string; max?: number };

export async function openStorage(config: StorageConfig): Promise<Storage> {
  if (config.driver === 'sqlite') return openSqliteStorage({ path: config.path });
  const { openPostgresStorage } = await import('./postgres.js');
  return openPostgresStorage({ url: config.url, ...(config.max !== undefined ? { max: config.max } : {}) });
}

export type * from './types.js';
export { openSqliteStorage, migrate } from './sqlite.js';
export { DocumentConflictError, NumbersInUseError } from './errors.js';
export type { ConferencecallStatus, Storage, StoredConferenceDocument, StoredConferencecall } from './types.js';
