/**
 * What happens to one call FreeSWITCH hands to the entry service, in order:
 *  1. `connect`, `myevents`, `linger`; the call is answered.
 *  2. The conference: the channel variable `conference_id` names it; otherwise the dialled number
 *     (`Caller-Destination-Number`) is looked up in every document's `conference_numbers`,
 *     `member.numbers` and `moderator.numbers` (a moderator number makes the caller a moderator,
 *     a member number a member). None → the notFound prompt, hangup UNALLOCATED_NUMBER.
 *  3. A `joining` conferencecall record, from here on.
 *  4. The PIN, when the caller's role has pins (or either role has, when the number did not decide
 *     the role): up to 3 tries of `play_and_get_digits` (prompt, digits up to `#` or the timeout);
 *     a wrong or missing PIN plays invalidPin, the third one pinFailed and hangs up CALL_REJECTED.
 *     A moderator PIN makes the caller a moderator.
 *  5. Refusals: a locked conference (locked prompt, hangup FACILITY_REJECTED) or one with
 *     `max_members` members (full prompt, hangup NORMAL_CIRCUIT_CONGESTION); the record is closed
 *     as leaved and `onRefused` is told.
 *  5b. `play_name`: the name prompt, then `record` of at most 3 seconds into `namesDir`; the document
 *     enforcer plays the file to the conference on this call's add-member and del-member.
 *  6. The tones: `conference_enter_sound` / `conference_exit_sound` are set to the document's tones
 *     (silence when turned off), which mod_conference plays instead of the profile's enter / exit
 *     sound; the document enforcer then plays none for this call, so each tone plays once.
 *  7. The join, with the flags in the join itself: `conference NAME@PROFILE+flags{mute|deaf|moderator}`
 *     (PROFILE: the document's, or `default` when that FreeSWITCH's conference.conf lacks it: mod_conference
 *     would silently build the conference from compiled-in defaults)
 *     (the role's `join_muted` / `join_deaf`), so the very first add-member already says so and no
 *     mute or deaf command follows. The `conference` application returns when the member leaves; the
 *     call is then hung up NORMAL_CLEARING.
 */
import type { Logger } from '../util/index.js';
import type { ConferenceProfiles } from '../conference/index.js';
import { DEFAULT_ENTRY_TONE, DEFAULT_EXIT_TONE, toneFile } from '../records/index.js';
import type { ConferenceDocuments, ConferencecallTracker, DocumentEnforcer, RealtimeRegistry } from '../records/index.js';
import { CallEndedError } from './errors.js';
import type { OutboundSession } from './outbound-session.js';
import type { EntryPrompts } from './prompts.js';

type Json = Record<string, unknown>;
type Role = 'member' | 'moderator';
type StoredDocument = NonNullable<Awaited<ReturnType<ConferenceDocuments['get']>>>;

/** Tries of the PIN before the call is hung up. */
export const PIN_TRIES = 3;
/** What plays for a tone the document turns off: mod_conference plays its profile's sound when the variable is empty. */
const SILENCE = 'silence_stream://1';
/** How long a recorded name may be (seconds). */
const NAME_SECONDS = 3;
/** The channel variable play_and_get_digits writes the digits to. */
const PIN_VARIABLE = 'confmgr_entry_pin';

export const HANGUP_CAUSES = {
  notFound: 'UNALLOCATED_NUMBER',
  pinFailed: 'CALL_REJECTED',
  locked: 'FACILITY_REJECTED',
  full: 'NORMAL_CIRCUIT_CONGESTION',
  done: 'NORMAL_CLEARING',
} as const;

export type RefusalReason = 'not_found' | 'pin_failed' | 'locked' | 'full';

export interface EntryRefusal {
  reason: RefusalReason;
  /** The hangup cause the call was given. */
  cause: string;
  callId: string;
  conference: string | undefined;
  destination: string | undefined;
  callerIdNumber?: string | undefined;
  callerIdName?: string | undefined;
  /** The conference document's account, when there is one. */
  accountId?: string | undefined;
}

export type EntryOutcome =
  | { kind: 'joined'; conference: string; moderator: boolean; flags: string[] }
  | ({ kind: 'refused' } & EntryRefusal)
  | { kind: 'ended'; conference: string | undefined };

