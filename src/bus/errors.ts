/** Typed errors of the AMQP bus layer; each has a stable `code`. */
import { ConfmgrError } from '../util/errors.js';

/** A routing-key segment that `encodeSegment` could not have produced. */
export class RoutingKeyDecodeError extends ConfmgrError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ROUTING_KEY_DECODE', message, details);
  }
}

/** A command message that is not JSON, not an object, or not a valid command. */
export class InvalidCommandMessageError extends ConfmgrError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('INVALID_COMMAND', message, details);
  }
}

/** The publisher is closed; nothing more is accepted. */
export class PublisherClosedError extends ConfmgrError {
  constructor() {
    super('PUBLISHER_CLOSED', 'AMQP publisher is closed');
  }
}
