/**
 * Applies conference documents to live calls. When a call joins a conference that has a document
 * (`add-member`): mute it if its role (member / moderator) has `join_muted`, deafen it if
 * `join_deaf`, and play the entry tone to the conference; on `del-member` play the exit tone.
 * Roles default as Kazoo's schema says (members join muted). Tones: `false` = none, a string = that tone
 * string or media URI, `true` or absent = Kazoo's default tone.
 *
 * Events the registry synthesizes during a resync (OutboundEvent.synthesized) say "is in the
 * conference", not "has just joined":
 *  - a participant confmgr already handled (it has a conferencecall record from before the resync)
 *    is left alone: it may have been unmuted on purpose since it joined;
 *  - a participant that joined while confmgr was away (no record yet) gets join_muted / join_deaf
 *    (the document's policy would otherwise never apply to it), but no entry tone: the tone
 *    announces a join to everyone, and this join happened at some unknown time before;
 *  - a synthesized del-member plays no exit tone, for the same reason.
 * Whether a participant is new comes from `isNewParticipant` (the conferencecall tracker); without
 * it, synthesized events are not enforced at all.
 * Commands go through the executor (validated there); failures are logged, never thrown.
 */
import type { Logger } from '../util/index.js';
import { silentLogger } from '../util/index.js';
import type { ConferenceCommand, ConferenceCommandExecutor, OutboundEvent } from '../conference/index.js';
import type { ConferenceDocuments } from './conference-documents.js';
import { DEFAULT_ENTRY_TONE, DEFAULT_EXIT_TONE, roleSettings, toneFile } from './conference-document.js';

/** Calls remembered by tonesPlayedByFreeSwitch at most (each is forgotten when it leaves). */
const MAX_TONE_CALLS = 100_000;

export interface DocumentEnforcerOptions {
  documents: ConferenceDocuments;
  executor: ConferenceCommandExecutor;
  logger?: Logger;
  /**
   * For synthesized add-member events: whether confmgr had no record of this participant before the
   * event (it joined while confmgr was away). Absent: synthesized events are never enforced.
   */
  isNewParticipant?: (event: OutboundEvent) => Promise<boolean>;
}

export class DocumentEnforcer {
  private readonly log: Logger;
  private pending = new Set<Promise<void>>();
  /**
   * Calls whose entry and exit tones FreeSWITCH plays itself (the entry service joins them with
   * `conference_enter_sound` / `conference_exit_sound` set): no `play` from here, so each tone
   * plays once.
   */
  private readonly tonesByFreeSwitch = new Set<string>();
  /**
   * Calls whose join flags the join itself decided (a conference dial's participant_flags): the
   * document's join_muted / join_deaf are not applied to them on add-member.
   */
  private readonly flagsByJoin = new Set<string>();
  /** Recorded names (Kazoo's play_name) by call: played to the conference when the call joins and leaves. */
  private readonly names = new Map<string, string>();

  constructor(private readonly o: DocumentEnforcerOptions) {
    this.log = o.logger ?? silentLogger;
  }

  readonly handle = (event: OutboundEvent): void => {
    if (event.event !== 'add-member' && event.event !== 'del-member') return;
    const synthesized = event.synthesized === true || event.payload.synthesized === true;
    if (synthesized && (event.event !== 'add-member' || !this.o.isNewParticipant)) return;
    let tones = true;
    if (event.callId !== undefined && this.tonesByFreeSwitch.has(event.callId)) {
      tones = false;
      if (event.event === 'del-member') this.tonesByFreeSwitch.delete(event.callId);
    }
    let roles = true;
    if (event.callId !== undefined && this.flagsByJoin.has(event.callId)) {
      roles = false;
      if (event.event === 'del-member') this.flagsByJoin.delete(event.callId);
    }
    let name: string | undefined;
    if (!synthesized && event.callId !== undefined) {
      name = this.names.get(event.callId);
      if (event.event === 'del-member') this.names.delete(event.callId);
    }
    const p = (synthesized ? this.applyIfNew(event, roles) : this.apply(event, { tones, roles, ...(name !== undefined ? { name } : {}) })).finally(() => this.pending.delete(p));
    this.pending.add(p);
  };

