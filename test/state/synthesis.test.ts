/** Synthesized events are FreeSWITCH-shaped: the event parser reads back exactly the member they were made from. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseConferenceEvent } from '../../src/conference/events.js';
import type { MemberState } from '../../src/conference/types.js';
import { synthesize } from '../../src/state/synthesis.js';
import type { ConferenceRec } from '../../src/state/store.js';

const text = fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s.trim() === s);
const memberArb: fc.Arbitrary<MemberState> = fc.record({
  memberId: fc.integer({ min: 1, max: 1_000_000 }),
  callId: text,
  callerIdName: text,
  callerIdNumber: text,
  isModerator: fc.boolean(),
  hear: fc.boolean(),
  see: fc.boolean(),
  speak: fc.boolean(),
  talking: fc.boolean(),
  floor: fc.boolean(),
  hold: fc.boolean(),
  muteDetect: fc.boolean(),
  video: fc.boolean(),
  ghost: fc.boolean(),
  energyLevel: fc.nat(2000),
  currentEnergy: fc.nat(20000),
  channelVars: fc.dictionary(fc.constantFrom('account_id', 'ecallmgr_Account-ID', 'presence_id'), text, { maxKeys: 3 }),
  channelName: text,
});

describe('synthesize', () => {
  it('writes every member field so that the event parser reads the same member back', () => {
    const rec: ConferenceRec = {
      name: 'room',
      uuid: 'u1',
      node: 'fs1',
      locked: false,
      startedAtMs: 0,
      recordings: new Set(),
      recordingFlag: false,
      participants: new Map(),
    };
    fc.assert(
      fc.property(memberArb, (member) => {
        const ev = synthesize('mute-member', rec, { switchname: 'sw', hostname: 'host', coreUuid: 'core' }, member, {}, 1_000);
        const back = parseConferenceEvent({ name: 'CUSTOM', subclass: 'conference::maintenance', headers: ev.headers, body: '' }, 'fs1')!;
        const want = { ...member, ...(member.channelVars['presence_id'] !== undefined ? { presenceId: member.channelVars['presence_id'] } : {}) };
        expect(back.member).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });
});
