/**
 * The Event Socket wire format, pure (no sockets, no timers): what the socket layers, the simulator
 * and tests use to turn bytes into frames and events and commands into bytes.
 */
export * from './frame-parser.js';
export * from './event-decoding.js';
export * from './url-coding.js';
export * from './xml-entities.js';
export * from './encoders.js';
export * from './lazy-event.js';
