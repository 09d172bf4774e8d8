import { CONFMGR_ACTIONS, KNOWN_ACTIONS } from '../conference/index.js';

/**
 * The event names `publish_participant_event` may list: the conference layer's known Actions and
 * confmgr's own events (src/conference/events.ts decides; this only reads it).
 */
export function knownEventNames(): readonly string[] {
  return [...KNOWN_ACTIONS, ...CONFMGR_ACTIONS];
}
