/**
 * The conference domain's public surface: command building and reply parsing, the executor,
 * event parsing, payloads, conferencecall lifecycle. (The registry modules — registry.ts,
 * resync.ts, json-list.ts, router.ts — export themselves; import them directly.)
 */
export * from './types.js';
export * from './errors.js';
export * from './validate.js';
export * from './commands.js';
export * from './replies.js';
export * from './control.js';
export * from './events.js';
export * from './payload.js';
export * from './conferencecall.js';
