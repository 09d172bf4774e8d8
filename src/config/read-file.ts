/**
 * Reads the operator file, refusing one above CONFIG_LIMITS.fileBytes before it is read whole or
 * parsed. The read itself is bounded (at most one byte past the limit), so a file that grows, a pipe or
 * a device that never ends cannot make the process read until memory runs out.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { CONFIG_LIMITS } from './limits.js';

export const TOO_LARGE = `the file is larger than ${CONFIG_LIMITS.fileBytes} bytes`;

export function readConfigText(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw unreadable(file, err);
  }
  try {
    const buffer = Buffer.allocUnsafe(CONFIG_LIMITS.fileBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > CONFIG_LIMITS.fileBytes) throw new ConfigError(file, [{ key: '', message: TOO_LARGE }]);
    return buffer.toString('utf8', 0, length);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw unreadable(file, err);
  } finally {
    closeSync(fd);
  }
}

function unreadable(file: string, err: unknown): ConfigError {
  const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
  return new ConfigError(file, [{ key: '', message: `cannot read the config file: ${reason}` }]);
}
