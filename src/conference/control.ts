/**
 * ConferenceControl: the one executor of conference commands. It validates and builds the api
 * string (commands.ts), finds the node hosting the conference (ConferenceLocator), runs it on that
 * node's EslNode, and turns the reply into a result or a typed error (replies.ts).
 *
 * ESL failures become domain errors here, in one place:
 *   EslTimeoutError                              → CommandTimeoutError
 *   EslNodeDownError, EslConnectionClosedError   → NodeDownError
 *   EslInvalidArgumentError                      → InvalidArgumentError (cannot happen after validation)
 *   no EslNode for the located node name         → NodeDownError
 *   anything else (EslOverloadError, …)          → passed through unchanged (already a typed ConfmgrError)
 */
import { EslConnectionClosedError, EslInvalidArgumentError, EslNodeDownError, EslTimeoutError } from '../esl/index.js';
import type { EslNode } from '../esl/index.js';
import { randomUUID } from 'node:crypto';
import { silentLogger, type Logger } from '../util/index.js';
import { buildCommand, type CommandPolicy } from './commands.js';
import { dialOutcome, failedOutcome, originateCommand, prepareDial, type ConferenceDialer, type DialRequest, type DialResult } from './dial.js';
import { ConferenceProfiles } from './profiles.js';
import { CommandTimeoutError, ConferenceNotFoundError, InvalidArgumentError, NodeDownError } from './errors.js';
import { parseReply } from './replies.js';
import type { CommandResult, ConferenceCommand, ConferenceCommandExecutor, ConferenceLocator, MemberTarget } from './types.js';

export type NodeDirectory = (node: string) => EslNode | undefined;

export interface ConferenceControlOptions {
  locator: ConferenceLocator;
  nodes: NodeDirectory;
  logger?: Logger;
  /** Per-command reply deadline passed to EslNode.api (the node's default when absent). */
  timeoutMs?: number;
  /** Directories `record` / `norecord` paths must be under (config `recordings.dirs`); absent: not restricted. */
  recordingDirs?: readonly string[];
  /**
   * The node a dial starts a conference on when it runs nowhere (Kazoo's ecallmgr picks a media
   * server); absent or undefined: such a dial fails with ConferenceNotFoundError.
   */
  startNode?: () => string | undefined;
}

/** Kazoo's participant actions as FreeSWITCH sees them. */
export type ParticipantAction = 'mute' | 'unmute' | 'deaf' | 'undeaf' | 'kick';

/** Extra time a dialled leg's BACKGROUND_JOB may take beyond its ring timeout (answer, app start). */
const DIAL_JOB_SLACK_MS = 10_000;

export class ConferenceControl implements ConferenceCommandExecutor, ConferenceDialer {
  private readonly locator: ConferenceLocator;
  private readonly nodes: NodeDirectory;
  private readonly logger: Logger;
  private readonly timeoutMs: number | undefined;
  private readonly policy: CommandPolicy;
  private readonly profiles: ConferenceProfiles;
  private readonly startNode: (() => string | undefined) | undefined;

  constructor(options: ConferenceControlOptions) {
    this.locator = options.locator;
    this.nodes = options.nodes;
    this.logger = options.logger ?? silentLogger;
    this.timeoutMs = options.timeoutMs;
    this.policy = options.recordingDirs ? { recordingDirs: [...options.recordingDirs] } : {};
    this.profiles = new ConferenceProfiles(this.logger);
    this.startNode = options.startNode;
  }

