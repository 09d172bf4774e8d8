import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EslParser, decodeEvent, isEventFrame, type EslEvent } from '../../src/esl/codec.js';
import { parseConferenceEvent } from '../../src/conference/events.js';
import {
  buildConferencePayload,
  buildParticipantPayload,
  customChannelVars,
  defaultMsgId,
  toOutboundEvent,
  type PayloadContext,
} from '../../src/conference/payload.js';
import type { ConferenceEvent, MemberState } from '../../src/conference/types.js';
import { SEED_DIR, readRaw } from '../helpers/fixtures.js';

/** The seed's example participant event (004_*.txt, "#### Example event"). */
function seedExample(): Record<string, unknown> {
  const seedDir = SEED_DIR;
  const text = readFileSync(join(seedDir, '004_109fc17fbd7acb0b.txt'), 'utf8');
  const block = /#### Example event\s+```json\n([\s\S]*?)```/.exec(text);
  if (!block) throw new Error('seed example not found');
  return JSON.parse(block[1]!) as Record<string, unknown>;
}

/** What FreeSWITCH would send for the seed's participant, verbose events on (variable_* headers). */
function seedLikeEvent(): EslEvent {
  const headers: Record<string, string> = {
    'Event-Name': 'CUSTOM',
    'Event-Subclass': 'conference::maintenance',
    'Core-UUID': '3abfc34c-f217-4f58-9e93-62b30f0f4f55',
    'FreeSWITCH-Switchname': 'freeswitch@freeswitch.kazoo',
    'Event-Date-Timestamp': '1795312644071503',
    'Event-Sequence': '426',
    'Conference-Name': '5edbfdd3b825314a71b0a05957392edb',
    'Conference-Size': '1',
    'Conference-Profile-Name': 'default',
    'Conference-Unique-ID': 'd5765180-53d5-4104-860e-b352f3f8e6b1',
    Floor: 'false',
    'Channel-Name': 'sofia/sipinterface_1/sip1@kamailio.kazoo',
    'Unique-ID': '934800819',
    'Channel-Presence-ID': '1000@kamailio.kazoo',
    'Caller-Caller-ID-Name': 'sip1',
    'Caller-Caller-ID-Number': 'sip1',
    'variable_ecallmgr_Account-ID': '9d351ad7ffd6f846313af9eed3bb7b85',
    'variable_ecallmgr_Authorizing-ID': '6507f40b09a61fbb8b025dbad9316eb5',
    'variable_ecallmgr_Authorizing-Type': 'device',
    'variable_ecallmgr_Owner-ID': '32d8788da9506b4b1991d5bb86d27b0a',
    'variable_ecallmgr_Presence-ID': '1000@kamailio.kazoo',
    'variable_ecallmgr_Fetch-ID': '56507071-a216-4e0a-a28f-ff3bd9c86ac3',
    'variable_ecallmgr_Bridge-ID': '934800819',
    variable_ecallmgr_Precedence: '5',
    variable_ecallmgr_Realm: 'kamailio.kazoo',
    variable_ecallmgr_Username: 'sip1',
    'variable_ecallmgr_Call-Interaction-ID': '63635497023-3e247b2e',
    variable_presence_id: '1000@kamailio.kazoo',
    variable_sip_from_user: 'sip1',
    Video: 'false',
    Hear: 'true',
    See: 'true',
    Speak: 'true',
    Talking: 'false',
    'Mute-Detect': 'false',
    Hold: 'false',
    'Member-ID': '20',
    'Member-Type': 'member',
    'Member-Ghost': 'false',
    'Energy-Level': '20',
    'Current-Energy': '0',
    Action: 'add-member',
  };
  return { name: 'CUSTOM', subclass: 'conference::maintenance', headers, body: '' };
}

const seedCtx: PayloadContext = {
  appName: 'ecallmgr',
  appVersion: '4.0.0',
  nodeName: 'kazoo_apps@jh460',
  msgId: () => 'a6fbbf034b5cd3af',
};

describe('participant payload: the seed example, field for field', () => {
  const event = parseConferenceEvent(seedLikeEvent(), 'fs1')! as ConferenceEvent & { member: MemberState };
  const payload = buildParticipantPayload(seedCtx, event);
  const seed = seedExample();

  it('equals the seed JSON plus is_moderator', () => {
    expect(JSON.parse(JSON.stringify(payload))).toEqual({ ...seed, is_moderator: false });
  });

  it('has exactly the seed keys, in the seed order, then is_moderator', () => {
    const seedKeys = Object.keys(seed);
    const ours = Object.keys(payload);
    // The seed puts app_version before app_name; key order is not semantic in JSON — compare sets,
    // and check the order of the leading member fields that consumers eyeball.
    expect(new Set(ours)).toEqual(new Set([...seedKeys, 'is_moderator']));
    expect(ours.slice(0, 4)).toEqual(['custom_channel_vars', 'channel_presence_id', 'caller_id_number', 'caller_id_name']);
  });

  it('types: precedence is a number, ids stay strings, booleans are booleans', () => {
    expect(payload.custom_channel_vars['precedence']).toBe(5);
    expect(payload.custom_channel_vars['bridge_id']).toBe('934800819');
    expect(payload.participant_id).toBe(20);
    expect(payload.hear).toBe(true);
  });

  it('the outbound event routes by conference and call', () => {
    const out = toOutboundEvent(seedCtx, event);
    expect(out).toMatchObject({
      event: 'add-member',
      conferenceId: '5edbfdd3b825314a71b0a05957392edb',
      callId: '934800819',
      timestampUs: 1795312644071503,
    });
    expect(out.payload).toEqual(payload);
  });
});

