/**
 * The conference domain's public surface: command building and reply parsing, the executor,
 * event parsing, payloads, conferencecall lifecycle. (json-list.ts exports itself; import it directly.)
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
