/** Typed errors of the AMQP bus layer; each has a stable `code`. */
import { ConfmgrError } from '../util/index.js';

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

/**
 * A command message that is not a JSON object at all: answered like any invalid message (same code),
 * and also dead-lettered, since no well-behaved publisher sends one.
 */
export class UnparsableCommandMessageError extends InvalidCommandMessageError {}

/** A command message body over the size cap: refused before it is parsed. */
export class CommandMessageTooLargeError extends ConfmgrError {
  constructor(bytes: number, limit: number) {
    super('MESSAGE_TOO_LARGE', `command message is ${bytes} bytes; at most ${limit} bytes are accepted`, { bytes, limit });
  }
}

/** A command message whose `Account-ID` is not the account of the conference it targets. */
export class CommandAccountMismatchError extends ConfmgrError {
  constructor(conference: string, accountId: string) {
    super('FORBIDDEN', `conference ${conference} belongs to another account than ${accountId}`, { conference, account_id: accountId });
  }
}

/** The cluster view cannot reach the other instances (its broker connection is down). */
export class ClusterUnavailableError extends ConfmgrError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('CLUSTER_UNAVAILABLE', message, details);
  }
}

/**
 * A command forwarded to the instance serving the conference failed there: carries that instance's
 * error code and message unchanged, so the caller's reply mirrors the remote one.
 */
export class RemoteCommandError extends ConfmgrError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/** The AMQP connection does not expose what the publisher writes its frames through. */
export class PublishTransportError extends ConfmgrError {
  constructor(message: string) {
    super('AMQP_TRANSPORT_UNSUPPORTED', message);
  }
}
