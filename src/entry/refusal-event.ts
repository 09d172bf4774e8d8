/**
 * The event confmgr publishes when the entry service turns a caller away (locked, full, no valid PIN
 * after the last try). mod_conference fires nothing when its own `conference` application refuses
 * a locked or full conference, and Kazoo's conference application publishes nothing either; the
 * event is shaped like Kazoo's participant_event (same envelope fields, `event_name`
 * `participant_event`, routed `conference.event.<conference>.<call>`) with the mod_conference-style
 * name `refuse-member`, so the `publish_participant_event` filter can include or exclude it like the
 * others.
 */
import { createHash } from 'node:crypto';
import type { OutboundEvent } from '../conference/index.js';
import type { EntryRefusal } from './entry-flow.js';

export const REFUSAL_EVENT = 'refuse-member';

export interface RefusalEventContext {
  appName: string;
  appVersion: string;
  /** This confmgr instance (Kazoo's `node`). */
  nodeName: string;
  /** The document's account, when known. */
  accountId?: string | undefined;
  now?: () => number;
}

/** An OutboundEvent for a refusal of a known conference; undefined when no conference was found. */
export function refusalEvent(refusal: EntryRefusal, ctx: RefusalEventContext): OutboundEvent | undefined {
  if (refusal.conference === undefined) return undefined;
  const nowMs = (ctx.now ?? Date.now)();
  const payload: Record<string, unknown> = {
    event: REFUSAL_EVENT,
    reason: refusal.reason,
    hangup_cause: refusal.cause,
    conference_id: refusal.conference,
    call_id: refusal.callId,
    caller_id_number: refusal.callerIdNumber ?? '',
    caller_id_name: refusal.callerIdName ?? '',
    custom_channel_vars: ctx.accountId !== undefined ? { account_id: ctx.accountId } : {},
    node: ctx.nodeName,
    msg_id: createHash('sha256').update(`${REFUSAL_EVENT}|${refusal.conference}|${refusal.callId}`).digest('hex').slice(0, 16),
    event_name: 'participant_event',
    event_category: 'conference',
    app_version: ctx.appVersion,
    app_name: ctx.appName,
    routing_key: 'participant_event',
  };
  if (refusal.destination !== undefined) payload.destination_number = refusal.destination;
  return { event: REFUSAL_EVENT, conferenceId: refusal.conference, callId: refusal.callId, timestampUs: nowMs * 1000, payload };
}
