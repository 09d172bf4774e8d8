/** The public face of src/records/: what other folders may import. */
export { conferenceAccountLookup } from './account-lookup.js';
export { conferenceOwner } from './account.js';
export type { ConferenceAttributions } from './account.js';
export { CONFERENCE_ID_RE, DEFAULT_ENTRY_TONE, DEFAULT_EXIT_TONE, checkConferenceId, toneFile, mergePatch, prepareDocument, requestData, stripReadOnly, validateConferenceDocument, withDefaults } from './conference-document.js';
export { newDocumentId } from './conference-documents.js';
export type { ConferenceDocuments } from './conference-documents.js';
export { CONFERENCECALL_STATUSES, toRecord } from './conferencecall-record.js';
export type { ConferencecallTracker } from './conferencecall-tracker.js';
export type { DocumentEnforcer } from './document-enforcer.js';
export { ValidationError } from './errors.js';
export { leaveMarkingExecutor } from './leave-marking-executor.js';
export type { ApiDeps, ApiToken, ClusterDirectory, ConferenceListEntry, LiveConference, NodeStatus, RealtimeRegistry, RemoteConferenceLookup } from './live.js';
export { clusterConferenceAnswers, conferenceListEntry } from './cluster-answers.js';
export { realtimeFromRegistry } from './realtime-adapter.js';
export { participantView, participantsView, readOnly } from './realtime-view.js';
export { createRecords } from './records.js';
export type { Records } from './records.js';
