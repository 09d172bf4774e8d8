/**
 * API errors and THE table from error codes (ConfmgrError.code, from any layer) to HTTP statuses.
 * Every route throws typed errors; one fastify error handler (./envelope.ts) maps them here.
 */
import { ConfmgrError } from '../util/index.js';

export class UnauthorizedError extends ConfmgrError {
  constructor(message = 'invalid credentials') {
    super('UNAUTHORIZED', message);
  }
}

export class ForbiddenError extends ConfmgrError {
  constructor(message = 'forbidden', details?: Record<string, unknown>) {
    super('FORBIDDEN', message, details);
  }
}

/** Unknown resource (conference document, conferencecall, route). */
export class NotFoundError extends ConfmgrError {
  constructor(what: string, id: string) {
    super('NOT_FOUND', `${what} ${id} not found`, { [what]: id });
  }
}

/** Not found on the instances that answered; some did not answer in time (the cluster view). */
export class PartialNotFoundError extends ConfmgrError {
  constructor(what: string, id: string, missing: string[]) {
    super('NOT_FOUND', `${what} ${id} not found on the instances that answered (not answered: ${missing.join(', ')})`, { [what]: id, partial: true, missing_instances: missing });
  }
}

/**
 * A conference that runs on FreeSWITCH but belongs to no account (no document, no account channel
 * variable, no `http.default_account_id`): 404 like any conference the token cannot see, but saying why,
 * because operators trying a plain FreeSWITCH meet it first.
 */
export class ConferenceUnattributedError extends ConfmgrError {
  constructor(id: string) {
    super(
      'CONFERENCE_UNATTRIBUTED',
      `conference ${id} is running but belongs to no account (no conference document, no ecallmgr_Account-ID / account_id ` +
        'channel variable): set http.default_account_id in the config, or create its conference document',
      { conference_id: id },
    );
  }
}

// Errors of the records layer, answered by the API like its own.
export { ValidationError } from '../records/index.js';

/** code → HTTP status. Anything not listed is a 500. */
export const HTTP_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  VALIDATION_FAILED: 400,
  INVALID_ARGUMENT: 400,
  ESL_INVALID_ARGUMENT: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFERENCE_NOT_FOUND: 404,
  CONFERENCE_UNATTRIBUTED: 404,
  MEMBER_NOT_FOUND: 404,
  CONFLICT: 409,
  INVALID_STATE: 409,
  /** Live on two FreeSWITCH nodes at once: confmgr will not guess which one is meant. */
  CONFERENCE_AMBIGUOUS: 409,
  COMMAND_REJECTED: 409,
  UNRECOGNIZED_REPLY: 502,
  ESL_COMMAND: 502,
  ESL_PROTOCOL: 502,
  NODE_DOWN: 503,
  /** The cluster view's broker connection is down: another instance's conference cannot be reached. */
  CLUSTER_UNAVAILABLE: 503,
  /** Past http.limits' connection caps: only the operations routes are answered. */
  TOO_MANY_CONNECTIONS: 503,
  ESL_NODE_DOWN: 503,
  ESL_CONNECTION_CLOSED: 503,
  ESL_AUTH: 503,
  ESL_OVERLOAD: 503,
  TIMEOUT: 504,
  ESL_TIMEOUT: 504,
  STORAGE_ERROR: 500,
};

/**
 * Retry-After (seconds) sent with these errors. ESL_OVERLOAD (503): the node's command queue is
 * full; it drains within about one api timeout, so a retry a second later usually gets through.
 */
export const RETRY_AFTER_S_BY_CODE: Readonly<Record<string, number>> = {
  ESL_OVERLOAD: 1,
  TOO_MANY_CONNECTIONS: 1,
};

/** Kazoo's `message` for an error status (its envelopes carry a short text per class). */
export const KAZOO_MESSAGE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'invalid data',
  401: 'invalid credentials',
  403: 'forbidden',
  404: 'bad identifier',
  409: 'conflicting state',
  500: 'internal error',
  502: 'bad gateway',
  503: 'service unavailable',
  504: 'timeout',
};

export function httpStatusOf(err: unknown): number {
  if (err instanceof ConfmgrError) return HTTP_STATUS_BY_CODE[err.code] ?? 500;
  return 500;
}
