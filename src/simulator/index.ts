/**
 * The FreeSWITCH stand-in: an Event Socket server (mod_event_socket) over a conference engine
 * (mod_conference), byte-compatible with the FreeSWITCH wire captures in test/fixtures/freeswitch.
 */
export { startSimulator, type Simulator, type SimulatorOptions } from './server.js';
export {
  ConferenceEngine,
  MAINTENANCE,
  type EngineEventListener,
  type FloodRequest,
  type OriginateResult,
} from './engine.js';
export { SimEvent, type EventFormat, type Header } from './event.js';
export { ManualScheduler, realScheduler, type Scheduler, type TimerHandle } from './scheduler.js';
export { DEFAULT_PROFILE, type ConferenceSnapshot, type MemberSnapshot, type OriginateRequest, type ProfileConfig } from './model.js';
export { SimulatorError, SimulatorInvalidArgumentError, SimulatorNotFoundError, SimulatorStateError } from './errors.js';
