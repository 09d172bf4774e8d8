/**
 * ConferenceControl end to end: the real simulator over TCP, through the EslNodePool, with the
 * demo scenario of the fixtures. Events from the same node are parsed and tracked as they arrive.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConferenceControl } from '../../src/conference/control.js';
import { conferencecallHistories } from '../helpers/conferencecall-histories.js';
import {
  CommandRejectedError,
  ConferenceNotFoundError,
  InvalidArgumentError,
  MemberNotFoundError,
  NodeDownError,
} from '../../src/conference/errors.js';
import { parseConferenceEvent } from '../../src/conference/events.js';
import { toOutboundEvent } from '../../src/conference/payload.js';
import type { ListedMember } from '../../src/conference/replies.js';
import type { ConferenceEvent } from '../../src/conference/types.js';
import { EslNodePool } from '../../src/esl/pool.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { pollUntil } from '../helpers/wait.js';

let sim: Simulator;
let pool: EslNodePool;
let control: ConferenceControl;
let events: ConferenceEvent[];

beforeEach(async () => {
  sim = await startSimulator({ port: 0, host: '127.0.0.1', heartbeatMs: 0, verboseEvents: true });
  pool = new EslNodePool({ name: 'fs1', host: '127.0.0.1', port: sim.port, password: 'ClueCon', livenessIntervalMs: 0, apiTimeoutMs: 10_000 });
  events = [];
  pool.on('event', (_node, e) => {
    const ce = parseConferenceEvent(e, 'fs1');
    if (ce) events.push(ce);
  });
  pool.start();
  await pool.waitUntilUp(15_000);
  control = new ConferenceControl({
    locator: { nodeFor: async () => 'fs1' },
    nodes: (n) => (n === 'fs1' ? pool : undefined),
  });
  // The demo of the fixtures: moderator 1001, Alice 1002, Bob 1003.
  sim.engine.originate({ conference: 'demo', moderator: true, callerIdNumber: '1001', callerIdName: 'Moderator' });
  sim.engine.originate({
    conference: 'demo',
    callerIdNumber: '1002',
    callerIdName: 'Alice',
    vars: { 'ecallmgr_Account-ID': 'acc-1', presence_id: '1002@example.com' },
  });
  sim.engine.originate({ conference: 'demo', callerIdNumber: '1003', callerIdName: 'Bob' });
  await pollUntil('three add-member events', () => (events.filter((e) => e.action === 'add-member').length === 3 ? true : undefined));
});

afterEach(async () => {
  await pool?.close();
  await sim?.close();
});

describe('ConferenceControl against the simulator over TCP', () => {
  it('lists the members and reads typed state', async () => {
    const listed = (await control.execute({ kind: 'list', conference: 'demo' })).data as ListedMember[];
    expect(listed.map((m) => [m.memberId, m.callerIdName, m.flags.includes('moderator')]).sort()).toEqual([
      [1, 'Moderator', true],
      [2, 'Alice', false],
      [3, 'Bob', false],
    ]);
    expect((await control.execute({ kind: 'count', conference: 'demo' })).data).toBe(3);
    expect((await control.execute({ kind: 'get', conference: 'demo', param: 'count' })).data).toBe(3);
    expect((await control.execute({ kind: 'get', conference: 'demo', param: 'is_locked' })).data).toBe(false);
    const json = (await control.execute({ kind: 'json_list', conference: 'demo' })).data as Array<{ members: unknown[] }>;
    expect(json[0]!.members).toHaveLength(3);
  });

  it('runs the fixture scenario and sees the matching events', async () => {
    expect((await control.muteParticipant('demo', 2)).data).toEqual({ affected: [{ member: 2, action: 'mute' }], skippedModerators: [] });
    await pollUntil('mute-member 2', () => events.find((e) => e.action === 'mute-member' && e.member?.memberId === 2));
    await control.unmuteParticipant('demo', 2);
    await control.deafParticipant('demo', 2);
    await control.undeafParticipant('demo', 2);
    await control.lock('demo');
    expect((await control.execute({ kind: 'get', conference: 'demo', param: 'is_locked' })).data).toBe(true);
    await control.unlock('demo');

    const muted = await control.muteParticipants('demo');
    expect(muted.data).toEqual({ affected: [3, 2].map((member) => ({ member, action: 'mute' })), skippedModerators: [1] });
    await control.unmuteParticipants('demo');
    await control.deafParticipants('demo');
    await control.undeafParticipants('demo');

    expect((await control.execute({ kind: 'energy', conference: 'demo', target: 2, value: 300 })).data).toMatchObject({ value: 300 });
    expect((await control.execute({ kind: 'energy', conference: 'demo', target: 2 })).data).toMatchObject({ value: 300 });
    expect((await control.execute({ kind: 'volume_in', conference: 'demo', target: 2, value: 2 })).data).toMatchObject({ value: 2 });
    expect((await control.execute({ kind: 'volume_out', conference: 'demo', target: 2, value: -1 })).data).toMatchObject({ value: -1 });
    await control.execute({ kind: 'hold', conference: 'demo', target: 2 });
    await control.execute({ kind: 'unhold', conference: 'demo', target: 2 });
    expect((await control.execute({ kind: 'dtmf', conference: 'demo', target: 2, digits: '123' })).data).toMatchObject({
      affected: [{ member: 2, digits: '123' }],
    });
    expect((await control.execute({ kind: 'play', conference: 'demo', file: 'tone_stream://%(400,0,800)' })).data).toEqual({
      file: 'tone_stream://%(400,0,800)',
    });

    for (const action of ['unmute-member', 'deaf-member', 'undeaf-member', 'lock', 'unlock', 'energy-level-member', 'volume-in-member', 'hold-member', 'unhold-member', 'dtmf-member', 'play-file']) {
      await pollUntil(action, () => events.find((e) => e.action === action));
    }
    const dtmf = events.find((e) => e.action === 'dtmf-member')!;
    expect(dtmf.details['Digits']).toBe('123');
    for (const e of events) expect(e.known, e.action).toBe(true);

    // verbose events: Alice's channel variables reach the participant payload
    const aliceAdd = events.find((e) => e.action === 'add-member' && e.member?.memberId === 2)!;
    const payload = toOutboundEvent({ appName: 'confmgr', appVersion: '0.1.0', nodeName: 'confmgr@test' }, aliceAdd).payload;
    expect(payload).toMatchObject({ custom_channel_vars: { account_id: 'acc-1' }, channel_presence_id: '1002@example.com', participant_id: 2 });
  });

  it('maps the simulator error replies to typed errors', async () => {
    await expect(control.execute({ kind: 'mute', conference: 'nosuchconf', target: 1 })).rejects.toBeInstanceOf(ConferenceNotFoundError);
    await expect(control.muteParticipant('demo', 999)).rejects.toBeInstanceOf(MemberNotFoundError);
    await expect(control.kickParticipant('demo', 999)).rejects.toBeInstanceOf(MemberNotFoundError);
    const floor = await control.execute({ kind: 'floor', conference: 'demo', member: 2 }).catch((e: unknown) => e);
    expect(floor).toBeInstanceOf(CommandRejectedError);
    expect([1, 3]).toContain((floor as CommandRejectedError).details?.['heldBy']);
    await expect(control.execute({ kind: 'play', conference: 'demo', file: 'a b.wav' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('kick, then kick all: conferencecalls go joined → leaving → leaved', async () => {
    const seen: ConferenceEvent[] = [];
    const apply = (): void => void seen.push(...events.splice(0));
    apply();
    expect(conferencecallHistories(seen)).toEqual([['joined'], ['joined'], ['joined']]);
    expect((await control.kickParticipant('demo', 2)).data).toEqual({ affected: [{ member: 2, action: 'kicked' }], skippedModerators: [] });
    await pollUntil('del-member 2', () => events.find((e) => e.action === 'del-member' && e.member?.memberId === 2));
    const all = await control.kickAll('demo');
    expect((all.data as { affected: Array<{ member: number }> }).affected.map((a) => a.member).sort()).toEqual([1, 3]);
    await pollUntil('conference-destroy', () => events.find((e) => e.action === 'conference-destroy'));
    apply();
    expect(conferencecallHistories(seen)).toEqual([
      ['joined', 'leaving', 'leaved'],
      ['joined', 'leaving', 'leaved'],
      ['joined', 'leaving', 'leaved'],
    ]);
    await expect(control.execute({ kind: 'count', conference: 'demo' })).rejects.toBeInstanceOf(ConferenceNotFoundError);
  });

  it('a node that went away is NodeDown', async () => {
    await pool.close();
    const err = await control.lock('demo').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeDownError);
  });
});
