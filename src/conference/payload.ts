/**
 * ConferenceEvent → what consumers receive (Kazoo's participant event). Pure: the same event
 * and context always give the same payload, msg_id included (derived from the event, so a
 * republished event keeps its id). The AMQP routing key is the bus layer's job; the payload's
 * `routing_key` is `participant_event` like Kazoo's unless the context supplies a function.
 * Field-by-field mapping: src/conference/README.md.
 */
import * as crypto from 'node:crypto';
import type { ConferenceEvent, ConferenceEventPayload, MemberState, OutboundEvent, ParticipantEventPayload } from './types.js';

export interface PayloadContext {
  /** `app_name` (Kazoo: ecallmgr). */
  appName: string;
  /** `app_version`. */
  appVersion: string;
  /** `node`: the name of this confmgr instance (Kazoo: the ecallmgr Erlang node). */
  nodeName: string;
  /** The payload's `routing_key`; default `participant_event` / `conference_event`. */
  routingKey?: (event: ConferenceEvent) => string;
  /** `msg_id`; default: 16 hex chars derived from the event's identity. */
  msgId?: (event: ConferenceEvent) => string;
}

/** Kazoo CCV values that are integers on the wire (Kazoo's example shows `"precedence": 5`). */
const INTEGER_CCVS: ReadonlySet<string> = new Set(['precedence']);

import { CCV_PREFIX } from './channel-vars.js';
import { MEMBER_FIELDS, kazooLayout, objectBuilder, type Slot } from './member-fields.js';
import { layoutJson, type LayoutKind } from './layout-json.js';
import { SerializableEvent } from './serialized-payload.js';

/** `Account-ID` → `account_id`: Kazoo's CCV names as its JSON APIs show them. */
export function ccvKey(name: string): string {
  return name.toLowerCase().replace(/-/g, '_');
}

/**
 * Kazoo's `custom_channel_vars` from a member's channel variables (the `variable_*` headers,
 * already stripped of `variable_` in MemberState.channelVars):
 * - `ecallmgr_<Name>` (Kazoo's CCVs) → `<name>` lowercased, `-` → `_` (`ecallmgr_Account-ID` → `account_id`);
 * - plain `account_id` → `account_id` when no Kazoo CCV set it (non-Kazoo dialplans).
 * `precedence` is an integer, every other value stays a string.
 */
export function customChannelVars(vars: Readonly<Record<string, string>>): Record<string, unknown> {
  const ccv: Record<string, unknown> = {};
  // for-in, not Object.entries: no array per variable on every event (same keys, same order, as
  // channel variables are a plain object's own string keys).
  for (const name in vars) {
    if (!Object.prototype.hasOwnProperty.call(vars, name)) continue;
    if (!name.startsWith(CCV_PREFIX) || name.length === CCV_PREFIX.length) continue;
    const value = vars[name]!;
    const key = ccvKeyOf(name);
    ccv[key] = INTEGER_CCVS.has(key) && /^-?\d+$/.test(value) ? Number(value) : value;
  }
  if (ccv['account_id'] === undefined && vars['account_id'] !== undefined) ccv['account_id'] = vars['account_id'];
  return ccv;
}

/** ccvKey of a CCV's variable name (`ecallmgr_Account-ID` → `account_id`), remembered: the same few names come with every event. */
const ccvKeys = new Map<string, string>();
const CCV_KEYS_MAX = 1024;

function ccvKeyOf(variable: string): string {
  let key = ccvKeys.get(variable);
  if (key === undefined) {
    key = ccvKey(variable.slice(CCV_PREFIX.length));
    if (ccvKeys.size < CCV_KEYS_MAX) ccvKeys.set(variable, key);
  }
  return key;
}

const CCV_PRESENCE_ID = `${CCV_PREFIX}Presence-ID`;

/** `channel_presence_id`: Channel-Presence-ID, else the `presence_id` variable, else the CCV. */
export function channelPresenceId(member: MemberState): string | undefined {
  const ccvPresence = member.channelVars[CCV_PRESENCE_ID];
  return member.presenceId ?? member.channelVars['presence_id'] ?? ccvPresence;
}

/** Default msg_id: stable for one event (node, core, sequence, action, member), 16 hex chars. */
export function defaultMsgId(event: ConferenceEvent): string {
  const parts = identityParts;
  parts[0] = event.node;
  parts[1] = event.coreUuid;
  parts[2] = event.sequence;
  parts[3] = decimal(event.timestampUs);
  parts[4] = event.action;
  parts[5] = event.conferenceUuid;
  parts[6] = event.member?.memberId ?? '';
  parts[7] = event.synthesized ? 's' : 'r';
  const identity = parts.join('|');
  return sha1Hex(identity).slice(0, 16);
}

/**
 * `String(n)`, with an integer of 9 to 16 digits (a timestamp in µs) written as two int32 halves:
 * V8 writes those from its small-integer path, a large double through its shortest-digits algorithm.
 */
export function decimal(n: number): string {
  if (n >= 1e8 && n <= Number.MAX_SAFE_INTEGER && Number.isInteger(n)) {
    const high = Math.floor(n / 1e8);
    const low = `${n - high * 1e8}`;
    return `${high}${'00000000'.slice(low.length)}${low}`;
  }
  return `${n}`;
}