export interface EntryFlowDeps {
  documents: Pick<ConferenceDocuments, 'get' | 'findByNumber'>;
  registry: Pick<RealtimeRegistry, 'conference'>;
  tracker: Pick<ConferencecallTracker, 'beginJoining' | 'abandonJoining'>;
  /** Told which calls join with their tones set on the channel, so it does not play them again. */
  enforcer?: Pick<DocumentEnforcer, 'tonesPlayedByFreeSwitch' | 'announceName'>;
  prompts: EntryPrompts;
  /** How long one PIN try waits for the first digit (ms). */
  pinTimeoutMs: number;
  /** How long it waits between digits (ms). */
  pinDigitTimeoutMs: number;
  /** The profiles each FreeSWITCH knows: a document's profile it lacks joins as `default` (logged). */
  profiles?: Pick<ConferenceProfiles, 'choose'>;
  /** Where FreeSWITCH records callers' names for `play_name` (on the FreeSWITCH host). */
  namesDir?: string;
  logger: Logger;
  /** A call was refused (not found, PIN, locked, full). */
  onRefused?: (refusal: EntryRefusal) => void;
  /** The join was sent (for measurements). */
  onJoin?: (conference: string) => void;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.length > 0) : [];
}

function roleOf(doc: Json, role: Role): Json {
  return isObject(doc[role]) ? (doc[role] as Json) : {};
}

/** The role a dialled number decides, when it is one of the document's role numbers. */
function roleByNumber(doc: Json, number: string | undefined): Role | undefined {
  if (number === undefined) return undefined;
  if (strings(roleOf(doc, 'moderator').numbers).includes(number)) return 'moderator';
  if (strings(roleOf(doc, 'member').numbers).includes(number)) return 'member';
  return undefined;
}

/** The join's flags, as mod_conference's `+flags{…}` names them. */
export function joinFlags(doc: Json, moderator: boolean): string[] {
  const role = roleOf(doc, moderator ? 'moderator' : 'member');
  const muted = typeof role.join_muted === 'boolean' ? role.join_muted : !moderator; // Kazoo: members join muted
  const deaf = role.join_deaf === true;
  const flags: string[] = [];
  if (muted) flags.push('mute');
  if (deaf) flags.push('deaf');
  if (moderator) flags.push('moderator');
  return flags;
}

/** A name `conference NAME@PROFILE+flags{…}` can carry: `@` and `+` separate its parts. */
const JOINABLE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const PROFILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** The document's profile as FreeSWITCH will use it: `default` when it is malformed or unknown there. */
async function joinProfile(session: OutboundSession, deps: EntryFlowDeps, doc: Json, data: Record<string, string>, log: Logger): Promise<string> {
  const requested = typeof doc.profile === 'string' ? doc.profile : 'default';
  if (!PROFILE_NAME.test(requested)) {
    log.warn({ profile: requested.slice(0, 64), fallback: 'default' }, 'entry: malformed profile name; using default');
    return 'default';
  }
  if (!deps.profiles) return requested;
  // One FreeSWITCH per Core-UUID: its conference.conf, asked on this call's own socket.
  const choice = await deps.profiles.choose(data['Core-UUID'] ?? 'unknown', requested, (command) => session.api(command), { call: data['Unique-ID'] });
  return choice.profile;
}

