/**
 * What confmgr does on its own (document enforcement, closing records of calls that left) must act
 * once per conference, not once per instance of a standby pair: this executor sends a command only
 * when this instance is active for the conference's node, and refuses it otherwise.
 */
import type { CommandResult, ConferenceCommand, ConferenceCommandExecutor, ConferenceLocator } from '../conference/index.js';
import type { ServedNodes } from '../bus/index.js';
import { ConfmgrError } from '../util/index.js';

/** This instance is a standby for the node: the active instance acts for it. */
export class NotActiveForNodeError extends ConfmgrError {
  constructor(conference: string, node: string) {
    super('NOT_ACTIVE_FOR_NODE', `conference ${conference} is on node ${node}, served by another instance`, { conference, node });
  }
}

export function activeOnlyExecutor(executor: ConferenceCommandExecutor, locator: ConferenceLocator, served: Pick<ServedNodes, 'isServing'>): ConferenceCommandExecutor {
  return {
    async execute(command: ConferenceCommand): Promise<CommandResult> {
      const node = await locator.nodeFor(command.conference);
      if (!served.isServing(node)) throw new NotActiveForNodeError(command.conference, node);
      return executor.execute(command);
    },
  };
}
