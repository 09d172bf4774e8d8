/**
 * The conference engine: mod_conference's state (conferences, members, floor, flags, recordings) and
 * the `conference::maintenance` events each change fires, in the order and with the headers the
 * fixtures show. Transport-free: the ESL server subscribes with onEvent() and calls executeApi().
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../util/index.js';
import { silentLogger } from '../util/index.js';
import { EventFactory, type CoreIdentity, type CallingSite, type Header, type HeaderEntry, type SimEvent } from './event.js';
import { SimulatorInvalidArgumentError, SimulatorNotFoundError, SimulatorStateError } from './errors.js';
import { conferenceHeaders, memberHeaders } from './member-headers.js';
import {
  BUILTIN_PROFILE,
  DEFAULT_PROFILE,
  type Conference,
  type DialAnswer,
  type ConferenceSnapshot,
  type Member,
  type OriginateRequest,
  type ProfileConfig,
  type Recording,
} from './model.js';
import { realScheduler, type Scheduler, type TimerHandle } from './scheduler.js';
import { SITES } from './sites.js';
import { playDurationMs, playStats } from './tones.js';
import { recordingStats, talkingStats, toneEnergy } from './measurements.js';
import { runApi } from './api.js';
import type { ApiEngine } from './api-engine.js';

export type { OriginateRequest } from './model.js';

export const MAINTENANCE = 'conference::maintenance';

export interface EngineOptions {
  core: CoreIdentity;
  scheduler?: Scheduler;
  /** Adds `variable_<name>` headers for the channel variables given at originate. */
  verboseEvents?: boolean;
  profiles?: readonly ProfileConfig[];
  /** How long a file that is not a tone_stream "plays" (ms). */
  fileDurationMs?: number;
  logger?: Logger;
}

export interface OriginateResult {
  /** The uuid `originate` answers with (the loopback A leg). */
  uuid: string;
  /** The conference member, whose channel (callId) is the -b leg. */
  member: { id: number; callId: string };
}

export interface FloodRequest {
  conference: string;
  /** Member ids to toggle, or how many of the conference's members to use (newest first). */
  members: number | readonly number[];
  eventsPerSecond: number;
  durationMs?: number;
  count?: number;
}

export type EngineEventListener = (event: SimEvent) => void;

export interface EngineHooks {
  /** `fsctl shutdown` was accepted; the server decides what going down means. */
  onShutdownRequested?: () => void;
}

interface DeferredDone {
  ms: number;
  fire: () => void;
}

/** A file being played to a conference or to one member. */
interface Play {
  readonly conf: Conference;
  readonly member: Member | undefined;
  readonly file: string;
  readonly async: boolean;
  readonly ms: number;
  readonly startedAt: number;
  done: boolean;
}

const TONE_FALLBACK_MS = 1000;
const VOLUME_LIMIT = 4;

export class ConferenceEngine implements ApiEngine {
  readonly events: EventFactory;
  hooks: EngineHooks = {};
  private readonly scheduler: Scheduler;
  private readonly verbose: boolean;
  private readonly profiles = new Map<string, ProfileConfig>();
  private readonly fileDurationMs: number;
  private readonly log: Logger;
  private readonly listeners = new Set<EngineEventListener>();
  private readonly byName = new Map<string, Conference>();
  /** Both legs of every member's call → the member. */
  private readonly byChannel = new Map<string, Member>();
  private readonly timers = new Set<TimerHandle>();
  private readonly plays = new Set<Play>();
  private nextMemberId = 1;
  private startedAt: number;
  private sessionsSinceStartup = 0;
  private sessionPeak = 0;
  private batch: DeferredDone[] | undefined;
  private disposed = false;
  /** Dialled endpoints' answers, by dial target (setDialOutcome). */
  private readonly dialOutcomes = new Map<string, DialAnswer>();

  constructor(options: EngineOptions) {
    this.scheduler = options.scheduler ?? realScheduler;
    this.verbose = options.verboseEvents ?? false;
    this.fileDurationMs = options.fileDurationMs ?? TONE_FALLBACK_MS;
    this.log = options.logger ?? silentLogger;
    for (const p of options.profiles ?? [DEFAULT_PROFILE]) this.profiles.set(p.name, p);
    if (!this.profiles.has('default')) this.profiles.set('default', DEFAULT_PROFILE);
    this.events = new EventFactory(options.core, () => this.scheduler.now());
    this.startedAt = this.scheduler.now();
  }