  /** The call `callId` is about to join with flags of its own (a dial's participant_flags): no join_muted / join_deaf for it. */
  joinFlagsDecided(callId: string): void {
    this.flagsByJoin.add(callId);
    // Forgotten on del-member; a call that never joined has none, so the oldest go first past a bound.
    if (this.flagsByJoin.size > MAX_TONE_CALLS) this.flagsByJoin.delete(this.flagsByJoin.values().next().value!);
  }

  /** The call `callId` is about to join with its tones set on the channel (see tonesByFreeSwitch). */
  tonesPlayedByFreeSwitch(callId: string): void {
    this.tonesByFreeSwitch.add(callId);
    // Forgotten on del-member; a call FreeSWITCH never let in has none, so the oldest go first past a bound.
    if (this.tonesByFreeSwitch.size > MAX_TONE_CALLS) this.tonesByFreeSwitch.delete(this.tonesByFreeSwitch.values().next().value!);
  }

  /** The call `callId` recorded its name in `file` (play_name): announced on its add-member and del-member. */
  announceName(callId: string, file: string): void {
    this.names.set(callId, file);
    if (this.names.size > MAX_TONE_CALLS) this.names.delete(this.names.keys().next().value!);
  }

  /** Resolves when the commands of every event seen so far have been answered (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** The commands a document asks for on this event (pure; exported for tests). `tones: false` leaves the tones out. */
  static commandsFor(doc: Record<string, unknown>, event: OutboundEvent, options: { tones?: boolean; roles?: boolean } = {}): ConferenceCommand[] {
    const conference = event.conferenceId;
    const tones = options.tones ?? true;
    const roles = options.roles ?? true;
    if (event.event === 'del-member') {
      if (!tones) return [];
      const file = toneFile(doc.play_exit_tone, DEFAULT_EXIT_TONE);
      return file ? [{ kind: 'play', conference, file }] : [];
    }
    const commands: ConferenceCommand[] = [];
    const member = event.payload.participant_id;
    if (roles && typeof member === 'number' && Number.isInteger(member) && member > 0) {
      const role = roleSettings(doc, event.payload.is_moderator === true);
      if (role.join_muted && event.payload.speak !== false) commands.push({ kind: 'mute', conference, target: member, quiet: true });
      if (role.join_deaf && event.payload.hear !== false) commands.push({ kind: 'deaf', conference, target: member });
    }
    const file = tones ? toneFile(doc.play_entry_tone, DEFAULT_ENTRY_TONE) : undefined;
    if (file) commands.push({ kind: 'play', conference, file });
    return commands;
  }

  private async applyIfNew(event: OutboundEvent, roles: boolean): Promise<void> {
    let isNew: boolean;
    try {
      isNew = await this.o.isNewParticipant!(event);
    } catch (err) {
      // Unknown: leave the call alone rather than re-mute someone who may have been unmuted on purpose.
      this.log.warn({ err, conference: event.conferenceId, call: event.callId }, 'cannot tell whether a resynced participant is new; not enforcing');
      return;
    }
    if (isNew) await this.apply(event, { tones: false, roles });
  }

  private async apply(event: OutboundEvent, options: { tones: boolean; roles: boolean; name?: string }): Promise<void> {
    let doc;
    try {
      doc = await this.o.documents.get(event.conferenceId);
    } catch (err) {
      this.log.error({ err, conference: event.conferenceId }, 'cannot read conference document');
      return;
    }
    if (!doc) return;
    const commands = DocumentEnforcer.commandsFor(doc.doc, event, options);
    if (options.name !== undefined) commands.push({ kind: 'play', conference: event.conferenceId, file: options.name });
    for (const command of commands) {
      try {
        await this.o.executor.execute(command);
      } catch (err) {
        // The exit tone of the last member fails with conference-not-found: expected, not an error.
        const level = (err as { code?: string }).code === 'CONFERENCE_NOT_FOUND' ? 'debug' : 'warn';
        this.log[level]({ err, command: command.kind, conference: event.conferenceId }, 'document enforcement command failed');
      }
    }
  }
}
