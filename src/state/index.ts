/** The public face of src/state/: what other folders may import. */
export { ConferenceStateSync, attachStateSync } from './node-sync.js';
export type { ResyncResult } from './node-sync.js';
export { readOnlyParticipant } from './read-only-view.js';
export type { ReadOnlyParticipant } from './read-only-view.js';
export { ConferenceRegistry } from './registry.js';
export type { ConferenceInstance, ParticipantInfo } from './registry.js';
export { ConferenceRouter } from './router.js';
