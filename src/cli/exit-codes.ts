/** The CLI's exit codes: the one table mapping outcomes (and error codes) to a process status. */
export const EXIT = {
  OK: 0,
  /** The command ran and failed: the service refused it, a conference/member was not found, a runtime error. */
  FAILED: 1,
  /** Bad usage or an invalid config file: nothing was started. */
  USAGE: 2,
  /** The service (or the broker, for the demo) could not be reached. */
  UNREACHABLE: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * Error code → exit code. Codes not listed exit FAILED; the service's refusals are listed anyway when
 * a reader could expect otherwise: an ambiguous conference (live on two FreeSWITCH nodes, HTTP 409)
 * and an overloaded node (HTTP 503, retry later) are the command failing, not the service being away.
 */
export const EXIT_CODE_BY_ERROR_CODE: Readonly<Record<string, ExitCode>> = {
  CONFIG_INVALID: EXIT.USAGE,
  USAGE: EXIT.USAGE,
  SERVICE_UNREACHABLE: EXIT.UNREACHABLE,
  BROKER_UNREACHABLE: EXIT.UNREACHABLE,
  CONFERENCE_AMBIGUOUS: EXIT.FAILED,
  ESL_OVERLOAD: EXIT.FAILED,
  NODE_DOWN: EXIT.FAILED,
};

export function exitCodeFor(code: string | undefined): ExitCode {
  return (code !== undefined && EXIT_CODE_BY_ERROR_CODE[code]) || EXIT.FAILED;
}
