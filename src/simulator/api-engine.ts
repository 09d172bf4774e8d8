/**
 * What the api commands (api.ts, conference-api.ts) may ask of the conference engine. The engine
 * implements it and runs them; they see only this, so they never import the engine back.
 */
import type { EventFactory } from './event.js';
import type { Conference, DialAnswer, Member, OriginateRequest, ProfileConfig } from './model.js';

export interface ApiEngine {
  readonly events: EventFactory;
  readonly uptimeMs: number;
  readonly sessionCounters: { sinceStartup: number; current: number; peak: number };
  now(): number;
  conference(name: string): Conference | undefined;
  allConferences(): Conference[];
  memberByChannel(uuid: string): Member | undefined;

  // Calls
  dialOutcome(target: string): DialAnswer;
  profileList(): ProfileConfig[];
  join(req: OriginateRequest): { uuid: string; member: Member | undefined };
  removeMember(m: Member, how?: { cause?: string; shutdown?: boolean }): void;
  requestShutdown(): void;

  // Members
  kick(m: Member): void;
  hup(m: Member): void;
  mute(m: Member, quiet: boolean): string;
  unmute(m: Member, quiet: boolean): string;
  deaf(m: Member, on: boolean): string;
  holdMember(m: Member, on: boolean): string;
  setEnergy(m: Member, value: number | undefined): string;
  setVolume(m: Member, dir: 'in' | 'out', value: number | undefined): string;
  dtmf(m: Member, digits: string): string;
  setFloor(conf: Conference, member: Member | undefined): void;

  // Conferences
  lock(conf: Conference, on: boolean): string;
  playToConference(conf: Conference, file: string, announce?: { async: boolean }): void;
  playToMember(m: Member, file: string, announce: boolean): void;
  stopPlays(conf: Conference, mode: 'current' | 'all' | 'async', member?: Member): number;
  startRecording(conf: Conference, path: string): string;
  stopRecording(conf: Conference, which: string): string;
  say(conf: Conference, text: string): string;
  sayMember(m: Member, text: string): string;
}
