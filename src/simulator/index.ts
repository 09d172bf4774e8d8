/**
 * The FreeSWITCH stand-in: an Event Socket server (mod_event_socket) over a conference engine
 * (mod_conference), byte-compatible with the FreeSWITCH wire captures in test/fixtures/freeswitch.
 */
export { startSimulator, type Simulator, type SimulatorOptions } from './server.js';
export { ConferenceEngine, type OriginateResult } from './engine.js';
export { ManualScheduler } from './scheduler.js';
export { DEFAULT_PROFILE, type OriginateRequest } from './model.js';
export { SimulatorNotFoundError, SimulatorStateError } from './errors.js';
export { OutboundDialer, type DialOptions } from './outbound.js';