  /**
   * Kazoo's conference dial: every endpoint originated into the conference at once (one
   * `bgapi originate` each, dial.ts), on the node hosting it (or `startNode` when it runs nowhere: the
   * first leg to answer creates it); resolves when every leg has answered and joined or failed.
   * Validated whole before anything is sent.
   */
  async dial(request: DialRequest): Promise<DialResult> {
    const prepared = prepareDial(request, randomUUID);
    const nodeName = await this.dialNode(prepared.conference);
    const node = this.nodes(nodeName);
    if (node === undefined) throw new NodeDownError(nodeName, { reason: 'unknown node' });
    const { profile } = await this.profiles.choose(nodeName, prepared.profile, (command) => node.api(command, this.timeoutMs === undefined ? undefined : { timeoutMs: this.timeoutMs }), {
      node: nodeName,
      conference: prepared.conference,
    });
    const jobTimeoutMs = prepared.timeoutS * 1000 + DIAL_JOB_SLACK_MS;
    const outcomes = await Promise.all(
      prepared.legs.map(async (leg) => {
        const command = originateCommand(prepared, leg, profile);
        try {
          const job = await node.bgapi(command, { ...(this.timeoutMs === undefined ? {} : { timeoutMs: this.timeoutMs }), jobTimeoutMs });
          return dialOutcome(leg, job.body);
        } catch (err) {
          this.logger.warn({ node: nodeName, conference: prepared.conference, call: leg.callId, err }, 'dial: originate failed');
          return failedOutcome(leg, mapEslError(err, nodeName, 'originate'));
        }
      }),
    );
    this.logger.info({ node: nodeName, conference: prepared.conference, results: outcomes.map((o) => o.result) }, 'dial done');
    return { conference: prepared.conference, node: nodeName, profile, outcomes };
  }

  /** Runs `command` on the node hosting its conference. */
  async execute(command: ConferenceCommand): Promise<CommandResult> {
    // Validate before locating: a bad argument never costs a lookup, let alone a wire write.
    const apiCommand = buildCommand(command, this.policy);
    const node = await this.locator.nodeFor(command.conference);
    return this.run(node, command, apiCommand);
  }

  /** Runs `command` on a given node, bypassing the locator (resync, diagnostics). */
  async executeOn(node: string, command: ConferenceCommand): Promise<CommandResult> {
    return this.run(node, command, buildCommand(command, this.policy));
  }

  /** The node hosting the conference, or the one a dial starts it on when it runs nowhere. */
  private async dialNode(conference: string): Promise<string> {
    try {
      return await this.locator.nodeFor(conference);
    } catch (err) {
      const start = err instanceof ConferenceNotFoundError ? this.startNode?.() : undefined;
      if (start === undefined) throw err;
      this.logger.info({ conference, node: start }, 'dial: the conference runs nowhere; starting it');
      return start;
    }
  }

  // --- Kazoo's conference actions -------------------------------------------------------

  lock(conference: string): Promise<CommandResult> {
    return this.execute({ kind: 'lock', conference });
  }

  unlock(conference: string): Promise<CommandResult> {
    return this.execute({ kind: 'unlock', conference });
  }

  // --- Kazoo's participants (bulk) actions ----------------------------------------------
  // "all participants except moderators" is FreeSWITCH's own `non_moderator` target: it acts on
  // every member without the moderator flag, rather than Kazoo's list walk that skipped members
  // whose moderator flag was merely absent from its cache.

  muteParticipants(conference: string, options: { quiet?: boolean } = {}): Promise<CommandResult> {
    return this.execute({ kind: 'mute', conference, target: 'non_moderator', quiet: options.quiet });
  }

  unmuteParticipants(conference: string, options: { quiet?: boolean } = {}): Promise<CommandResult> {
    return this.execute({ kind: 'unmute', conference, target: 'non_moderator', quiet: options.quiet });
  }

  deafParticipants(conference: string): Promise<CommandResult> {
    return this.execute({ kind: 'deaf', conference, target: 'non_moderator' });
  }

  undeafParticipants(conference: string): Promise<CommandResult> {
    return this.execute({ kind: 'undeaf', conference, target: 'non_moderator' });
  }

  /** "kick every participant out": `kick all`, moderators included. */
  kickAll(conference: string): Promise<CommandResult> {
    return this.execute({ kind: 'kick', conference, target: 'all' });
  }

  /** Hang up every member's channel (`hup all`), moderators included. */
  hupAll(conference: string): Promise<CommandResult> {
    return this.execute({ kind: 'hup', conference, target: 'all' });
  }

