/**
 * The records layer as one unit: conference documents, the document enforcer and the conferencecall
 * tracker over one storage, following the outbound events. No HTTP here: the service builds it
 * whether or not the API runs, and the API serves it.
 */
import type { Logger } from '../util/index.js';
import { silentLogger } from '../util/index.js';
import type { ConferenceCommandExecutor } from '../conference/index.js';
import type { Storage } from '../storage/index.js';
import type { EventSource, RealtimeRegistry } from './live.js';
import { ConferenceDocuments } from './conference-documents.js';
import { ConferencecallTracker } from './conferencecall-tracker.js';
import { DocumentEnforcer } from './document-enforcer.js';
import { ConferenceAttributions } from './account.js';

export interface RecordsOptions {
  storage: Storage;
  registry: RealtimeRegistry;
  /** Sends the enforcer's commands and the kick of a DELETE /conferencecalls. */
  executor: ConferenceCommandExecutor;
  /** Whether the named FreeSWITCH node is connected. */
  nodeUp(node: string): boolean;
  /** Owner of running conferences nothing else attributes (config `http.default_account_id`). */
  defaultAccountId?: string | undefined;
  events: EventSource;
  logger?: Logger;
  /** Clock for records (tests); default Date.now. */
  now?: () => number;
}

export interface Records {
  readonly documents: ConferenceDocuments;
  /** Running conferences' first attributions: who owns a conference does not change while it runs. */
  readonly attributions: ConferenceAttributions;
  readonly tracker: ConferencecallTracker;
  readonly enforcer: DocumentEnforcer;
  /** Waits until every event received so far has been fully handled (tests, shutdown). */
  idle(): Promise<void>;
  /** Stops following the events, then waits for what is already under way. Idempotent. */
  close(): Promise<void>;
}

export function createRecords(o: RecordsOptions): Records {
  const log = o.logger ?? silentLogger;
  const documents = new ConferenceDocuments(o.storage, o.now);
  const attributions = new ConferenceAttributions({ defaultAccount: o.defaultAccountId, logger: log, ...(o.now ? { now: o.now } : {}) });
  const tracker = new ConferencecallTracker({
    storage: o.storage,
    documents,
    registry: o.registry,
    executor: o.executor,
    nodeUp: (n) => o.nodeUp(n),
    defaultAccountId: o.defaultAccountId,
    attributions,
    logger: log,
    ...(o.now ? { now: o.now } : {}),
  });
  const enforcer = new DocumentEnforcer({
    documents,
    executor: o.executor,
    logger: log,
    // The tracker is subscribed first, so it has seen every add-member the enforcer asks about.
    isNewParticipant: (event) => tracker.isNewParticipant(event),
  });
  // Attributions first: every later listener asks for owners.
  const unsubscribe = [attributions.handle, tracker.handle, enforcer.handle].map((listener) => o.events.subscribe(listener));
  const idle = async (): Promise<void> => {
    await Promise.all([tracker.idle(), enforcer.idle()]);
  };
  return {
    documents,
    attributions,
    tracker,
    enforcer,
    idle,
    async close() {
      for (const u of unsubscribe.splice(0)) u();
      tracker.close();
      await Promise.allSettled([tracker.idle(), enforcer.idle()]);
    },
  };
}
