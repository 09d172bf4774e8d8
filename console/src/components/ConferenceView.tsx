import { useCallback, useRef, useState } from 'preact/hooks';
import type { ApiClient, ApiResult } from '../api.js';
import { ApiError } from '../api.js';
import { caller, duration } from '../format.js';
import type { ConferenceSync } from '../sync.js';
import type { ConsoleStore } from '../store.js';
import type { Conference, ConferenceAction, LogEntry, Participant, ParticipantAction } from '../types.js';
import { answered, failed, pending, type ActionStatus } from './actions.js';
import { EventLog } from './EventLog.js';
import { ParticipantRow } from './ParticipantRow.js';

export interface ConferenceViewProps {
  id: string;
  conference: Conference | undefined;
  log: readonly LogEntry[];
  now: number;
  api: ApiClient;
  store: ConsoleStore;
  sync: ConferenceSync;
}

const CONFERENCE_KEY = 'conference';
const memberKey = (id: number) => `member:${id}`;

/** These say the console's picture is behind confmgr's: fetch the conference again. */
const STALE_CODES = new Set(['MEMBER_NOT_FOUND', 'CONFERENCE_NOT_FOUND', 'NOT_FOUND']);

export function ConferenceView({ id, conference, log, now, api, store, sync }: ConferenceViewProps) {
  const [statuses, setStatuses] = useState<ReadonlyMap<string, ActionStatus>>(new Map());
  /** The latest command's outcome, for the conference (it outlives a member's row). */
  const [last, setLast] = useState<ActionStatus | undefined>(undefined);
  const inFlight = useRef(new Set<string>());

  const run = useCallback(
    async (key: string, action: string, what: string, call: () => Promise<ApiResult<unknown>>, after?: () => void) => {
      if (inFlight.current.has(key)) return;
      inFlight.current.add(key);
      const put = (s: ActionStatus) => {
        setStatuses((m) => new Map(m).set(key, s));
        setLast(s);
      };
      put(pending(action, what));
      try {
        const result = await call();
        put(answered(action, what, result));
        after?.();
      } catch (err) {
        put(failed(action, what, err));
        if (err instanceof ApiError && STALE_CODES.has(err.code)) void sync.reload(id);
      } finally {
        inFlight.current.delete(key);
      }
    },
    [id, sync],
  );

  const onMemberAction = useCallback(
    (p: Participant, action: ParticipantAction) =>
      void run(memberKey(p.id), action, `${action} ${caller(p.name, p.number, p.id)} (#${p.id})`, () => api.participantAction(id, p.id, action)),
    [api, id, run],
  );

  const onConferenceAction = (action: ConferenceAction | 'mute-all' | 'unmute-all') => {
    if (action === 'lock' || action === 'unlock') {
      void run(CONFERENCE_KEY, action, `${action} ${id}`, () => api.conferenceAction(id, action), () => store.setLocked(id, action === 'lock'));
    } else {
      const verb = action === 'mute-all' ? 'mute' : 'unmute';
      void run(CONFERENCE_KEY, action, `${verb} all except moderators`, () => api.nonModeratorsAction(id, verb));
    }
  };

  if (!conference) {
    return (
      <section class="conference" aria-labelledby="conf-title">
        <h2 id="conf-title">{id}</h2>
        <p class="notice">This conference is not running (it ended, or it is not one of this account's).</p>
        {last ? <p class={`last ${last.state}`} role="status">{last.text}</p> : null}
        <p>
          <a href="#/">Back to the conferences</a>
        </p>
      </section>
    );
  }

  const members = [...conference.participants.values()].sort((a, b) => a.id - b.id);
  const moderators = members.filter((p) => p.moderator).length;
  const talking = members.filter((p) => p.talking).length;
  const busy = statuses.get(CONFERENCE_KEY)?.state === 'pending';
  const confButton = (action: ConferenceAction | 'mute-all' | 'unmute-all', label: string) => (
    <button type="button" class="act" data-action={action} aria-disabled={busy ? 'true' : undefined} onClick={() => !busy && onConferenceAction(action)}>
      {label}
    </button>
  );

  return (
    <section class="conference" aria-labelledby="conf-title">
      <div class="conf-head">
        <h2 id="conf-title">
          {conference.name && conference.name !== id ? `${conference.name} (${id})` : id}
        </h2>
        <span class={`badge locked${conference.locked ? '' : ' off'}`}>locked</span>
        <dl class="facts">
          <dt>node</dt>
          <dd>{conference.focus}</dd>
          <dt>participants</dt>
          <dd>{members.length}</dd>
          <dt>moderators</dt>
          <dd>{moderators}</dd>
          <dt>talking</dt>
          <dd class="num count">{talking}</dd>
          <dt>duration</dt>
          <dd class="num clock">{duration((now - conference.startedAt) / 1000)}</dd>
        </dl>
      </div>
      <div class="toolbar" role="group" aria-label="Conference actions">
        {confButton('mute-all', 'Mute all except moderators')}
        {confButton('unmute-all', 'Unmute all except moderators')}
        {conference.locked ? confButton('unlock', 'Unlock') : confButton('lock', 'Lock')}
      </div>
      <p class={`last ${last?.state ?? ''}`} role="status" aria-live="polite">
        {last?.text ?? 'Commands answer here.'}
      </p>
      <div class="conf-body">
        <ul class="members" aria-label={`participants of ${id}`}>
          {members.map((p) => (
            <ParticipantRow key={p.id} p={p} status={statuses.get(memberKey(p.id))} onAction={onMemberAction} />
          ))}
        </ul>
        <EventLog entries={log} />
      </div>
    </section>
  );
}