  /** Kazoo's participants action by name (PUT …/participants {"action": …}). */
  participantsAction(conference: string, action: ParticipantAction): Promise<CommandResult> {
    switch (action) {
      case 'mute':
        return this.muteParticipants(conference);
      case 'unmute':
        return this.unmuteParticipants(conference);
      case 'deaf':
        return this.deafParticipants(conference);
      case 'undeaf':
        return this.undeafParticipants(conference);
      case 'kick':
        return this.kickAll(conference);
      default:
        return Promise.reject(new InvalidArgumentError(`action: unknown participants action ${JSON.stringify(action)}`, { field: 'action' }));
    }
  }

  // --- Kazoo's single-participant actions -----------------------------------------------

  /** Kazoo's participant action by name (PUT …/participants/{id} {"action": …}). */
  participantAction(conference: string, member: number, action: ParticipantAction): Promise<CommandResult> {
    if (!['mute', 'unmute', 'deaf', 'undeaf', 'kick'].includes(action)) {
      return Promise.reject(new InvalidArgumentError(`action: unknown participant action ${JSON.stringify(action)}`, { field: 'action' }));
    }
    return this.execute({ kind: action, conference, target: member });
  }

  muteParticipant(conference: string, member: MemberTarget, options: { quiet?: boolean } = {}): Promise<CommandResult> {
    return this.execute({ kind: 'mute', conference, target: member, quiet: options.quiet });
  }

  unmuteParticipant(conference: string, member: MemberTarget, options: { quiet?: boolean } = {}): Promise<CommandResult> {
    return this.execute({ kind: 'unmute', conference, target: member, quiet: options.quiet });
  }

  deafParticipant(conference: string, member: MemberTarget): Promise<CommandResult> {
    return this.execute({ kind: 'deaf', conference, target: member });
  }

  undeafParticipant(conference: string, member: MemberTarget): Promise<CommandResult> {
    return this.execute({ kind: 'undeaf', conference, target: member });
  }

  kickParticipant(conference: string, member: MemberTarget): Promise<CommandResult> {
    return this.execute({ kind: 'kick', conference, target: member });
  }

  // --- internals ---------------------------------------------------------------------------

  private async run(nodeName: string, command: ConferenceCommand, apiCommand: string): Promise<CommandResult> {
    const node = this.nodes(nodeName);
    if (node === undefined) throw new NodeDownError(nodeName, { reason: 'unknown node' });
    let body: string;
    const started = Date.now();
    try {
      body = await node.api(apiCommand, this.timeoutMs === undefined ? undefined : { timeoutMs: this.timeoutMs });
    } catch (err) {
      const mapped = mapEslError(err, nodeName, apiCommand);
      this.logger.warn({ node: nodeName, command: apiCommand, code: (mapped as { code?: string }).code }, 'conference command failed');
      throw mapped;
    }
    try {
      const result = parseReply(command, apiCommand, nodeName, body);
      this.logger.debug({ node: nodeName, command: apiCommand, ms: Date.now() - started }, 'conference command ok');
      return result;
    } catch (err) {
      this.logger.info({ node: nodeName, command: apiCommand, code: (err as { code?: string }).code }, 'conference command refused');
      throw err;
    }
  }
}

/** ESL-layer errors → conference-domain errors (see the module comment). */
export function mapEslError(err: unknown, node: string, apiCommand: string): unknown {
  if (err instanceof EslTimeoutError) {
    return new CommandTimeoutError(`no reply from ${node} to "${apiCommand}"`, { node, command: apiCommand, cause: err.message });
  }
  if (err instanceof EslNodeDownError || err instanceof EslConnectionClosedError) {
    return new NodeDownError(node, { command: apiCommand, cause: err.message });
  }
  if (err instanceof EslInvalidArgumentError) {
    return new InvalidArgumentError(err.message, { command: apiCommand });
  }
  return err;
}
