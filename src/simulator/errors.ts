/** Typed errors of the FreeSWITCH simulator. */
import { ConfmgrError } from '../util/index.js';

export class SimulatorError extends ConfmgrError {
  constructor(code: string, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}

/** A programmatic engine call named a conference or member that does not exist. */
export class SimulatorNotFoundError extends SimulatorError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('SIMULATOR_NOT_FOUND', message, details);
  }
}

/** A programmatic engine call was given an argument that could not go on the wire. */
export class SimulatorInvalidArgumentError extends SimulatorError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('SIMULATOR_INVALID_ARGUMENT', message, details);
  }
}

/** The simulator is not listening (closed, shut down by `fsctl shutdown`, or between restarts). */
export class SimulatorStateError extends SimulatorError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('SIMULATOR_STATE', message, details);
  }
}
