/**
 * The HTTP connection cap must leave file descriptors for the rest of the process (Event Socket and
 * AMQP connections, storage, logs): a cap above the open-file limit does not bound anything, and once
 * descriptors run out /readyz cannot be answered either. Node raises its soft limit to the hard one at
 * start, so the soft limit read here is what the process really has.
 */
import { readFileSync } from 'node:fs';

/** Descriptors kept for everything but HTTP connections. */
export const OTHER_DESCRIPTORS = 64;

/** The soft limit on open files (Linux: /proc/self/limits); undefined when unknown or unlimited. */
export function openFilesLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  let text: string;
  try {
    text = read();
  } catch {
    return undefined;
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined;
}

/**
 * `maxConnections` lowered, when needed, so that it plus `alsoOpen` (the reserve and refusals in
 * flight) plus OTHER_DESCRIPTORS fit in `limit`; at least 1.
 */
export function fitToDescriptors(maxConnections: number, alsoOpen: number, limit: number | undefined): number {
  if (limit === undefined) return maxConnections;
  return Math.max(1, Math.min(maxConnections, limit - OTHER_DESCRIPTORS - alsoOpen));
}