/**
 * defaultMsgId's identity fields, joined by `|`: one array filled per event instead of one made per
 * event (nothing runs between the filling and the join).
 */
const identityParts: (string | number)[] = ['', '', 0, '', '', '', '', ''];

/** SHA-1 of a text as hex: the one-shot `crypto.hash` where Node has it (same digest, no Hash object). */
const sha1Hex: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha1', text, 'hex')
    : (text) => crypto.createHash('sha1').update(text).digest('hex');

function focusOf(event: ConferenceEvent): string {
  return event.switchname !== '' ? event.switchname : event.node;
}

type MemberEvent = ConferenceEvent & { member: MemberState };

/**
 * The participant event's keys in Kazoo's order: its own below, the member fields at their
 * `payloadAt` (member-fields.ts), `is_moderator` last.
 */
const PARTICIPANT_SLOTS = kazooLayout<MemberEvent, PayloadContext>('payloadAt', [
  { key: 'custom_channel_vars', at: 0, value: (e) => customChannelVars(e.member.channelVars) },
  { key: 'channel_presence_id', at: 1, optional: true, value: (e) => channelPresenceId(e.member) },
  { key: 'instance_id', at: 13, value: (e) => e.conferenceUuid },
  { key: 'conference_id', at: 14, value: (e) => e.conferenceName },
  { key: 'focus', at: 15, value: (e) => focusOf(e) },
  { key: 'event', at: 17, value: (e) => e.action },
  { key: 'node', at: 18, value: (_e, ctx) => ctx.nodeName },
  { key: 'msg_id', at: 19, value: (e, ctx) => (ctx.msgId ?? defaultMsgId)(e) },
  { key: 'event_name', at: 20, value: () => 'participant_event' },
  { key: 'event_category', at: 21, value: () => 'conference' },
  { key: 'app_name', at: 22, value: (_e, ctx) => ctx.appName },
  { key: 'app_version', at: 23, value: (_e, ctx) => ctx.appVersion },
  { key: 'routing_key', at: 24, value: (e, ctx) => (ctx.routingKey ? ctx.routingKey(e) : 'participant_event') },
]);

const buildParticipantEvent = objectBuilder(PARTICIPANT_SLOTS, (e) => e.member);

/** What each participant event key holds: a member field its type's kind, `custom_channel_vars` an object. */
function kindOf(slot: Slot<MemberEvent, PayloadContext>): LayoutKind {
  if (slot.field === undefined) return slot.key === 'custom_channel_vars' ? 'json' : 'string';
  const type = MEMBER_FIELDS.find((f) => f.key === slot.field)!.type;
  return type === 'flag' ? 'boolean' : type === 'int' ? 'number' : 'string';
}

/** Keys whose value is the same in every participant event of this process (constants and the context's). */
const STEADY_KEYS: ReadonlySet<string> = new Set(['event_name', 'event_category', 'app_name', 'app_version', 'routing_key']);

/** The participant event's JSON text (JSON.stringify's bytes: see layout-json.ts). */
const participantJson = layoutJson(
  PARTICIPANT_SLOTS.map((slot) => ({ key: slot.key, kind: kindOf(slot), optional: slot.optional === true, steady: STEADY_KEYS.has(slot.key) })),
);

/** Kazoo's participant event for a member event (`channel_presence_id` left out when unknown). */
export function buildParticipantPayload(ctx: PayloadContext, event: MemberEvent): ParticipantEventPayload {
  return buildParticipantEvent(event, ctx) as ParticipantEventPayload;
}

/** The payload of a conference-level event (no member): same family, `conference_event`. */
export function buildConferencePayload(ctx: PayloadContext, event: ConferenceEvent): ConferenceEventPayload {
  const payload: ConferenceEventPayload = {
    instance_id: event.conferenceUuid,
    conference_id: event.conferenceName,
    focus: focusOf(event),
    event: event.action,
    node: ctx.nodeName,
    msg_id: (ctx.msgId ?? defaultMsgId)(event),
    event_name: 'conference_event',
    event_category: 'conference',
    app_name: ctx.appName,
    app_version: ctx.appVersion,
    routing_key: ctx.routingKey ? ctx.routingKey(event) : 'conference_event',
  };
  if (event.conferenceSize !== undefined) payload.participants = event.conferenceSize;
  if (event.action === 'lock') payload.is_locked = true;
  if (event.action === 'unlock') payload.is_locked = false;
  if (Object.keys(event.details).length > 0) payload.details = { ...event.details };
  return payload;
}

/**
 * What the publisher gets: a participant event when the event has a member, else a conference event.
 * Events made up by a resync carry `synthesized: true` on the OutboundEvent and in the payload (consumers
 * can tell "this happened while confmgr was away" from "this just happened"); received events have
 * `synthesized: false` and no such payload key (Kazoo's shape).
 */
export function toOutboundEvent(ctx: PayloadContext, event: ConferenceEvent): OutboundEvent {
  const member = event.member !== undefined;
  const payload: Record<string, unknown> = member ? buildParticipantPayload(ctx, event as MemberEvent) : buildConferencePayload(ctx, event);
  if (event.synthesized) payload.synthesized = true;
  return new SerializableEvent(event.action, event.conferenceName, event.member?.callId, event.timestampUs, payload, event.synthesized, member ? participantJson : JSON.stringify);
}