  // -------------------------------------------------------------------------------------------
  // Subscription and lifecycle

  onEvent(listener: EngineEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  now(): number {
    return this.scheduler.now();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  get uptimeMs(): number {
    return this.scheduler.now() - this.startedAt;
  }

  get sessionCounters(): { sinceStartup: number; current: number; peak: number } {
    return { sinceStartup: this.sessionsSinceStartup, current: this.byChannel.size, peak: this.sessionPeak };
  }

  /** Loses every conference, member and pending timer without a single event (a process restart). */
  reset(core: CoreIdentity): void {
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    this.plays.clear();
    this.disposed = false;
    this.byName.clear();
    this.byChannel.clear();
    this.nextMemberId = 1;
    this.sessionsSinceStartup = 0;
    this.sessionPeak = 0;
    this.batch = undefined;
    this.startedAt = this.scheduler.now();
    this.events.setCore(core);
  }

  /** Cancels pending timers (close()). */
  dispose(): void {
    this.disposed = true;
    for (const t of this.timers) t.cancel();
    this.timers.clear();
  }

  /** Fires any event (used by the server for BACKGROUND_JOB and HEARTBEAT). */
  emit(event: SimEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.log.error({ err }, 'simulator event listener failed');
      }
    }
  }

  /**
   * How an `originate` to `target` (the endpoint without its variable blocks, e.g.
   * `sofia/internal/1000@example.com`) answers from now on; `undefined` restores the default (it answers).
   */
  setDialOutcome(target: string, outcome: DialAnswer | undefined): void {
    if (outcome === undefined) this.dialOutcomes.delete(target);
    else this.dialOutcomes.set(target, outcome);
  }

  dialOutcome(target: string): DialAnswer {
    return this.dialOutcomes.get(target) ?? { kind: 'answer' };
  }

  /** Runs `fn` after `ms` on the engine's clock (a bgapi job that waits on its call). */
  schedule(ms: number, fn: () => void): void {
    this.later(ms, fn);
  }

  /** The profiles conference.conf defines (xml_locate). */
  profileList(): ProfileConfig[] {
    return [...this.profiles.values()];
  }

  /** The ESL `api` path: the reply body exactly as FreeSWITCH would send it. */
  executeApi(commandLine: string): string {
    return this.atomically(() => runApi(this, commandLine));
  }

  // -------------------------------------------------------------------------------------------
  // Lookups

  conference(name: string): Conference | undefined {
    return this.byName.get(name);
  }

  allConferences(): Conference[] {
    return [...this.byName.values()];
  }

  memberByChannel(uuid: string): Member | undefined {
    return this.byChannel.get(uuid);
  }

  profile(name: string): ProfileConfig | undefined {
    return this.profiles.get(name);
  }

  conferences(): ConferenceSnapshot[] {
    return this.allConferences().map((c) => ({
      name: c.name,
      uuid: c.uuid,
      profile: c.profile.name,
      locked: c.locked,
      recording: c.recordings.length > 0,
      maxMembers: c.maxMembers,
      callerIdName: c.callerIdName,
      callerIdNumber: c.callerIdNumber,
      spoken: c.spoken.map((x) => ({ ...x })),
      floorMemberId: c.floor?.id,
      members: c.members.map((m) => ({
        id: m.id,
        uuid: m.channel.uuid,
        callId: m.channel.uuid,
        peerUuid: m.channel.peerUuid,
        callerIdName: m.channel.callerIdName,
        callerIdNumber: m.channel.callerIdNumber,
        moderator: m.moderator,
        joinFlags: [...m.joinFlags],
        canHear: m.canHear,
        canSpeak: m.canSpeak,
        talking: m.talking,
        hold: m.hold,
        energy: m.energy,
        volumeIn: m.volumeIn,
        volumeOut: m.volumeOut,
      })),
    }));
  }

