/** The conference engine through its programmatic handle and executeApi (the ESL api code path). */
import { describe, expect, it } from 'vitest';
import { ConferenceEngine, ManualScheduler, SimulatorNotFoundError, SimulatorStateError } from '../../src/simulator/index.js';
import type { SimEvent } from '../../src/simulator/event.js';

function engine(): { e: ConferenceEngine; scheduler: ManualScheduler; seen: SimEvent[]; actions: () => string[] } {
  const scheduler = new ManualScheduler();
  const e = new ConferenceEngine({
    core: { coreUuid: '00000000-0000-4000-8000-000000000000', hostname: 'vm', switchname: 'vm', ipv4: '192.0.2.2', ipv6: 'fd00::2' },
    scheduler,
  });
  const seen: SimEvent[] = [];
  e.onEvent((ev) => seen.push(ev));
  const actions = (): string[] => seen.map((ev) => `${ev.header('Action') ?? ev.name}${ev.header('Member-ID') ? ':' + ev.header('Member-ID') : ''}`);
  return { e, scheduler, seen, actions };
}

describe('conference engine', () => {
  it('hands out member ids from one counter for the whole process, across conferences', () => {
    const { e } = engine();
    const a = e.originate({ conference: 'a', callerIdNumber: '1' });
    const b = e.originate({ conference: 'b', callerIdNumber: '2' });
    const c = e.originate({ conference: 'a', callerIdNumber: '3', moderator: true });
    expect([a.member.id, b.member.id, c.member.id]).toEqual([1, 2, 3]);
    expect(a.uuid).not.toBe(a.member.callId);
    expect(e.conferences().map((x) => [x.name, x.members.map((m) => m.id)])).toEqual([
      ['a', [3, 1]],
      ['b', [2]],
    ]);
    expect(e.conferences()[0]!.members[0]!.moderator).toBe(true);
  });

  it('hangs up by either leg; uuid_kill of an unknown channel answers like FreeSWITCH', () => {
    const { e, actions } = engine();
    const a = e.originate({ conference: 'k', callerIdNumber: '1' });
    const b = e.originate({ conference: 'k', callerIdNumber: '2' });
    expect(e.hangup(a.uuid)).toBe(true);
    expect(e.executeApi(`uuid_kill ${b.member.callId}`)).toBe('+OK\n');
    expect(e.executeApi(`uuid_kill ${b.member.callId}`)).toBe('-ERR No such channel!\n');
    expect(e.hangup('nope')).toBe(false);
    expect(actions()).toEqual([
      'conference-create',
      'add-member:1',
      'floor-change:1',
      'add-member:2',
      'floor-change',
      'del-member:1',
      'floor-change:2',
      'floor-change',
      'del-member:2',
      'conference-destroy',
    ]);
    const del = e.conferences().length;
    expect(del).toBe(0);
  });

  it('kick: kick-member, del-member, then the exit sound ends (play-file-done)', () => {
    const { e, scheduler, actions } = engine();
    e.originate({ conference: 'x', callerIdNumber: '1' });
    e.originate({ conference: 'x', callerIdNumber: '2' });
    scheduler.runAll();
    const before = actions().length;
    expect(e.executeApi('conference x kick 2')).toBe('+OK kicked 2\n');
    expect(actions().slice(before)).toEqual(['kick-member:2', 'del-member:2']);
    scheduler.runAll();
    expect(actions().slice(before)).toEqual(['kick-member:2', 'del-member:2', 'play-file-done']);
  });

  it('mute all fires mute-member newest first, and the tones end oldest first', () => {
    const { e, scheduler, actions } = engine();
    for (const n of ['1', '2', '3']) e.originate({ conference: 'm', callerIdNumber: n });
    scheduler.runAll();
    const before = actions().length;
    expect(e.executeApi('conference m mute all')).toBe('+OK mute 3\n+OK mute 2\n+OK mute 1\n');
    scheduler.runAll();
    expect(actions().slice(before)).toEqual([
      'mute-member:3',
      'mute-member:2',
      'mute-member:1',
      'play-file-member-done:1',
      'play-file-member-done:2',
      'play-file-member-done:3',
    ]);
    expect(e.executeApi('conference m unmute last quiet')).toBe('+OK unmute 3\n');
    expect(scheduler.pending).toBe(0);
  });

  it('a muted talker stops talking without a stop-talking event; talking moves the floor', () => {
    const { e, actions } = engine();
    e.originate({ conference: 't', callerIdNumber: '1' });
    e.originate({ conference: 't', callerIdNumber: '2' });
    expect(e.startTalking('t', 2)).toBe(true);
    expect(e.conferences()[0]!.floorMemberId).toBe(2);
    e.executeApi('conference t mute 2 quiet');
    expect(e.conferences()[0]!.members.find((m) => m.id === 2)!.talking).toBe(false);
    expect(e.startTalking('t', 2)).toBe(false);
    expect(actions().filter((a) => a.startsWith('stop-talking'))).toEqual([]);
    expect(() => e.startTalking('t', 9)).toThrow(SimulatorNotFoundError);
  });

  it('answers the floor command: refused while held, taken when free, released by its holder', () => {
    const { e } = engine();
    e.originate({ conference: 'f', callerIdNumber: '1' });
    e.originate({ conference: 'f', callerIdNumber: '2' });
    expect(e.executeApi('conference f floor 2')).toBe('-ERR floor is held by 1\n');
    expect(e.executeApi('conference f floor 1')).toBe('+OK floor none\n');
    expect(e.executeApi('conference f floor 2')).toBe('+OK floor 2\n');
    expect(e.executeApi('conference f list')).toContain('hear|speak|floor;0;0;100\n');
  });

  it("uses FreeSWITCH's texts for errors, usages and queries", () => {
    const { e } = engine();
    e.originate({ conference: 'q', callerIdNumber: '1001', callerIdName: 'Ann' });
    expect(e.executeApi('conference nosuch list')).toBe('-ERR Conference nosuch not found\n');
    expect(e.executeApi('conference q mute 999')).toBe('-ERR Non-Existant ID 999\n');
    expect(e.executeApi('conference q energy')).toBe('energy <member_id|all|last|non_moderator> [<newval>]');
    expect(e.executeApi('conference q record')).toBe('record <filename>');
    expect(e.executeApi('conference q get nothing')).toBe('get <parameter-name>');
    expect(e.executeApi('conference q get count')).toBe('1');
    expect(e.executeApi('conference q frob')).toBe("-ERR Conference command 'frob' not found.\n");
    expect(e.executeApi('conference q')).toBe("Conference command, not specified.\nTry 'help'\n");
    expect(e.executeApi('conference q volume_in 1 9')).toBe('+OK Volume IN 1 = 4\n');
    expect(e.executeApi('conference q deaf 1')).toBe('+OK deaf 1\n');
    expect(e.executeApi('conference q list')).toMatch(/^1;loopback\/conf-q-b;[0-9a-f-]{36};Ann;1001;speak|floor;4;0;100\n$/);
    expect(e.executeApi('conference q play /tmp/x.wav 7')).toBe('-ERR Member: 7 not found.\n');
    expect(e.executeApi('conference q record /tmp/r.wav')).toBe('+OK Record file /tmp/r.wav\n');
    expect(e.executeApi('conference list')).toMatch(/^\+OK Conference q \(1 member rate: 8000 flags: running\|answered\|enforce_min\|dynamic\|exit_sound\|enter_sound\|recording\|json_status\)\n/);
    expect(e.executeApi('conference q norecord /tmp/r.wav')).toBe('Stopped recording file /tmp/r.wav\n+OK Stopped recording 1 files\n');
    expect(e.executeApi('originate')).toMatch(/^-USAGE: <call url>/);
    expect(e.executeApi('originate sofia/gateway/x/1 &park()')).toBe('-ERR CHAN_NOT_IMPLEMENTED\n');
    expect(e.executeApi('originate loopback/9999/default &park()')).toBe('-ERR NO_ROUTE_DESTINATION\n');
    const parsed = JSON.parse(e.executeApi('conference json_list')) as Array<{ conference_name: string; members: Array<{ caller_id_name: string }> }>;
    expect(parsed[0]!.conference_name).toBe('q');
    expect(parsed[0]!.members[0]!.caller_id_name).toBe('Ann');
    expect(e.executeApi('conference q xml_list')).toContain('<caller_id_name>Ann</caller_id_name>');
  });

  it('play then stop: the stopped file ends at once (play-file-done) and only once', () => {
    const { e, scheduler, actions } = engine();
    e.originate({ conference: 'p', callerIdNumber: '1' });
    const before = actions().length;
    expect(e.executeApi('conference p play /sounds/hold.wav')).toBe('+OK (play) Playing file /sounds/hold.wav\n');
    expect(e.executeApi('conference p play tone_stream://%(100,0,400) 1')).toBe('+OK (play) Playing file tone_stream://%(100,0,400) to member 1\n');
    expect(e.executeApi('conference p stop all')).toBe('+OK Stopped 1 files.\n');
    expect(e.executeApi('conference p stop current 1')).toBe('+OK Stopped 1 files.\n');
    expect(e.executeApi('conference p stop all 9')).toBe('-ERR Member: 9 not found.\n');
    expect(e.executeApi('conference p stop sideways')).toBe('stop <[current|all|async|last]> [<member_id>]');
    scheduler.runAll();
    expect(actions().slice(before)).toEqual(['play-file', 'play-file-member:1', 'play-file-done', 'play-file-member-done:1']);
  });

  it('a locked conference admits nobody', () => {
    const { e } = engine();
    e.originate({ conference: 'l', callerIdNumber: '1' });
    expect(e.executeApi('conference l lock')).toBe('+OK l locked\n');
    expect(e.executeApi('conference list summary')).toBe(
      '+OK Conference l (1 member rate: 8000 locked flags: locked|running|answered|enforce_min|dynamic|exit_sound|enter_sound|json_status)\n',
    );
    expect(() => e.originate({ conference: 'l', callerIdNumber: '2' })).toThrow(SimulatorStateError);
    expect(e.executeApi('originate loopback/conf-l/default &park()')).toMatch(/^\+OK /);
    expect(e.conferences()[0]!.members).toHaveLength(1);
  });

  it('reset loses every conference and starts member ids at 1 again, without events', () => {
    const { e, seen } = engine();
    e.originate({ conference: 'r', callerIdNumber: '1' });
    e.originate({ conference: 'r', callerIdNumber: '2' });
    const n = seen.length;
    e.reset({ coreUuid: '11111111-0000-4000-8000-000000000000', hostname: 'vm', switchname: 'vm', ipv4: '192.0.2.2', ipv6: 'fd00::2' });
    expect(seen.length).toBe(n);
    expect(e.conferences()).toEqual([]);
    expect(e.originate({ conference: 'r', callerIdNumber: '3' }).member.id).toBe(1);
    expect(seen.at(-1)!.header('Core-UUID')).toBe('11111111-0000-4000-8000-000000000000');
  });

  it('flood: count talking events spread at the requested rate', async () => {
    const { e, seen } = engine();
    for (let i = 0; i < 4; i++) e.originate({ conference: 'fl', callerIdNumber: String(i) });
    const before = seen.length;
    const t0 = Date.now();
    const r = await e.flood({ conference: 'fl', members: 4, eventsPerSecond: 2000, count: 200 });
    const elapsed = Date.now() - t0;
    expect(r.sent).toBe(200);
    const talking = seen.slice(before).map((x) => x.header('Action'));
    expect(talking).toHaveLength(200);
    expect(new Set(talking)).toEqual(new Set(['start-talking', 'stop-talking']));
    expect(elapsed).toBeGreaterThanOrEqual(60);
  });
});
