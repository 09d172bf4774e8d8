/**
 * The realtime part of conference documents: the list's `members` / `admins` / `duration` /
 * `is_locked`, and GET's `_read_only` (those plus `participants`). `members` counts participants
 * that are not moderators and `admins` the moderators (Kazoo's split). A conference that is not
 * running reports zeros.
 */
import type { LiveConference, LiveParticipant } from './live.js';

export interface RealtimeSummary {
  members: number;
  admins: number;
  duration: number;
  is_locked: boolean;
}

export type ParticipantView = Omit<LiveParticipant, 'channel_vars' | 'custom_channel_vars'>;

export function summary(live: LiveConference | undefined): RealtimeSummary {
  if (!live) return { members: 0, admins: 0, duration: 0, is_locked: false };
  const admins = live.participants.filter((p) => p.is_moderator).length;
  return { members: live.participants.length - admins, admins, duration: live.duration, is_locked: live.is_locked };
}

/** Kazoo's participant object (no channel variables). */
export function participantView(p: LiveParticipant): ParticipantView {
  const { channel_vars: _cv, custom_channel_vars: _ccv, ...view } = p;
  return view;
}

export function participantsView(live: LiveConference | undefined): ParticipantView[] {
  if (!live) return [];
  return [...live.participants].sort((a, b) => a.participant_id - b.participant_id).map(participantView);
}

export function readOnly(live: LiveConference | undefined): RealtimeSummary & { participants: ParticipantView[] } {
  return { ...summary(live), participants: participantsView(live) };
}