  private requireMember(conference: string, memberId: number): Member {
    const conf = this.byName.get(conference);
    if (!conf) throw new SimulatorNotFoundError(`conference ${conference} not found`, { conference });
    const m = conf.members.find((x) => x.id === memberId);
    if (!m) throw new SimulatorNotFoundError(`member ${memberId} not found in ${conference}`, { conference, memberId });
    return m;
  }

  // -------------------------------------------------------------------------------------------
  // Programmatic handle (tests, benchmarks, demo)

  originate(req: OriginateRequest): OriginateResult {
    for (const [what, v] of [
      ['conference', req.conference],
      ['callerIdNumber', req.callerIdNumber],
      ['callerIdName', req.callerIdName],
    ] as const) {
      if (v !== undefined && (typeof v !== 'string' || /[\x00-\x1f\x7f]/.test(v) || v === '')) {
        throw new SimulatorInvalidArgumentError(`${what} must be a non-empty string without control characters`);
      }
    }
    const result = this.atomically(() => this.join(req));
    if (!result.member) throw new SimulatorStateError(`conference ${req.conference} is locked`, { conference: req.conference });
    return { uuid: result.uuid, member: { id: result.member.id, callId: result.member.channel.uuid } };
  }

  /** Hangs up a call by either leg's uuid (uuid_kill). False when no such channel. */
  hangup(callIdOrUuid: string, cause = 'NORMAL_CLEARING'): boolean {
    const m = this.byChannel.get(callIdOrUuid);
    if (!m) return false;
    this.atomically(() => this.removeMember(m, { cause }));
    return true;
  }

  startTalking(conference: string, memberId: number): boolean {
    const m = this.requireMember(conference, memberId);
    return this.atomically(() => this.memberStartTalking(m, true));
  }

  stopTalking(conference: string, memberId: number): boolean {
    const m = this.requireMember(conference, memberId);
    return this.atomically(() => this.memberStopTalking(m));
  }

  /**
   * N members talking at R events/s: start/stop-talking pairs, spread evenly over time. The floor
   * is left alone so that the stream holds talking events only.
   */
  flood(req: FloodRequest): Promise<{ sent: number }> {
    const conf = this.byName.get(req.conference);
    if (!conf) return Promise.reject(new SimulatorNotFoundError(`conference ${req.conference} not found`));
    const ids = typeof req.members === 'number' ? conf.members.slice(0, req.members).map((m) => m.id) : [...req.members];
    const members = ids.map((id) => this.requireMember(req.conference, id));
    if (members.length === 0) return Promise.reject(new SimulatorInvalidArgumentError('flood needs at least one member'));
    if (!(req.eventsPerSecond > 0)) return Promise.reject(new SimulatorInvalidArgumentError('eventsPerSecond must be > 0'));
    const limit = req.count ?? Math.floor((req.eventsPerSecond * (req.durationMs ?? 1000)) / 1000);
    const started = Date.now();
    let sent = 0;
    let next = 0;
    return new Promise((resolve) => {
      const tick = (): void => {
        // A restart or destroy replaced the conference: its members no longer exist.
        if (this.byName.get(conf.name) !== conf) {
          clearInterval(timer);
          resolve({ sent });
          return;
        }
        const due = Math.min(limit, Math.floor(((Date.now() - started) * req.eventsPerSecond) / 1000) + 1);
        while (sent < due) {
          const m = members[next++ % members.length]!;
          if (!conf.members.includes(m)) {
            clearInterval(timer);
            resolve({ sent });
            return;
          }
          const fired = m.talking ? this.memberStopTalking(m) : this.memberStartTalking(m, false);
          if (fired) sent++;
          else if (!members.some((x) => x.canSpeak || x.talking)) {
            clearInterval(timer);
            resolve({ sent });
            return;
          }
        }
        if (sent >= limit) {
          clearInterval(timer);
          resolve({ sent });
        }
      };
      const timer = setInterval(tick, 5);
      tick();
    });
  }

  // -------------------------------------------------------------------------------------------
  // Event helpers

  private fireCustom(site: CallingSite, headers: HeaderEntry[]): void {
    this.emit(this.events.create('CUSTOM', MAINTENANCE, site, headers));
  }