describe('custom_channel_vars mapping', () => {
  it('ecallmgr_ CCVs lowercased with underscores; plain account_id as a fallback; other variables ignored', () => {
    expect(customChannelVars({ 'ecallmgr_Account-ID': 'a', 'ecallmgr_Call-Interaction-ID': 'x', sip_from_user: 'u' })).toEqual({
      account_id: 'a',
      call_interaction_id: 'x',
    });
    expect(customChannelVars({ account_id: 'plain' })).toEqual({ account_id: 'plain' });
    expect(customChannelVars({ account_id: 'plain', 'ecallmgr_Account-ID': 'kazoo' })).toEqual({ account_id: 'kazoo' });
    expect(customChannelVars({ ecallmgr_Precedence: 'high' })).toEqual({ precedence: 'high' });
    expect(customChannelVars({ ecallmgr_: 'empty name' })).toEqual({});
  });
});

describe('payloads for every fixture event', () => {
  const ctx: PayloadContext = { appName: 'confmgr', appVersion: '0.1.0', nodeName: 'confmgr@test' };
  const events = new EslParser()
    .push(readRaw('demo-json'))
    .filter(isEventFrame)
    .map((f) => parseConferenceEvent(decodeEvent(f), 'fs1')!);

  it('member events → participant_event with the member; conference events → conference_event', () => {
    const keys = Object.keys(seedExample()).filter((k) => k !== 'channel_presence_id');
    for (const e of events) {
      const out = toOutboundEvent(ctx, e);
      expect(out.event).toBe(e.action);
      expect(out.conferenceId).toBe('demo');
      if (e.member) {
        expect(out.callId).toBe(e.member.callId);
        expect(out.payload['event_name']).toBe('participant_event');
        for (const k of keys) expect(out.payload, k).toHaveProperty(k);
        expect(out.payload['participant_id']).toBe(e.member.memberId);
        expect(out.payload['is_moderator']).toBe(e.member.isModerator);
        expect(out.payload['instance_id']).toBe(e.conferenceUuid);
        expect(out.payload['focus']).toBe('vm');
        expect(out.payload['custom_channel_vars']).toEqual({});
        expect(out.payload).not.toHaveProperty('channel_presence_id');
      } else {
        expect(out.callId).toBeUndefined();
        expect(out.payload).toMatchObject({ event_name: 'conference_event', event_category: 'conference', conference_id: 'demo', event: e.action });
      }
    }
  });

  it('conference-level payloads are documented and typed', () => {
    const lock = events.find((e) => e.action === 'lock')!;
    expect(buildConferencePayload(ctx, lock)).toEqual({
      instance_id: lock.conferenceUuid,
      conference_id: 'demo',
      focus: 'vm',
      event: 'lock',
      node: 'confmgr@test',
      msg_id: defaultMsgId(lock),
      event_name: 'conference_event',
      event_category: 'conference',
      app_name: 'confmgr',
      app_version: '0.1.0',
      routing_key: 'conference_event',
      participants: 3,
      is_locked: true,
    });
    const unlock = events.find((e) => e.action === 'unlock')!;
    expect(buildConferencePayload(ctx, unlock).is_locked).toBe(false);
    const play = events.find((e) => e.action === 'play-file')!;
    expect(buildConferencePayload(ctx, play).details).toEqual({ File: 'tone_stream://%(400,0,800)', Async: false });
    const create = events.find((e) => e.action === 'conference-create')!;
    expect(buildConferencePayload(ctx, create)).not.toHaveProperty('is_locked');
  });

  it('msg_id is stable per event and distinct across events; routing_key can be supplied', () => {
    const ids = events.map(defaultMsgId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(toOutboundEvent(ctx, events[1]!).payload['msg_id']).toBe(toOutboundEvent(ctx, events[1]!).payload['msg_id']);
    const rk = toOutboundEvent({ ...ctx, routingKey: (e) => `conference.event.${e.conferenceName}` }, events[1]!);
    expect(rk.payload['routing_key']).toBe('conference.event.demo');
  });

  it('msg_id values stay stable: the sha1 of the event identity, same input same id', () => {
    // The identity layout and digest consumers dedupe on, computed here independently of payload.ts.
    const expected = (e: ConferenceEvent): string =>
      createHash('sha1')
        .update([e.node, e.coreUuid, e.sequence, e.timestampUs, e.action, e.conferenceUuid, e.member?.memberId ?? '', e.synthesized ? 's' : 'r'].join('|'))
        .digest('hex')
        .slice(0, 16);
    for (const e of events) expect(defaultMsgId(e)).toBe(expected(e));
    const fixed = { ...events[0]!, node: 'fs1', coreUuid: 'core', sequence: 7, timestampUs: 1795312644071503, action: 'add-member', conferenceUuid: 'conf' };
    expect(defaultMsgId({ ...fixed, member: undefined })).toBe(expected({ ...fixed, member: undefined }));
    expect(defaultMsgId({ ...fixed, member: undefined })).toBe('fbd632244e3e35e0');
  });
});
