import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EslParser, decodeEvent, isEventFrame } from '../../src/esl/codec.js';
import { parseConferenceEvent } from '../../src/conference/events.js';
import {
  CONFERENCECALL_STATUSES,
  TM_UNSET,
  advance,
  canAdvance,
  createConferencecall,
  formatTimestampUs,
  markDeleted,
  statusForEvent,
  type Conferencecall,
} from '../../src/conference/conferencecall.js';
import type { ConferenceEvent } from '../../src/conference/types.js';
import { SEED_DIR, readRaw } from '../helpers/fixtures.js';
import { conferencecallHistories } from '../helpers/conferencecall-histories.js';

function seedRecord(): Conferencecall {
  const text = readFileSync(join(SEED_DIR, '000_1e4e94a0f19f7bb8.txt'), 'utf8');
  const example = /Example\n\+\+\+\+\+\+\+\n\n\.\. code::\n\n([\s\S]*?\n    })/.exec(text);
  if (!example) throw new Error('seed example not found');
  return JSON.parse(example[1]!) as Conferencecall;
}

const fixtureEvents = (name: string): ConferenceEvent[] =>
  new EslParser()
    .push(readRaw(name))
    .filter(isEventFrame)
    .map((f) => parseConferenceEvent(decodeEvent(f), 'fs1')!);

describe('timestamps in the seed format', () => {
  it('formats microseconds as UTC `YYYY-MM-DD HH:MM:SS.ffffff`', () => {
    const seed = seedRecord();
    const us = Date.UTC(2022, 7, 6, 16, 57, 12) * 1000 + 247946;
    expect(formatTimestampUs(us)).toBe(seed.tm_create);
    expect(formatTimestampUs(0)).toBe('1970-01-01 00:00:00.000000');
    expect(formatTimestampUs(1795312644071503)).toBe('2026-11-22 01:57:24.071503');
    expect(seed.tm_delete).toBe(TM_UNSET);
    expect(() => formatTimestampUs(-1)).toThrow(RangeError);
    expect(() => formatTimestampUs(Number.NaN)).toThrow(RangeError);
  });
});

describe('the state machine only moves forward', () => {
  it('canAdvance is a strict order joining < joined < leaving < leaved', () => {
    for (const [i, from] of CONFERENCECALL_STATUSES.entries()) {
      for (const [j, to] of CONFERENCECALL_STATUSES.entries()) expect(canAdvance(from, to)).toBe(j > i);
    }
  });

  it('advance updates status and tm_update, never tm_create; backwards or same is a no-op', () => {
    const r0 = createConferencecall({ id: 'i', customerId: 'c', conferenceId: 'conf', callId: 'call', status: 'joining', atUs: 1e15 });
    expect(r0).toEqual({
      id: 'i',
      customer_id: 'c',
      conference_id: 'conf',
      reference_type: 'call',
      reference_id: 'call',
      status: 'joining',
      tm_create: formatTimestampUs(1e15),
      tm_update: formatTimestampUs(1e15),
      tm_delete: TM_UNSET,
    });
    const r1 = advance(r0, 'joined', 1e15 + 5);
    expect(r1).toMatchObject({ status: 'joined', tm_create: r0.tm_create, tm_update: formatTimestampUs(1e15 + 5) });
    expect(advance(r1, 'joining', 2e15)).toBe(r1);
    expect(advance(r1, 'joined', 2e15)).toBe(r1);
    const r3 = advance(r1, 'leaved', 1e15 + 9);
    expect(r3.status).toBe('leaved');
    expect(advance(r3, 'leaving', 3e15)).toBe(r3);
    expect(r3.tm_delete).toBe(TM_UNSET);
    const deleted = markDeleted(r3, 1e15 + 10);
    expect(deleted.tm_delete).toBe(formatTimestampUs(1e15 + 10));
    expect(markDeleted(deleted, 4e15)).toBe(deleted);
  });

  it('FreeSWITCH signals: add-member → joined, kick/hup-member → leaving, del-member → leaved', () => {
    const e = (action: string) => ({ action }) as ConferenceEvent;
    expect(statusForEvent(e('add-member'))).toBe('joined');
    expect(statusForEvent(e('kick-member'))).toBe('leaving');
    expect(statusForEvent(e('hup-member'))).toBe('leaving');
    expect(statusForEvent(e('del-member'))).toBe('leaved');
    expect(statusForEvent(e('mute-member'))).toBeUndefined();
    expect(statusForEvent(e('conference-destroy'))).toBeUndefined();
  });

  it('the seed record has the shape we produce', () => {
    const seed = seedRecord();
    const ours = createConferencecall({ id: seed.id, customerId: seed.customer_id, conferenceId: seed.conference_id, callId: seed.reference_id, status: 'joining', atUs: 0 });
    expect(Object.keys(ours)).toEqual(Object.keys(seed));
    expect(ours.reference_type).toBe(seed.reference_type);
  });
});

describe('the state machine over the fixture scenario', () => {
  it.each(['demo-plain', 'demo-json'])('%s: each member joins then leaves; the kicked one passes through leaving', (fixture) => {
    const histories = conferencecallHistories(fixtureEvents(fixture));
    expect(histories.length).toBe(3);
    // member 2 kicked (kick-member, then del-member); member 3's channel killed; member 1 hup all (hup-member).
    expect(histories).toContainEqual(['joined', 'leaving', 'leaved']);
    expect(histories).toContainEqual(['joined', 'leaved']);
  });

  it('a record moves forward only; a repeated add-member (resync) does not move it; the same call may come back', () => {
    const add = { action: 'add-member', conferenceName: 'demo', timestampUs: 1e15 + 1, member: { callId: 'call-1' } } as ConferenceEvent;
    const kick = { ...add, action: 'kick-member' } as ConferenceEvent;
    const del = { ...add, action: 'del-member' } as ConferenceEvent;
    expect(conferencecallHistories([add, add, kick, kick, del, add])).toEqual([['joined', 'leaving', 'leaved'], ['joined']]);
    const joined = createConferencecall({ id: 'cc', customerId: 'cust', conferenceId: 'demo', callId: 'call-1', status: 'joined', atUs: 1e15 });
    expect(advance(joined, 'joining', 1e15 + 5)).toBe(joined);
    expect(advance(joined, 'leaved', 1e15 + 4)).toMatchObject({ status: 'leaved', tm_update: formatTimestampUs(1e15 + 4) });
  });
});
