import { ConfmgrError } from '../util/errors.js';

/** Wrong arguments on the command line. Exit code 2, with the usage text. */
export class UsageError extends ConfmgrError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

// The HTTP client's errors (exit codes 3 and 1).
export { ServiceError, ServiceUnreachableError } from '../client/errors.js';