  private fireConference(conf: Conference, action: string, site: CallingSite, extra: Header[] = []): void {
    this.fireCustom(site, [...conferenceHeaders(conf), ['Action', action], ...extra]);
  }

  /** Member block, then `before`, Action, then `after` (stop-talking puts its measurements before Action). */
  private fireMember(m: Member, action: string, site: CallingSite, after: Header[] = [], before: Header[] = []): void {
    const h = memberHeaders(m, this.verbose);
    for (const x of before) h.push(x);
    h.push(['Action', action]);
    for (const x of after) h.push(x);
    this.fireCustom(site, h);
  }

  /**
   * Runs `fn` as one command: files it starts finish together afterwards, and the ones started in
   * the same command end in reverse order (the fixtures: muted 3, 2, 1 → done 1, 2, 3).
   */
  atomically<T>(fn: () => T): T {
    if (this.batch) return fn();
    this.batch = [];
    try {
      return fn();
    } finally {
      const batch = this.batch;
      this.batch = undefined;
      const byMs = new Map<number, DeferredDone[]>();
      for (const d of batch) {
        const list = byMs.get(d.ms) ?? [];
        list.push(d);
        byMs.set(d.ms, list);
      }
      for (const [ms, list] of byMs) {
        this.later(ms, () => {
          for (let i = list.length - 1; i >= 0; i--) list[i]!.fire();
        });
      }
    }
  }

  private later(ms: number, fn: () => void): void {
    const handle = this.scheduler.setTimer(() => {
      this.timers.delete(handle);
      this.atomically(fn);
    }, ms);
    this.timers.add(handle);
  }

  private defer(ms: number, fire: () => void): void {
    if (this.batch) this.batch.push({ ms, fire });
    else this.later(ms, fire);
  }

  private alive(conf: Conference): boolean {
    return this.byName.get(conf.name) === conf;
  }

  /** A file played to the whole conference: play-file-done when it ends. */
  playToConference(conf: Conference, file: string, announce?: { async: boolean }): void {
    if (announce) this.fireConference(conf, 'play-file', SITES.play, [['File', file], ['Async', announce.async ? 'true' : 'false']]);
    this.startPlay({ conf, member: undefined, file, async: announce?.async ?? false });
  }

  /** A file played to one member: play-file-member-done when it ends (if the member is still there). */
  playToMember(m: Member, file: string, announce: boolean): void {
    if (announce) this.fireMember(m, 'play-file-member', SITES.playMember, [['File', file]]);
    this.startPlay({ conf: m.conference, member: m, file, async: false });
  }

  private startPlay(p: { conf: Conference; member: Member | undefined; file: string; async: boolean }): void {
    const play: Play = { ...p, ms: playDurationMs(p.file, this.fileDurationMs), startedAt: this.scheduler.now(), done: false };
    this.plays.add(play);
    this.defer(play.ms, () => this.finishPlay(play, play.ms));
  }

  /** conference_file_close: the done event reports how much was played. */
  private finishPlay(play: Play, playedMs: number): void {
    if (play.done) return;
    play.done = true;
    this.plays.delete(play);
    const { conf, member: m } = play;
    if (!this.alive(conf) || (m && !conf.members.includes(m))) return;
    const s = playStats(playedMs, conf.profile.rate);
    const h: HeaderEntry[] = [
      ...conferenceHeaders(conf),
      ['seconds', String(s.seconds)],
      ['milliseconds', String(s.milliseconds)],
      ['samples', String(s.samples)],
      ['Action', m ? 'play-file-member-done' : 'play-file-done'],
    ];
    if (m) for (const x of memberHeaders(m, this.verbose)) h.push(x);
    h.push(['File', play.file]);
    this.fireCustom(SITES.fileClose, h);
  }

  /** `stop <current|all|async> [member]`: stopped files end now; returns how many. */
  stopPlays(conf: Conference, mode: 'current' | 'all' | 'async', member?: Member): number {
    let targets = [...this.plays].filter((p) => p.conf === conf && p.member === member && (mode !== 'async' || p.async));
    if (mode === 'current') targets = targets.slice(0, 1);
    for (const p of targets) this.finishPlay(p, Math.min(p.ms, this.scheduler.now() - p.startedAt));
    return targets.length;
  }

