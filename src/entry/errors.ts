/** Errors of the entry service (an outbound Event Socket call). */
import { ConfmgrError } from '../util/index.js';

/** The call hung up (or its socket closed) while the entry flow was waiting on it. */
export class CallEndedError extends ConfmgrError {
  constructor(callId: string | undefined, cause: string | undefined) {
    super('CALL_ENDED', `call ${callId ?? '(unknown)'} ended${cause ? ` (${cause})` : ''}`, { callId, cause });
  }
}

/** FreeSWITCH answered a command of the outbound socket with `-ERR …`, or sent something unexpected. */
export class EntryProtocolError extends ConfmgrError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ENTRY_PROTOCOL_ERROR', message, details);
  }
}

/** A step of the flow took longer than it may (FreeSWITCH did not answer). */
export class EntryTimeoutError extends ConfmgrError {
  constructor(what: string, ms: number) {
    super('ENTRY_TIMEOUT', `${what}: no answer within ${ms} ms`, { what, ms });
  }
}
