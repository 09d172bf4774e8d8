/**
 * The entry service's public face: FreeSWITCH's outbound Event Socket hands calls to confmgr, which
 * finds the conference, asks for the PIN, refuses locked or full conferences and joins the call
 * with its flags (README "Conference entry").
 */
export { EntryService } from './entry-service.js';
export { DEFAULT_PROMPTS } from './prompts.js';
export { refusalEvent } from './refusal-event.js';