  // -------------------------------------------------------------------------------------------
  // Calls and membership

  /** The loopback call joins (or creates) the conference; member undefined when it is locked. */
  join(req: OriginateRequest): { uuid: string; member: Member | undefined } {
    // mod_conference builds a conference of an unknown profile from its compiled-in defaults.
    const profile = this.profiles.get(req.profile ?? 'default') ?? BUILTIN_PROFILE;
    const peerUuid = randomUUID();
    this.sessionsSinceStartup += 2;
    let conf = this.byName.get(req.conference);
    if (conf?.locked) return { uuid: peerUuid, member: undefined };
    if (conf && conf.maxMembers > 0 && conf.members.length >= conf.maxMembers) return { uuid: peerUuid, member: undefined };
    if (!conf) {
      conf = {
        name: req.conference,
        uuid: randomUUID(),
        profile,
        members: [],
        floor: undefined,
        locked: false,
        recordings: [],
        createdAt: this.scheduler.now(),
        // The profile's max-members, until `set max_members` changes it (0: no limit).
        maxMembers: profile.maxMembers ?? 0,
        callerIdName: undefined,
        callerIdNumber: undefined,
        spoken: [],
      };
      this.byName.set(conf.name, conf);
      this.fireConference(conf, 'conference-create', SITES.conferenceCreate);
    }
    const moderator = req.moderator ?? false;
    const destination = req.destination ?? `${moderator ? 'mod' : 'conf'}-${req.conference}`;
    const uuid = req.uuid ?? randomUUID();
    const member: Member = {
      id: this.nextMemberId++,
      conference: conf,
      channel: {
        uuid,
        peerUuid,
        name: req.channelName ?? `loopback/${destination}-b`,
        destination,
        context: req.context ?? 'default',
        callerIdName: req.callerIdName,
        callerIdNumber: req.callerIdNumber ?? '0000000000',
        createdUs: this.scheduler.now() * 1000,
        vars: { ...(req.vars ?? {}) },
        hangupCause: undefined,
      },
      moderator,
      joinFlags: [...(req.flags ?? [])],
      canHear: req.deaf !== true,
      canSpeak: req.mute !== true,
      talking: false,
      hold: false,
      muteDetect: false,
      video: false,
      canSee: true,
      energy: profile.energyLevel,
      currentEnergy: 0,
      volumeIn: 0,
      volumeOut: 0,
      joinedAt: this.scheduler.now(),
      lastTalkingAt: undefined,
      talkingSince: undefined,
      noSpeakTo: new Set(),
      noHear: new Set(),
    };
    conf.members.unshift(member);
    this.byChannel.set(uuid, member);
    this.byChannel.set(peerUuid, member);
    this.sessionPeak = Math.max(this.sessionPeak, this.byChannel.size);
    this.fireMember(member, 'add-member', SITES.addMember);
    if (!conf.floor && member.canSpeak) this.setFloor(conf, member, 'none');
    // mod_conference: a channel's `conference_enter_sound` replaces the profile's enter-sound (played only when the profile has one).
    if (conf.members.length > 1 && profile.enterSound) this.playToConference(conf, member.channel.vars.conference_enter_sound || profile.enterSound);
    return { uuid: peerUuid, member };
  }

  /**
   * A member leaves: floor released first (while still counted), del-member, then either the
   * conference ends (conference-destroy) or the floor passes on and the exit sound plays.
   */
  removeMember(m: Member, how: { cause?: string; shutdown?: boolean } = {}): void {
    const conf = m.conference;
    if (!conf.members.includes(m)) return;
    if (how.cause) m.channel.hangupCause = how.cause;
    if (conf.floor === m) {
      conf.floor = undefined;
      this.fireFloorChange(conf, 'none');
    }
    conf.members = conf.members.filter((x) => x !== m);
    this.byChannel.delete(m.channel.uuid);
    this.byChannel.delete(m.channel.peerUuid);
    this.fireMember(m, 'del-member', SITES.delMember);
    if (conf.members.length === 0) {
      this.byName.delete(conf.name);
      this.fireConference(conf, 'conference-destroy', SITES.conferenceDestroy);
      return;
    }
    if (how.shutdown) return;
    if (!conf.floor) {
      const next = conf.members.find((x) => x.canSpeak);
      if (next) this.setFloor(conf, next, 'none');
    }
    // A channel's `conference_exit_sound` plays instead of the profile's exit-sound.
    const exitSound = m.channel.vars.conference_exit_sound || conf.profile.exitSound;
    if (exitSound) this.playToConference(conf, exitSound);
  }

