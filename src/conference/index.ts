/**
 * The public face of src/conference/ (FreeSWITCH conference semantics): command building and
 * reply parsing, the executor, event and listing parsing, the member fields table, payloads, the
 * conferencecall lifecycle.
 */
export { buildCommand } from './commands.js';
export { CONFERENCECALL_STATUSES, TM_UNSET, canAdvance, formatTimestampUs, statusForEvent } from './conferencecall.js';
export type { Conferencecall, ConferencecallStatus } from './conferencecall.js';
export { ConferenceControl } from './control.js';
export { DEFAULT_DIAL_TIMEOUT_S, MAX_DIAL_ENDPOINTS, MAX_DIAL_TIMEOUT_S, PARTICIPANT_FLAGS } from './dial.js';
export type { ConferenceDialer, DialEndpoint, DialOutcome, DialRequest, DialResult } from './dial.js';
export { ConferenceProfiles } from './profiles.js';
export { CommandTimeoutError, ConferenceAmbiguousError, ConferenceNotFoundError, InvalidArgumentError, MemberNotFoundError, NodeDownError } from './errors.js';
export { CONFMGR_ACTIONS, KNOWN_ACTIONS, parseConferenceEvent } from './events.js';
export { parseJsonList, parseListSummary, parseXmlList } from './json-list.js';
export type { ListedConference, ListedMember } from './json-list.js';
export { CHANGE_FIELDS, COMPARED_FIELDS, LISTED_FIELDS, MEMBER_FIELDS, STICKY_FIELDS, agree, agreement, fieldValue, headerText, kazooLayout, objectBuilder, setField } from './member-fields.js';
export type { KazooMemberFields, Slot } from './member-fields.js';
export { customChannelVars, toOutboundEvent } from './payload.js';
export type { PayloadContext } from './payload.js';
export { DEFAULT_RECORDING_DIRS, recordingDirProblem } from './recording-path.js';
export { logRefusals } from './refusals.js';
export type { OnRefused } from './refusals.js';
export type { CommandResult, ConferenceCommand, ConferenceCommandExecutor, ConferenceEvent, ConferenceLocator, MemberState, MemberTarget, OutboundEvent } from './types.js';
export { parseUuidDump, uuidDumpCommand } from './uuid-dump.js';
export { RESERVED_CONFERENCE_NAMES } from './validate.js';
export { serializedPayload } from './serialized-payload.js';
