import { ConfmgrError } from '../util/index.js';

/** The peer sent bytes that are not a valid ESL frame. The connection that saw them must close. */
export class EslProtocolError extends ConfmgrError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ESL_PROTOCOL', message, details);
  }
}

/** A command argument would change the shape of the wire command (CR, LF, NUL...). Nothing was sent. */
export class EslInvalidArgumentError extends ConfmgrError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ESL_INVALID_ARGUMENT', message, details);
  }
}

/** FreeSWITCH refused the password. Retrying with the same password cannot succeed. */
export class EslAuthError extends ConfmgrError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ESL_AUTH', message, details);
  }
}

/** A request got no reply in time. On an `api`, FIFO alignment is lost and the connection is replaced. */
export class EslTimeoutError extends ConfmgrError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ESL_TIMEOUT', message, details);
  }
}

/** The connection closed (or was never open) while the request was pending. The request was not replayed. */
export class EslConnectionClosedError extends ConfmgrError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ESL_CONNECTION_CLOSED', message, details);
  }
}

/** Every command connection of a node is busy and the wait queue is full. */
export class EslOverloadError extends ConfmgrError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ESL_OVERLOAD', message, details);
  }
}

/** The node has no usable connection (down, reconnecting, or unknown). */
export class EslNodeDownError extends ConfmgrError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ESL_NODE_DOWN', message, details);
  }
}

/** FreeSWITCH answered a command (event, filter, bgapi…) with `-ERR …` in its command/reply. */
export class EslCommandError extends ConfmgrError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ESL_COMMAND', message, details);
  }
}