  setFloor(conf: Conference, member: Member | undefined, oldId?: string): void {
    const previous = conf.floor;
    if (previous === member) return;
    conf.floor = member;
    this.fireFloorChange(conf, oldId ?? (previous ? String(previous.id) : 'none'));
  }

  private fireFloorChange(conf: Conference, oldId: string): void {
    const h: HeaderEntry[] = [...conferenceHeaders(conf), ['Action', 'floor-change'], ['Old-ID', oldId]];
    if (conf.floor) {
      for (const x of memberHeaders(conf.floor, this.verbose)) h.push(x);
      h.push(['New-ID', String(conf.floor.id)]);
    } else {
      h.push(['New-ID', 'none']);
    }
    this.fireCustom(SITES.floorChange, h);
  }

  kick(m: Member): void {
    this.fireMember(m, 'kick-member', SITES.kick);
    this.removeMember(m);
  }

  hup(m: Member): void {
    this.fireMember(m, 'hup-member', SITES.hup);
    this.removeMember(m);
  }

  /** FreeSWITCH going down: SHUTDOWN, then every member leaves with SYSTEM_SHUTDOWN. */
  shutdown(): void {
    this.atomically(() => {
      this.emit(this.events.create('SHUTDOWN', undefined, SITES.shutdown, [['Event-Info', 'System Shutting Down']]));
      for (const conf of this.allConferences()) {
        for (const m of [...conf.members]) this.removeMember(m, { cause: 'SYSTEM_SHUTDOWN', shutdown: true });
      }
    });
    for (const t of this.timers) t.cancel();
    this.timers.clear();
  }

  requestShutdown(): void {
    this.hooks.onShutdownRequested?.();
  }

  // -------------------------------------------------------------------------------------------
  // Member actions (each as conference_api.c does it)

  private memberStartTalking(m: Member, moveFloor: boolean): boolean {
    if (!m.canSpeak || m.talking) return false;
    const now = this.scheduler.now();
    m.talking = true;
    m.currentEnergy = toneEnergy(m.id * 7919 + now);
    m.talkingSince = now;
    m.lastTalkingAt = now;
    this.fireMember(m, 'start-talking', SITES.startTalking);
    const conf = m.conference;
    if (moveFloor && conf.floor !== m && (!conf.floor || !conf.floor.talking)) this.setFloor(conf, m);
    return true;
  }

  private memberStopTalking(m: Member): boolean {
    if (!m.talking) return false;
    const now = this.scheduler.now();
    const durationMs = Math.max(20, now - (m.talkingSince ?? now));
    m.talking = false;
    m.lastTalkingAt = now;
    m.talkingSince = undefined;
    m.currentEnergy = 0;
    this.fireMember(m, 'stop-talking', SITES.stopTalking, [], talkingStats(durationMs, m.energy));
    return true;
  }

  mute(m: Member, quiet: boolean): string {
    m.canSpeak = false;
    m.talking = false; // cleared without a stop-talking event, as FreeSWITCH does
    m.talkingSince = undefined;
    this.fireMember(m, 'mute-member', SITES.mute);
    if (!quiet && m.conference.profile.mutedSound) this.playToMember(m, m.conference.profile.mutedSound, false);
    return `+OK mute ${m.id}\n`;
  }

  unmute(m: Member, quiet: boolean): string {
    m.canSpeak = true;
    this.fireMember(m, 'unmute-member', SITES.unmute);
    if (!quiet && m.conference.profile.unmutedSound) this.playToMember(m, m.conference.profile.unmutedSound, false);
    return `+OK unmute ${m.id}\n`;
  }

  deaf(m: Member, on: boolean): string {
    m.canHear = !on;
    this.fireMember(m, on ? 'deaf-member' : 'undeaf-member', on ? SITES.deaf : SITES.undeaf);
    return `+OK ${on ? 'deaf' : 'undeaf'} ${m.id}\n`;
  }

