/** The operator HTTP client's errors. */
import { ConfmgrError } from '../util/index.js';

/** The running service's HTTP API did not answer (connection refused, timeout). Exit code 3. */
export class ServiceUnreachableError extends ConfmgrError {
  constructor(url: string, reason: string) {
    super('SERVICE_UNREACHABLE', `cannot reach confmgr at ${url}: ${reason}. Is it running (confmgr start --config FILE)?`, { url });
  }
}

/** The service answered with an error envelope. `code` is the service's error code (e.g. CONFERENCE_NOT_FOUND). */
export class ServiceError extends ConfmgrError {
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(code, message, { status });
    this.status = status;
  }
}
