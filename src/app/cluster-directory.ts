/**
 * The API's view of the other instances (records' ClusterDirectory) over the bus's ClusterView: the
 * gathers as they are, and a forwarded command's reply turned back into a result or the remote error
 * (same code and message), so the REST reply mirrors what the serving instance answered.
 */
import type { CommandResult } from '../conference/index.js';
import { RemoteCommandError, type ClusterView, type ServedNodes } from '../bus/index.js';
import type { ClusterDirectory, ConferenceListEntry, NodeStatus, RemoteConferenceLookup } from '../records/index.js';

export function clusterDirectory(view: ClusterView, served: Pick<ServedNodes, 'isServing'>): ClusterDirectory {
  return {
    serves: (node) => served.isServing(node),
    conferences: (account) => view.gather<ConferenceListEntry[]>({ kind: 'conferences', account }),
    // Only one instance serves a conference: its "found" settles it, the silent ones do not matter.
    conference: (account, id) => view.gather<RemoteConferenceLookup>({ kind: 'conference', account, conference: id }, (d) => d?.found === true),
    nodes: () => view.gather<NodeStatus[]>({ kind: 'nodes' }),
    async execute(command, account): Promise<CommandResult> {
      const reply = await view.forward(command, account);
      if (reply.status === 'success' && reply.result !== undefined) return reply.result;
      const error = reply.error ?? { code: 'INTERNAL', message: 'the serving instance answered without a result' };
      throw new RemoteCommandError(error.code, error.message, error.details);
    },
  };
}
