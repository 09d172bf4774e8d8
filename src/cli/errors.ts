import { ConfmgrError } from '../util/index.js';

/** Wrong arguments on the command line. Exit code 2, with the usage text. */
export class UsageError extends ConfmgrError {
  constructor(message: string) {
    super('USAGE', message);
  }
}
