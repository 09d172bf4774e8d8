/** The public face of src/util/: what other folders may import. */
export { Backoff } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { forEachConcurrently } from './concurrency.js';
export { TypedEmitter } from './emitter.js';
export { ConfmgrError } from './errors.js';
export { Fifo } from './fifo.js';
export { createLogger, redactUrl, silentLogger } from './log.js';
export type { Logger } from './log.js';
export { reconnectLoop, sleep } from './reconnect.js';
