/**
 * Wraps the one command executor so that every kick/hup, whichever door it came through (AMQP
 * intake, HTTP participant actions, CLI), first moves the conferencecall records of the calls it
 * affects to `leaving`; FreeSWITCH's del-member then moves them to `leaved`. (DELETE
 * /conferencecalls moves its record itself, ConferencecallTracker.requestLeave.)
 * The marking is awaited before the command is sent, so no del-member can overtake it.
 *
 * The command is validated and located first (the same checks ConferenceControl makes): an invalid,
 * unknown or ambiguous conference fails exactly as it would without this wrapper and marks nothing.
 * A marking failure (storage) is logged and the kick still goes out: hanging up a call matters more
 * than its history.
 */
import { buildCommand } from '../conference/index.js';
import type { CommandResult, ConferenceCommand, ConferenceCommandExecutor, ConferenceLocator } from '../conference/index.js';
import { silentLogger, type Logger } from '../util/index.js';

/** Moves the affected records to leaving (ConferencecallTracker.markLeaving). */
export type LeaveMarker = (conference: string, target: number | string, node: string) => Promise<unknown>;

const LEAVE_KINDS: ReadonlySet<ConferenceCommand['kind']> = new Set(['kick', 'hup']);

export function leaveMarkingExecutor(
  inner: ConferenceCommandExecutor,
  options: { locator: ConferenceLocator; marker: LeaveMarker; logger?: Logger },
): ConferenceCommandExecutor {
  const log = options.logger ?? silentLogger;
  return {
    async execute(command: ConferenceCommand): Promise<CommandResult> {
      if (LEAVE_KINDS.has(command.kind) && 'target' in command) {
        buildCommand(command); // validate first: a bad target marks nothing
        const node = await options.locator.nodeFor(command.conference);
        try {
          await options.marker(command.conference, command.target, node);
        } catch (err) {
          log.warn({ err, conference: command.conference, command: command.kind }, 'could not mark conferencecalls leaving; sending the command anyway');
        }
      }
      return inner.execute(command);
    },
  };
}