export async function runEntryFlow(session: OutboundSession, deps: EntryFlowDeps): Promise<EntryOutcome> {
  const data = await session.connect();
  await session.myevents();
  await session.linger();
  const callId = data['Unique-ID'] ?? '';
  const destination = data['Caller-Destination-Number'];
  const log = deps.logger.child({ call: callId, destination });

  // 2. Which conference, and maybe the role.
  let conference = data.variable_conference_id;
  let doc: StoredDocument | undefined;
  let role: Role | undefined;
  if (conference !== undefined && conference !== '') {
    doc = await deps.documents.get(conference);
  } else if (destination !== undefined) {
    doc = await deps.documents.findByNumber(destination);
    conference = doc?.id;
    if (doc) role = roleByNumber(doc.doc, destination);
  }
  await session.execute('answer');
  if (conference === undefined || conference === '' || !JOINABLE_NAME.test(conference)) {
    log.info({ conference }, 'entry: no conference for this call');
    return refuse(session, deps, { reason: 'not_found', cause: HANGUP_CAUSES.notFound, callId, conference: undefined, destination }, deps.prompts.notFound);
  }
  const body: Json = doc?.doc ?? {};
  const who = { callerIdNumber: data['Caller-Caller-ID-Number'], callerIdName: data['Caller-Caller-ID-Name'], accountId: doc?.accountId };

  // 3. From here on the call has a record.
  await deps.tracker.beginJoining(conference, callId, doc?.accountId ?? '', deps.registry.conference(conference)?.node ?? null);
  try {
    // 4. The PIN.
    const memberPins = strings(roleOf(body, 'member').pins);
    const moderatorPins = strings(roleOf(body, 'moderator').pins);
    const accepted = role === 'moderator' ? moderatorPins : role === 'member' ? memberPins : [...moderatorPins, ...memberPins];
    if (accepted.length > 0) {
      const pin = await collectPin(session, deps, accepted);
      if (pin === undefined) {
        log.info({ conference }, 'entry: no valid PIN after the last try');
        await deps.tracker.abandonJoining(conference, callId);
        return refuse(session, deps, { reason: 'pin_failed', cause: HANGUP_CAUSES.pinFailed, callId, conference, destination, ...who }, deps.prompts.pinFailed);
      }
      if (role === undefined) role = moderatorPins.includes(pin) ? 'moderator' : 'member';
    }
    const moderator = role === 'moderator';

    // 5. Locked or full.
    const live = deps.registry.conference(conference);
    if (live?.is_locked) {
      log.info({ conference }, 'entry: conference is locked');
      await deps.tracker.abandonJoining(conference, callId);
      return refuse(session, deps, { reason: 'locked', cause: HANGUP_CAUSES.locked, callId, conference, destination, ...who }, deps.prompts.locked);
    }
    const max = typeof body.max_members === 'number' ? body.max_members : undefined;
    const count = live ? (live.callIds?.().length ?? live.participants.length) : 0;
    if (max !== undefined && count >= max) {
      log.info({ conference, members: count, max_members: max }, 'entry: conference is full');
      await deps.tracker.abandonJoining(conference, callId);
      return refuse(session, deps, { reason: 'full', cause: HANGUP_CAUSES.full, callId, conference, destination, ...who }, deps.prompts.full);
    }

    // 6. The join, flags included.
    const flags = joinFlags(body, moderator);
    const profile = await joinProfile(session, deps, body, data, log);
    const target = `${conference}@${profile}${flags.length > 0 ? `+flags{${flags.join('|')}}` : ''}`;
    if (body.play_name === true && deps.namesDir !== undefined) {
      // Kazoo's play_name: the caller says their name, which the conference hears on join and leave.
      const file = `${deps.namesDir}/${callId}.wav`;
      await session.execute('playback', deps.prompts.name);
      await session.execute('record', `${file} ${NAME_SECONDS} 200 2`);
      deps.enforcer?.announceName(callId, file);
    }
    if (doc) {
      // The document's tones replace the profile's enter/exit sounds, so each plays once (silence when disabled).
      await session.execute('set', `conference_enter_sound=${toneFile(body.play_entry_tone, DEFAULT_ENTRY_TONE) ?? SILENCE}`);
      await session.execute('set', `conference_exit_sound=${toneFile(body.play_exit_tone, DEFAULT_EXIT_TONE) ?? SILENCE}`);
      deps.enforcer?.tonesPlayedByFreeSwitch(callId);
    }
    log.info({ conference, moderator, flags }, 'entry: joining');
    deps.onJoin?.(conference);
    // The enforcer forgets the call on its del-member (which may arrive after the app returns).
    await session.execute('conference', target);
    // The member has left (or was never let in by FreeSWITCH): a record still `joining` never joined.
    await deps.tracker.abandonJoining(conference, callId);
    await session.hangup(HANGUP_CAUSES.done);
    return { kind: 'joined', conference, moderator, flags };
  } catch (err) {
    await deps.tracker.abandonJoining(conference, callId).catch(() => undefined);
    if (err instanceof CallEndedError) return { kind: 'ended', conference };
    throw err;
  }
}

/** Up to PIN_TRIES tries; the PIN entered, or undefined when none was right. */
async function collectPin(session: OutboundSession, deps: EntryFlowDeps, accepted: readonly string[]): Promise<string | undefined> {
  const longest = Math.min(Math.max(...accepted.map((p) => p.length)), 128);
  for (let attempt = 1; attempt <= PIN_TRIES; attempt++) {
    // min max tries timeout terminators file invalid_file var_name regexp digit_timeout
    const args = [1, longest, 1, deps.pinTimeoutMs, '#', deps.prompts.pin, 'silence_stream://250', PIN_VARIABLE, '^[0-9*]+$', deps.pinDigitTimeoutMs];
    const done = await session.execute('play_and_get_digits', args.join(' '));
    const digits = done.headers[`variable_${PIN_VARIABLE}`] ?? '';
    if (digits !== '' && accepted.includes(digits)) return digits;
    deps.logger.debug({ attempt, entered: digits === '' ? 'nothing' : 'a wrong PIN' }, 'entry: PIN refused');
    if (attempt < PIN_TRIES) await session.execute('playback', deps.prompts.invalidPin);
  }
  return undefined;
}

async function refuse(session: OutboundSession, deps: EntryFlowDeps, refusal: EntryRefusal, prompt: string): Promise<EntryOutcome> {

  deps.onRefused?.(refusal);
  try {
    await session.execute('playback', prompt);
  } catch (err) {
    if (!(err instanceof CallEndedError)) throw err;
  }
  await session.hangup(refusal.cause);
  return { kind: 'refused', ...refusal };
}
