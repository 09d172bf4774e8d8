/**
 * Storage entry point: the service wiring calls `openStorage(config)`.
 * Only SQLite is implemented; `postgres` is refused with a clear error (the `pg` driver is not installed).
 */
import { openSqliteStorage } from './sqlite.js';
import { StorageError } from './errors.js';
import type { Storage } from './types.js';

export type StorageConfig = { driver: 'sqlite'; path: string } | { driver: 'postgres'; url: string };

export async function openStorage(config: StorageConfig): Promise<Storage> {
  if (config.driver === 'sqlite') return openSqliteStorage({ path: config.path });
  throw new StorageError('PostgreSQL storage is not available in this build (no pg driver); use driver "sqlite"', { driver: config.driver });
}

export type * from './types.js';
export { openSqliteStorage, migrate } from './sqlite.js';
export { DocumentConflictError, StorageError } from './errors.js';
