/**
 * The console's state (console/src/store.ts), without a browser: snapshots, events, what each says
 * about the snapshot, one notification per frame, the bounded log.
 */
import { describe, expect, it } from 'vitest';
import { ConsoleStore, LOG_SIZE } from '../../console/src/store.js';
import type { ApiConference, ApiParticipant } from '../../console/src/types.js';

function manualFrames() {
  const queue: Array<() => void> = [];
  return { schedule: (f: () => void) => void queue.push(f), flush: () => queue.splice(0).forEach((f) => f()), get pending() { return queue.length; } };
}

function apiParticipant(id: number, over: Partial<ApiParticipant> = {}): ApiParticipant {
  return { participant_id: id, call_id: `call-${id}`, caller_id_name: `N${id}`, caller_id_number: `100${id}`, is_moderator: false, speak: true, hear: true, talking: false, duration: 10, ...over };
}

function snapshot(id: string, participants: ApiParticipant[], over: Partial<ApiConference['_read_only']> = {}): ApiConference {
  return { id, focus: 'vm', _read_only: { members: 0, admins: 0, duration: 60, is_locked: false, participants, ...over } };
}

const ev = (event: string, conference: string, id?: number, over: Record<string, unknown> = {}) => ({
  event,
  conference_id: conference,
  event_name: id === undefined ? 'conference_event' : 'participant_event',
  ...(id === undefined ? {} : { participant_id: id, call_id: `call-${id}`, caller_id_name: `N${id}`, caller_id_number: `100${id}`, speak: true, hear: true, talking: false, is_moderator: false }),
  ...over,
});

describe('ConsoleStore', () => {
  it('takes a snapshot (times on the browser clock); a conference that is not running is dropped', () => {
    const f = manualFrames();
    const s = new ConsoleStore(f.schedule);
    s.setSnapshot(snapshot('a', [apiParticipant(1, { is_moderator: true }), apiParticipant(2, { speak: false })]), 100_000);
    const c = s.conference('a')!;
    expect(c).toMatchObject({ id: 'a', focus: 'vm', locked: false, startedAt: 40_000 });
    expect(c.participants.get(1)).toMatchObject({ name: 'N1', number: '1001', moderator: true, speak: true, joinedAt: 90_000 });
    expect(c.participants.get(2)?.speak).toBe(false);
    s.setSnapshot({ id: 'a', _read_only: { members: 0, admins: 0, duration: 0, is_locked: false, participants: [] } }, 100_000);
    expect(s.has('a')).toBe(false);
  });

  it('applies member events; a changed member is a new object, the others keep theirs', () => {
    const s = new ConsoleStore(manualFrames().schedule);
    s.setSnapshot(snapshot('a', [apiParticipant(1), apiParticipant(2)]), 0);
    const one = s.conference('a')!.participants.get(1);
    expect(s.apply(ev('start-talking', 'a', 2, { talking: false }), 5)).toBe('applied');
    expect(s.conference('a')!.participants.get(2)?.talking).toBe(true);
    expect(s.conference('a')!.participants.get(1)).toBe(one);
    s.apply(ev('mute-member', 'a', 2, { speak: false, talking: false }), 6);
    expect(s.conference('a')!.participants.get(2)).toMatchObject({ speak: false, talking: false });
    s.apply(ev('deaf-member', 'a', 1, { hear: false }), 7);
    expect(s.conference('a')!.participants.get(1)?.hear).toBe(false);
    const before = s.conference('a');
    expect(s.apply(ev('deaf-member', 'a', 1, { hear: false }), 8)).toBe('applied'); // the same state again
    expect(s.conference('a')).toBe(before);
  });

  it('a received add-member joins now; a member first seen otherwise says the snapshot is behind', () => {
    const s = new ConsoleStore(manualFrames().schedule);
    s.setSnapshot(snapshot('a', [apiParticipant(1)]), 0);
    expect(s.apply(ev('add-member', 'a', 5), 1234)).toBe('applied');
    expect(s.conference('a')!.participants.get(5)?.joinedAt).toBe(1234);
    expect(s.apply(ev('add-member', 'a', 6, { synthesized: true }), 1300)).toBe('stale');
    expect(s.apply(ev('start-talking', 'a', 7), 1400)).toBe('stale');
    expect(s.conference('a')!.participants.get(7)?.talking).toBe(true);
  });

  it('del-member removes; the last one leaving ends the conference; conference-destroy too', () => {
    const s = new ConsoleStore(manualFrames().schedule);
    s.setSnapshot(snapshot('a', [apiParticipant(1), apiParticipant(2)]), 0);
    expect(s.apply(ev('del-member', 'a', 1), 1)).toBe('applied');
    expect(s.apply(ev('del-member', 'a', 1), 1)).toBe('applied'); // again: nothing
    expect(s.apply(ev('del-member', 'a', 2), 2)).toBe('ended');
    expect(s.has('a')).toBe(false);
    s.setSnapshot(snapshot('b', [apiParticipant(3)]), 0);
    expect(s.apply(ev('conference-destroy', 'b'), 3)).toBe('ended');
    expect(s.has('b')).toBe(false);
    expect(s.apply(ev('del-member', 'b', 3), 4)).toBe('applied'); // a straggler about a gone conference
  });

  it('lock/unlock events and the API-confirmed lock state; unknown conferences are reported', () => {
    const s = new ConsoleStore(manualFrames().schedule);
    s.setSnapshot(snapshot('a', [apiParticipant(1)]), 0);
    s.apply(ev('lock', 'a', undefined, { is_locked: true }), 1);
    expect(s.conference('a')?.locked).toBe(true);
    s.apply(ev('unlock', 'a'), 2);
    expect(s.conference('a')?.locked).toBe(false);
    s.setLocked('a', true);
    expect(s.conference('a')?.locked).toBe(true);
    expect(s.apply(ev('add-member', 'z', 1), 3)).toBe('unknown-conference');
    expect(s.apply(ev('conference-create', 'z'), 3)).toBe('unknown-conference');
  });

  it('tells its listeners once per frame however many events came', () => {
    const f = manualFrames();
    const s = new ConsoleStore(f.schedule);
    let calls = 0;
    s.subscribe(() => calls++);
    s.setSnapshot(snapshot('a', Array.from({ length: 300 }, (_, i) => apiParticipant(i + 1))), 0);
    for (let i = 0; i < 100; i++) {
      s.record(ev(i % 2 ? 'stop-talking' : 'start-talking', 'a', (i % 100) + 1), i);
      s.apply(ev(i % 2 ? 'stop-talking' : 'start-talking', 'a', (i % 100) + 1), i);
    }
    expect(f.pending).toBe(1);
    f.flush();
    expect(calls).toBe(1);
    s.apply(ev('stop-talking', 'a', 3), 200);
    f.flush();
    expect(calls).toBe(2);
  });

  it('keeps the last LOG_SIZE events of each conference, oldest first', () => {
    const s = new ConsoleStore(manualFrames().schedule);
    for (let i = 1; i <= LOG_SIZE + 50; i++) s.record(ev('start-talking', 'a', i, { caller_id_name: 'Al', caller_id_number: '1', is_moderator: i === LOG_SIZE + 50 }), i);
    s.record(ev('lock', 'b'), 1);
    const log = s.log('a');
    expect(log).toHaveLength(LOG_SIZE);
    expect(log[0]?.participantId).toBe(51);
    expect(log.at(-1)).toMatchObject({ participantId: LOG_SIZE + 50, caller: 'Al <1>', moderator: true, event: 'start-talking' });
    expect(s.log('b').map((e) => e.event)).toEqual(['lock']);
  });
});
