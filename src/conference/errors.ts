/**
 * Typed errors of the conference domain. Each has a stable `code`; boundaries (AMQP replies,
 * HTTP statuses, CLI exit codes) map these codes in one table each.
 */
import { ConfmgrError } from '../util/index.js';

export class ConferenceNotFoundError extends ConfmgrError {
  constructor(conference: string, details?: Record<string, unknown>) {
    super('CONFERENCE_NOT_FOUND', `Conference ${conference} not found`, { conference, ...details });
  }
}

export class MemberNotFoundError extends ConfmgrError {
  constructor(conference: string, member: string | number, details?: Record<string, unknown>) {
    super('MEMBER_NOT_FOUND', `Member ${member} not found in conference ${conference}`, { conference, member, ...details });
  }
}

/** Missing or bad arguments: refused before reaching the wire, or FreeSWITCH answered with a usage text. */
export class InvalidArgumentError extends ConfmgrError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('INVALID_ARGUMENT', message, details);
  }
}

/**
 * A `record` / `norecord` path outside the configured recording directories, or one that could escape
 * them (src/conference/recording-path.ts). Its code is INVALID_ARGUMENT, so every boundary answers it
 * like any other refused argument; `details.problem` says which rule refused it.
 */
export class RecordingPathRefusedError extends InvalidArgumentError {
  constructor(message: string, details: { field: string; problem: string }) {
    super(message, details);
  }
}

/** FreeSWITCH understood the command and refused it (e.g. floor already held). */
export class CommandRejectedError extends ConfmgrError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('COMMAND_REJECTED', message, details);
  }
}

export class CommandTimeoutError extends ConfmgrError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('TIMEOUT', message, details);
  }
}

export class NodeDownError extends ConfmgrError {
  constructor(node: string, details?: Record<string, unknown>) {
    super('NODE_DOWN', `FreeSWITCH node ${node} is not connected`, { node, ...details });
  }
}

/** A reply the parser does not recognise: never taken as success. Carries the raw text. */
export class UnrecognizedReplyError extends ConfmgrError {
  constructor(command: string, reply: string) {
    super('UNRECOGNIZED_REPLY', `Unrecognized reply to "${command}": ${reply.slice(0, 200)}`, { command, reply });
  }
}

/**
 * The same conference name is live on several nodes at once: a command would have to guess which one
 * is meant, so it is refused. `details.nodes` lists the hosting nodes (most recent conference-create first).
 */
export class ConferenceAmbiguousError extends ConfmgrError {
  constructor(conference: string, nodes: string[], details?: Record<string, unknown>) {
    super('CONFERENCE_AMBIGUOUS', `Conference ${conference} is live on several nodes (${nodes.join(', ')})`, {
      conference,
      nodes,
      ...details,
    });
  }
}