  holdMember(m: Member, on: boolean): string {
    m.hold = on;
    this.fireMember(m, on ? 'hold-member' : 'unhold-member', on ? SITES.hold : SITES.unhold);
    return `+OK ${on ? 'hold' : 'unhold'} ${m.id}\n`;
  }

  setEnergy(m: Member, value: number | undefined): string {
    if (value !== undefined) {
      m.energy = value;
      this.fireMember(m, 'energy-level-member', SITES.energy, [['Energy-Level', String(value)]]);
    }
    return `Energy ${m.id} = ${m.energy}\n`;
  }

  setVolume(m: Member, dir: 'in' | 'out', value: number | undefined): string {
    if (value !== undefined) {
      const v = Math.max(-VOLUME_LIMIT, Math.min(VOLUME_LIMIT, value));
      if (dir === 'in') m.volumeIn = v;
      else m.volumeOut = v;
      this.fireMember(m, dir === 'in' ? 'volume-in-member' : 'volume-out-member', dir === 'in' ? SITES.volumeIn : SITES.volumeOut, [
        ['Volume-Level', String(v)],
      ]);
    }
    return dir === 'in' ? `+OK Volume IN ${m.id} = ${m.volumeIn}\n` : `+OK Volume OUT ${m.id} = ${m.volumeOut}\n`;
  }

  dtmf(m: Member, digits: string): string {
    this.fireMember(m, 'dtmf-member', SITES.dtmf, [['Digits', digits]]);
    return `+OK sent ${digits} to ${m.id}\n`;
  }

  lock(conf: Conference, on: boolean): string {
    conf.locked = on;
    this.fireConference(conf, on ? 'lock' : 'unlock', on ? SITES.lock : SITES.unlock);
    const sound = on ? conf.profile.lockedSound : conf.profile.unlockedSound;
    if (sound) this.playToConference(conf, sound);
    return `+OK ${conf.name} ${on ? 'locked' : 'unlocked'}\n`;
  }

  /** conference_api_sub_say: speak-text when the profile has a TTS engine. */
  say(conf: Conference, text: string): string {
    if (!conf.profile.ttsEngine) return '(say) Error!\n';
    conf.spoken.push({ text });
    this.fireConference(conf, 'speak-text', SITES.say, [['Text', text]]);
    return '(say) OK\n';
  }

  /** conference_api_sub_saymember: speak-text-member to one member. */
  sayMember(m: Member, text: string): string {
    if (!m.conference.profile.ttsEngine) return '(saymember) Error!\n';
    m.conference.spoken.push({ text, member: m.id });
    this.fireMember(m, 'speak-text-member', SITES.sayMember, [['Text', text]]);
    return '(saymember) OK\n';
  }

  startRecording(conf: Conference, path: string): string {
    conf.recordings.push({ path, startedAt: this.scheduler.now() });
    this.fireConference(conf, 'start-recording', SITES.startRecording, [['Path', path]]);
    return `+OK Record file ${path}\n`;
  }

  /** `norecord all` reports "0 files" after stopping them: FreeSWITCH 1.10 does exactly that. */
  stopRecording(conf: Conference, which: string): string {
    const all = which.toLowerCase() === 'all';
    const stopping = conf.recordings.filter((r) => all || r.path === which);
    let out = '';
    for (const r of stopping) {
      const idx = conf.recordings.indexOf(r);
      conf.recordings.splice(idx, 1);
      out += `Stopped recording file ${r.path}\n`;
      this.fireRecordingStopped(conf, r);
    }
    return out + `+OK Stopped recording ${all ? 0 : stopping.length} files\n`;
  }

  private fireRecordingStopped(conf: Conference, r: Recording): void {
    const elapsed = Math.max(0, this.scheduler.now() - r.startedAt);
    this.fireConference(conf, 'stop-recording', SITES.stopRecording, [
      ['Path', r.path],
      ['Other-Recordings', conf.recordings.length > 0 ? 'true' : 'false'],
      ...recordingStats(elapsed, conf.profile.rate),
    ]);
  }
}
