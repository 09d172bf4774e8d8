import { KNOWN_ACTIONS } from '../conference/index.js';

/**
 * The event names `publish_participant_event` may list: the conference layer's known Actions
 * (src/conference/events.ts decides; this only reads it).
 */
export function knownEventNames(): readonly string[] {
  return [...KNOWN_ACTIONS];
}
