import { afterEach, describe, expect, it } from 'vitest';
import { ConferenceRegistry } from '../../src/state/registry.js';
import { ConferenceStateSync, attachStateSync } from '../../src/state/node-sync.js';
import { createLogger } from '../../src/util/log.js';
import { ConferenceRouter } from '../../src/state/router.js';
import {
  ConferenceAmbiguousError,
  ConferenceNotFoundError,
  MemberNotFoundError,
  NodeDownError,
} from '../../src/conference/errors.js';
import { TypedEmitter } from '../../src/util/emitter.js';
import type { EslEvent } from '../../src/esl/codec.js';
import type { NodeEvents } from '../../src/esl/types.js';
import type { ConferenceEvent, MemberState } from '../../src/conference/types.js';
import { event, fixtureEvents, member, replyTo } from './registry.helpers.js';

/** A json_list reply as FreeSWITCH prints it (cJSON, tabs), built from members. */
function jsonList(confs: { name: string; uuid: string; members: MemberState[]; locked?: boolean }[]): string {
  return JSON.stringify(
    confs.map((c) => ({
      conference_name: c.name,
      member_count: c.members.length,
      ghost_count: 0,
      rate: 8000,
      run_time: 42,
      conference_uuid: c.uuid,
      locked: c.locked ?? false,
      recording: false,
      running: true,
      variables: {},
      members: c.members.map((m) => ({
        type: 'caller',
        id: m.memberId,
        flags: {
          can_hear: m.hear,
          can_see: m.see,
          can_speak: m.speak,
          hold: m.hold,
          mute_detect: m.muteDetect,
          talking: m.talking,
          has_video: m.video,
          has_floor: m.floor,
          is_moderator: m.isModerator,
        },
        uuid: m.callId,
        caller_id_name: m.callerIdName,
        caller_id_number: m.callerIdNumber,
        join_time: 10,
        last_talking: 0,
        energy: m.energyLevel,
        volume_in: 0,
        volume_out: 0,
      })),
    })),
    null,
    '\t',
  );
}

interface Deferred {
  resolve: (v: string) => void;
  reject: (e: Error) => void;
}

/**
 * An api() whose replies the test hands out, recording every call. `uuid_dump <call> json` is answered
 * at once from `dumps` (call id → reply; default: the channel is gone) and recorded in `dumpCalls`.
 */
function scriptedApi() {
  const calls: { node: string; command: string }[] = [];
  const pending: Deferred[] = [];
  const dumps = new Map<string, string>();
  const dumpCalls: string[] = [];
  const api = (node: string, command: string): Promise<string> => {
    const dump = /^uuid_dump (\S+) json$/.exec(command);
    if (dump) {
      dumpCalls.push(dump[1]!);
      return Promise.resolve(dumps.get(dump[1]!) ?? '-ERR No such channel!\n');
    }
    calls.push({ node, command });
    return new Promise<string>((resolve, reject) => pending.push({ resolve, reject }));
  };
  return { api, calls, pending, dumps, dumpCalls };
}

const syncs: ConferenceStateSync[] = [];
afterEach(() => {
  for (const s of syncs.splice(0)) s.close();
});

function setup(
  options: { nodes?: string[]; downGraceMs?: number; retryMs?: number; pace?: () => Promise<void>; paceEvery?: number } = {},
) {
  const registry = new ConferenceRegistry();
  const scripted = scriptedApi();
  const sync = new ConferenceStateSync({
    registry,
    api: scripted.api,
    nodes: options.nodes ?? ['fs1'],
    downGraceMs: options.downGraceMs ?? 60_000,
    retryMs: options.retryMs ?? 0,
    ...(options.pace ? { pace: options.pace, paceEvery: options.paceEvery } : {}),
  });
  syncs.push(sync);
  const seen: ConferenceEvent[] = [];
  sync.on('event', (e) => seen.push(e));
  const router = new ConferenceRouter(registry, sync, { resyncWaitMs: 2_000 });
  return { registry, sync, router, seen, ...scripted };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const summary = (evs: ConferenceEvent[]): string[] =>
  evs.map((e) => `${e.synthesized ? '~' : ''}${e.action}${e.member ? `:${e.member.memberId}/${e.member.callId}` : ''}`);

const alice = member({ memberId: 1, callId: 'call-a', callerIdName: 'Alice', isModerator: true });
const bob = member({ memberId: 2, callId: 'call-b', callerIdName: 'Bob' });
const carol = member({ memberId: 3, callId: 'call-c', callerIdName: 'Carol' });

async function upWith(s: ReturnType<typeof setup>, node: string, reply: string): Promise<void> {
  const done = s.sync.nodeUp(node);
  s.pending.shift()!.resolve(reply);
  await done;
}

describe('ConferenceStateSync', () => {
  it('runs `conference json_list` on every up and builds the node state from it', async () => {
    const s = setup();
    await upWith(s, 'fs1', replyTo('demo-plain-control', 'conference demo json_list'));
    expect(s.calls).toEqual([{ node: 'fs1', command: 'conference json_list' }]);
    expect(s.sync.state('fs1')).toBe('synced');
    expect(summary(s.seen)).toEqual([
      '~conference-create',
      '~add-member:1/1c2c87f8-e405-4b24-b316-2bda4f33e71d',
      '~add-member:2/a596bc8f-cb3e-4e5e-9ce7-bb0233a8ac6a',
      '~add-member:3/6c8c0670-831f-43bd-bce9-2a404f9d2938',
      '~floor-change:3/6c8c0670-831f-43bd-bce9-2a404f9d2938',
    ]);
    expect(s.registry.readOnlyView('demo')).toMatchObject({ members: 2, moderators: 1 });
    // A second reconnect with the same state says nothing new.
    s.seen.length = 0;
    await upWith(s, 'fs1', replyTo('demo-plain-control', 'conference demo json_list'));
    expect(s.seen).toEqual([]);
  });

  it('passes live events straight through when no resync runs', () => {
    const s = setup();
    const ev = event('add-member', { member: alice });
    s.sync.handleEvent(ev);
    expect(s.seen).toEqual([ev]);
  });

  it('converges after a reconnect: left, joined and changed while away', async () => {
    const s = setup();
    await upWith(s, 'fs1', '[]');
    for (const m of [alice, bob, carol]) s.sync.handleEvent(event('add-member', { uuid: 'u1', member: m }));
    s.sync.nodeDown('fs1', 'socket closed');
    expect(s.sync.state('fs1')).toBe('down');
    s.seen.length = 0;
    const dave = member({ memberId: 4, callId: 'call-d', callerIdName: 'Dave' });
    await upWith(s, 'fs1', jsonList([{ name: 'room', uuid: 'u1', members: [alice, { ...carol, speak: false }, dave] }]));
    expect(summary(s.seen)).toEqual(['~del-member:2/call-b', '~add-member:4/call-d', '~mute-member:3/call-c']);
    expect(s.registry.participants('room').map((p) => [p.memberId, p.callerIdName, p.speak])).toEqual([
      [1, 'Alice', true],
      [3, 'Carol', false],
      [4, 'Dave', true],
    ]);
  });

  it('buffers events that arrive during the resync and applies them on top of the snapshot, each change once', async () => {
    const s = setup();
    await upWith(s, 'fs1', jsonList([{ name: 'room', uuid: 'u1', members: [alice, bob] }]));
    s.sync.nodeDown('fs1', 'blip');
    s.seen.length = 0;

    const resync = s.sync.nodeUp('fs1');
    expect(s.sync.state('fs1')).toBe('resyncing');
    // Arrive while json_list is in flight:
    const bobLeft = event('del-member', { uuid: 'u1', member: bob }); // before the snapshot (snapshot lacks bob)
    const carolJoined = event('add-member', { uuid: 'u1', member: carol }); // after the snapshot
    const aliceMuted = event('mute-member', { uuid: 'u1', member: { ...alice, speak: false } }); // after it
    for (const ev of [bobLeft, carolJoined, aliceMuted]) s.sync.handleEvent(ev);
    expect(s.seen).toEqual([]); // nothing applied before the snapshot is in
    s.pending.shift()!.resolve(jsonList([{ name: 'room', uuid: 'u1', members: [alice] }]));
    const result = await resync;

    expect(result).toMatchObject({ node: 'fs1', conferences: 1, participants: 1, synthesized: 1, replayed: 3, deduplicated: 1 });
    expect(s.registry.stats().deduplicated).toBe(1);
    // Bob's departure is told once (synthesized), not twice; the later events follow in order.
    expect(summary(s.seen)).toEqual(['~del-member:2/call-b', 'add-member:3/call-c', 'mute-member:1/call-a']);
    expect(s.registry.participants('room').map((p) => [p.memberId, p.speak])).toEqual([
      [1, false],
      [3, true],
    ]);
  });

  it('emits every event received after the snapshot, even one that changes nothing (undeaf on a hearing member)', async () => {
    const s = setup();
    await upWith(s, 'fs1', jsonList([{ name: 'room', uuid: 'u1', members: [alice, bob] }]));
    s.sync.nodeDown('fs1', 'blip');
    await upWith(s, 'fs1', jsonList([{ name: 'room', uuid: 'u1', members: [alice, bob] }]));
    s.seen.length = 0;
    // `conference room undeaf 2` on a member who already hears: FreeSWITCH answers OK and fires it.
    const undeaf = event('undeaf-member', { uuid: 'u1', member: bob });
    s.sync.handleEvent(undeaf);
    const unmute = event('unmute-member', { uuid: 'u1', member: bob });
    s.sync.handleEvent(unmute);
    expect(s.seen).toEqual([undeaf, unmute]);
    expect(s.registry.stats().deduplicated).toBe(0);
  });

  it('tells an event buffered during the resync once when the snapshot already reflects it', async () => {
    const s = setup();
    await upWith(s, 'fs1', jsonList([{ name: 'room', uuid: 'u1', members: [alice, bob] }]));
    s.sync.nodeDown('fs1', 'blip');
    s.seen.length = 0;
    const resync = s.sync.nodeUp('fs1');
    // Alice is muted just before the snapshot is taken; her event arrives while json_list is in flight.
    const aliceMuted = event('mute-member', { uuid: 'u1', member: { ...alice, speak: false } });
    s.sync.handleEvent(aliceMuted);
    s.pending.shift()!.resolve(jsonList([{ name: 'room', uuid: 'u1', members: [{ ...alice, speak: false }, bob] }]));
    const result = await resync;
    expect(summary(s.seen)).toEqual(['~mute-member:1/call-a']); // once, not twice
    expect(result).toMatchObject({ replayed: 1, deduplicated: 1 });
  });

  it('drops a late event only when its timestamp proves it older than the json_list request', async () => {
    const s = setup();
    await upWith(s, 'fs1', jsonList([{ name: 'room', uuid: 'u1', members: [alice, bob] }]));
    s.sync.nodeDown('fs1', 'blip');
    const resync = s.sync.nodeUp('fs1');
    // A fresh event during the resync tells how far the node's clock is from ours (here: the same clock).
    s.sync.handleEvent(event('dtmf-member', { uuid: 'u1', member: alice, headers: { Digits: '5' } }));
    // Bob left 1 s before json_list was asked for; the api reply overtakes his del-member (other socket).
    s.pending.shift()!.resolve(jsonList([{ name: 'room', uuid: 'u1', members: [alice] }]));
    await resync;
    s.seen.length = 0;
    const lateBobLeft = event('del-member', { uuid: 'u1', member: bob, timestampUs: (Date.now() - 1_000) * 1000 });
    s.sync.handleEvent(lateBobLeft);
    expect(s.seen).toEqual([]);
    expect(s.registry.stats().deduplicated).toBe(1);
    // The same no-op stamped after the request passes: it may have happened after the snapshot.
    const again = event('del-member', { uuid: 'u1', member: bob });
    s.sync.handleEvent(again);
    expect(s.seen).toEqual([again]);
    // A real change right after passes as usual.
    const carolJoined = event('add-member', { uuid: 'u1', member: carol });
    s.sync.handleEvent(carolJoined);
    expect(s.seen).toEqual([again, carolJoined]);
  });

  it('without any clock sample, never drops a late event', async () => {
    const s = setup();
    await upWith(s, 'fs1', jsonList([{ name: 'room', uuid: 'u1', members: [alice, bob] }]));
    s.sync.nodeDown('fs1', 'blip');
    await upWith(s, 'fs1', jsonList([{ name: 'room', uuid: 'u1', members: [alice] }]));
    s.seen.length = 0;
    // Its own arrival is the only sample: it cannot prove itself older than the request.
    const lateBobLeft = event('del-member', { uuid: 'u1', member: bob, timestampUs: (Date.now() - 1_000) * 1000 });
    s.sync.handleEvent(lateBobLeft);
    expect(s.seen).toEqual([lateBobLeft]);
  });

  it('drops a stale resync when the node went down meanwhile, keeping the events it buffered', async () => {
    const s = setup();
    const resync = s.sync.nodeUp('fs1');
    const ev = event('add-member', { uuid: 'u1', member: alice });
    s.sync.handleEvent(ev);
    s.sync.nodeDown('fs1', 'gone again');
    expect(s.seen).toEqual([ev]);
    s.pending.shift()!.resolve('[]');
    expect(await resync).toBeUndefined();
    expect(s.registry.participants('room').length).toBe(1); // the empty snapshot was not applied
  });

  it('marks the node stale when json_list fails, and retries', async () => {
    const s = setup({ retryMs: 20 });
    const failed = new Promise<[string, Error]>((r) => s.sync.once('resync-failed', (node, err) => r([node, err])));
    const first = s.sync.nodeUp('fs1');
    s.pending.shift()!.resolve('-ERR nosuchcommand Command not found!');
    // json_list refused → xml_list; refused too → the resync fails.
    while (s.pending.length === 0) await tick();
    expect(s.calls.map((c) => c.command)).toEqual(['conference json_list', 'conference xml_list']);
    s.pending.shift()!.resolve('-ERR nosuchcommand Command not found!');
    expect(await first).toBeUndefined();
    const error = await failed;
    expect(error[0]).toBe('fs1');
    expect((error[1] as Error).message).toContain('conference json_list'); // the json_list error is reported
    expect(s.sync.state('fs1')).toBe('stale');
    const resynced = new Promise((r) => s.sync.once('resynced', r));
    while (s.pending.length === 0) await new Promise((r) => setTimeout(r, 5));
    s.pending.shift()!.resolve('[]');
    await resynced;
    expect(s.sync.state('fs1')).toBe('synced');
    expect(s.calls.length).toBe(3);
  });

  it('falls back to `conference xml_list` when a build refuses the global json_list', async () => {
    for (const refusal of ['Conference json_list not found\n', '-USAGE: <conference_name> <command> [args]\n', '[{"conference_name": "demo", truncated']) {
      const s = setup();
      const done = s.sync.nodeUp('fs1');
      s.pending.shift()!.resolve(refusal);
      while (s.pending.length === 0) await tick();
      s.pending.shift()!.resolve(replyTo('demo-plain-control', 'conference demo xml_list'));
      const result = await done;
      expect(s.calls.map((c) => c.command)).toEqual(['conference json_list', 'conference xml_list']);
      expect(result).toMatchObject({ listCommand: 'conference xml_list', conferences: 1 });
      expect(s.sync.state('fs1')).toBe('synced');
      expect(s.registry.participants('demo').length).toBe(result!.participants);
      expect(summary(s.seen)[0]).toBe('~conference-create');
    }
  });

  it("fills a newcomer's channel variables from uuid_dump before its add-member goes out", async () => {
    const s = setup();
    await upWith(s, 'fs1', jsonList([{ name: 'room', uuid: 'u1', members: [alice] }]));
    s.sync.nodeDown('fs1', 'blip');
    s.seen.length = 0;
    const dump = (callId: string, vars: Record<string, string>): string =>
      JSON.stringify({
        'Event-Name': 'CHANNEL_DATA',
        'Channel-Name': `loopback/${callId}-b`,
        'Unique-ID': callId,
        ...Object.fromEntries(Object.entries(vars).map(([k, v]) => [`variable_${k}`, v])),
      });
    // Only the variables confmgr reads are kept (channel-vars.ts); sip_user_agent is dropped.
    s.dumps.set('call-b', dump('call-b', { account_id: 'acc-b', 'ecallmgr_Owner-ID': 'o-1', sip_user_agent: 'Zoiper' }));
    // call-c hangs up between json_list and its uuid_dump: -ERR No such channel! → emitted without.
    const s2 = s.sync.nodeUp('fs1');
    // Dave's verbose add-member arrives during the resync: his variables come from it, not from a dump.
    const dave = member({ memberId: 4, callId: 'call-d', channelVars: { account_id: 'acc-d' } });
    s.sync.handleEvent(event('add-member', { uuid: 'u1', member: dave }));
    s.pending.shift()!.resolve(jsonList([{ name: 'room', uuid: 'u1', members: [alice, bob, carol, dave] }]));
    const result = await s2;
    expect(s.dumpCalls.sort()).toEqual(['call-a', 'call-b', 'call-c']); // the first up learnt alice too
    expect(result).toMatchObject({ channelVarsFetched: 1, channelVarsFailed: 1 });
    const adds = s.seen.filter((e) => e.action === 'add-member');
    expect(adds.map((e) => [e.synthesized, e.member!.callId, e.member!.channelVars])).toEqual([
      [true, 'call-b', { account_id: 'acc-b', 'ecallmgr_Owner-ID': 'o-1' }],
      [true, 'call-c', {}],
      [true, 'call-d', { account_id: 'acc-d' }],
    ]); // Dave's own add-member changed nothing: told once
    expect(adds[0]!.headers['variable_account_id']).toBe('acc-b');
    expect(s.registry.participant('room', 'call-b')!.channelName).toBe('loopback/call-b-b');
  });

  it('bounds uuid_dump: concurrency, per-request timeout, and never a malformed call id on the wire', async () => {
    const registry = new ConferenceRegistry();
    let inFlight = 0;
    let maxInFlight = 0;
    const commands: string[] = [];
    const api = async (_node: string, command: string): Promise<string> => {
      commands.push(command);
      if (command === 'conference json_list') {
        const many = Array.from({ length: 12 }, (_, i) => member({ memberId: i + 1, callId: i === 5 ? 'bad id' : `call-${i}` }));
        return jsonList([{ name: 'room', uuid: 'u1', members: many }]);
      }
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // call-3 never answers: the per-request timeout lets the resync go on.
      if (command.includes('call-3 ')) await new Promise(() => undefined);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return JSON.stringify({ 'Event-Name': 'CHANNEL_DATA', variable_account_id: 'acc' });
    };
    const sync = new ConferenceStateSync({ registry, api, nodes: ['fs1'], retryMs: 0, channelVars: { concurrency: 3, timeoutMs: 100 } });
    syncs.push(sync);
    const result = await sync.nodeUp('fs1');
    expect(maxInFlight).toBeLessThanOrEqual(3);
    expect(result).toMatchObject({ participants: 12, channelVarsFetched: 10, channelVarsFailed: 2 });
    expect(commands.some((c) => c.includes('bad id'))).toBe(false);
    expect(registry.participant('room', 'call-0')!.channelVars).toEqual({ account_id: 'acc' });
    expect(registry.participant('room', 'call-3')!.channelVars).toEqual({});
  });

  it('reports each step to onPhase', async () => {
    const registry = new ConferenceRegistry();
    const phases: string[] = [];
    const sync = new ConferenceStateSync({
      registry,
      api: async () => '[]',
      nodes: ['fs1'],
      onPhase: (node, phase, ms) => {
        expect(ms).toBeGreaterThanOrEqual(0);
        phases.push(`${node}:${phase}`);
        throw new Error('a broken hook does not break the resync');
      },
    });
    syncs.push(sync);
    expect(await sync.nodeUp('fs1')).toBeDefined();
    expect(phases).toEqual(['fs1:reply', 'fs1:parsed', 'fs1:channel-vars', 'fs1:applied', 'fs1:replayed']);
  });

  /** A pace() the test releases by hand; `paused` counts the calls waiting. */
  function manualPace() {
    const waiting: Array<() => void> = [];
    return {
      pace: (): Promise<void> => new Promise<void>((r) => waiting.push(r)),
      get paused(): number {
        return waiting.length;
      },
      release: (): void => waiting.shift()!(),
    };
  }
  /** upWith for a paced sync: releases every pause until the resync is done. */
  async function upPaced(s: ReturnType<typeof setup>, p: ReturnType<typeof manualPace>, reply: string): Promise<void> {
    let done = false;
    const resync = s.sync.nodeUp('fs1').finally(() => (done = true));
    s.pending.shift()!.resolve(reply);
    while (!done) {
      await tick();
      while (p.paused > 0) p.release();
    }
    await resync;
  }
  const dave = member({ memberId: 4, callId: 'call-d', callerIdName: 'Dave' });
  const erin = member({ memberId: 5, callId: 'call-e', callerIdName: 'Erin' });

  it('paces a snapshot: a pause every paceEvery events, the node\'s own events held back meanwhile, the same result', async () => {
    const p = manualPace();
    const s = setup({ pace: p.pace, paceEvery: 3 });
    const snapshot = jsonList([
      { name: 'r1', uuid: 'u1', members: [alice, bob] },
      { name: 'r2', uuid: 'u2', members: [carol, dave] },
      { name: 'r3', uuid: 'u3', members: [erin] },
    ]);
    const resync = s.sync.nodeUp('fs1');
    s.pending.shift()!.resolve(snapshot);
    await tick();
    // r1's three events are out; the resync waits before r2.
    expect(summary(s.seen)).toEqual(['~conference-create', '~add-member:1/call-a', '~add-member:2/call-b']);
    expect(p.paused).toBe(1);
    expect(s.sync.state('fs1')).toBe('resyncing');
    const muted = event('mute-member', { conference: 'r1', uuid: 'u1', member: { ...alice, speak: false } });
    s.sync.handleEvent(muted);
    expect(s.seen).toHaveLength(3); // held back until the snapshot is in
    p.release();
    await tick();
    expect(s.seen).toHaveLength(6);
    expect(p.paused).toBe(1);
    p.release();
    const result = await resync;
    expect(p.paused).toBe(0); // r3's two events did not reach paceEvery again
    expect(result).toMatchObject({ conferences: 3, participants: 5, synthesized: 8, replayed: 1 });
    expect(summary(s.seen.slice(3))).toEqual([
      '~conference-create',
      '~add-member:3/call-c',
      '~add-member:4/call-d',
      '~conference-create',
      '~add-member:5/call-e',
      'mute-member:1/call-a',
    ]);
    // The same state as an unpaced resync of the same snapshot.
    const plain = setup();
    await upWith(plain, 'fs1', snapshot);
    plain.sync.handleEvent(muted);
    expect(s.registry.participants('r1').map((m) => [m.memberId, m.speak])).toEqual([
      [1, false],
      [2, true],
    ]);
    // (Times left out: each sync stamps the snapshot with its own arrival time.)
    const state = (r: ConferenceRegistry, name: string) =>
      r.participants(name).map(({ joinedAt: _j, ...p }) => p);
    for (const name of ['r1', 'r2', 'r3']) expect(state(s.registry, name)).toEqual(state(plain.registry, name));
    expect(summary(s.seen)).toEqual(summary(plain.seen));
  });

  it('a resync superseded during a pause stops there, every change it made told; the next one completes it', async () => {
    const p = manualPace();
    const s = setup({ pace: p.pace, paceEvery: 1 });
    await upPaced(s, p, jsonList([{ name: 'r1', uuid: 'u1', members: [alice] }, { name: 'r2', uuid: 'u2', members: [bob] }]));
    s.sync.nodeDown('fs1', 'blip');
    s.seen.length = 0;

    // While away: carol joined r1, r2 ended, r3 started.
    const away = jsonList([{ name: 'r1', uuid: 'u1', members: [alice, carol] }, { name: 'r3', uuid: 'u3', members: [dave] }]);
    const resync = s.sync.nodeUp('fs1');
    s.pending.shift()!.resolve(away);
    await tick();
    expect(summary(s.seen)).toEqual(['~add-member:3/call-c']);
    s.sync.nodeDown('fs1', 'gone again'); // during the pause after r1
    p.release();
    expect(await resync).toBeUndefined();
    expect(s.registry.participants('r1').map((m) => m.memberId)).toEqual([1, 3]); // applied and told
    expect(s.registry.participants('r2').map((m) => m.memberId)).toEqual([2]); // not reached: still as before
    expect(s.registry.conference('r3')).toBeUndefined();

    s.seen.length = 0;
    await upPaced(s, p, away);
    expect(summary(s.seen)).toEqual(['~conference-create', '~add-member:4/call-d', '~del-member:2/call-b', '~conference-destroy']);
    expect(s.registry.conference('r2')).toBeUndefined();
    expect(s.sync.state('fs1')).toBe('synced');
  });

  it('flushes a node that stays down past its grace period, with events', async () => {
    const s = setup({ downGraceMs: 30 });
    await upWith(s, 'fs1', jsonList([{ name: 'room', uuid: 'u1', members: [alice, bob] }]));
    s.seen.length = 0;
    const flushed = new Promise((r) => s.sync.once('flushed', (node, n) => r([node, n])));
    s.sync.nodeDown('fs1', 'dead');
    expect(s.registry.participants('room').length).toBe(2); // kept during the grace period
    expect(await flushed).toEqual(['fs1', 3]);
    expect(summary(s.seen)).toEqual(['~del-member:1/call-a', '~del-member:2/call-b', '~conference-destroy']);
    expect(s.sync.state('fs1')).toBe('flushed');
    expect(s.registry.conferences()).toEqual([]);
  });

  it('does not flush a node that comes back within the grace period', async () => {
    const s = setup({ downGraceMs: 40 });
    await upWith(s, 'fs1', jsonList([{ name: 'room', uuid: 'u1', members: [alice] }]));
    s.sync.nodeDown('fs1', 'blip');
    await upWith(s, 'fs1', jsonList([{ name: 'room', uuid: 'u1', members: [alice] }]));
    let flushed = false;
    s.sync.on('flushed', () => (flushed = true));
    await new Promise((r) => setTimeout(r, 80));
    expect(flushed).toBe(false);
    expect(s.registry.participants('room').length).toBe(1);
  });

  it('wires to a cluster-like emitter: up → resync, event → parsed and applied, down → grace', async () => {
    class FakeCluster extends TypedEmitter<NodeEvents> {
      fire<K extends keyof NodeEvents & string>(name: K, ...args: NodeEvents[K]): void {
        this.emit(name, ...args);
      }
    }
    const s = setup();
    const cluster = new FakeCluster();
    const detach = attachStateSync(cluster, s.sync);
    cluster.fire('up', 'fs1');
    s.pending.shift()!.resolve('[]');
    await new Promise((r) => s.sync.once('resynced', r));
    const fixture = fixtureEvents('demo-plain');
    // Feed raw EslEvents through the cluster (the sync parses them with events.ts).
    const raw: EslEvent[] = fixture.slice(0, 5).map((e) => ({ name: 'CUSTOM', subclass: 'conference::maintenance', headers: e.headers, body: '' }));
    for (const r of raw) cluster.fire('event', 'fs1', r);
    expect(s.registry.participants('demo').map((p) => p.memberId)).toEqual([1, 2]);
    cluster.fire('down', 'fs1', 'closed');
    expect(s.sync.state('fs1')).toBe('down');
    detach();
    expect(cluster.listenerCount('event')).toBe(0);
  });

  it('drops an event with an impossible member id before the sync sees it, and logs it with the node', async () => {
    class FakeCluster extends TypedEmitter<NodeEvents> {
      fire<K extends keyof NodeEvents & string>(name: K, ...args: NodeEvents[K]): void {
        this.emit(name, ...args);
      }
    }
    const s = setup();
    const cluster = new FakeCluster();
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
    const seen: string[] = [];
    attachStateSync(cluster, s.sync, { logger, onEvent: (e) => seen.push(e.action) });
    cluster.fire('up', 'fs1');
    s.pending.shift()!.resolve('[]');
    await new Promise((r) => s.sync.once('resynced', r));
    const [add] = fixtureEvents('demo-plain').filter((e) => e.headers['Action'] === 'add-member');
    cluster.fire('event', 'fs1', { name: 'CUSTOM', subclass: 'conference::maintenance', headers: { ...add!.headers, 'Member-ID': '-1' }, body: '' });
    expect(seen).toEqual([]);
    expect(s.registry.participants('demo')).toEqual([]);
    expect(lines.filter((l) => l.msg === 'dropped a value FreeSWITCH could not have sent')).toMatchObject([{ node: 'fs1', field: 'Member-ID', value: '"-1"' }]);
  });
});

describe('ConferenceRouter', () => {
  it('answers the hosting node, and not-found at once without asking any node', async () => {
    const s = setup({ nodes: ['fs1', 'fs2'] });
    await upWith(s, 'fs1', jsonList([{ name: 'room', uuid: 'u1', members: [alice] }]));
    await upWith(s, 'fs2', '[]');
    const callsBefore = s.calls.length;
    expect(await s.router.nodeFor('room')).toBe('fs1');
    await expect(s.router.nodeFor('nosuch')).rejects.toBeInstanceOf(ConferenceNotFoundError);
    expect(s.calls.length).toBe(callsBefore);
  });

  it('waits for a resync in progress before saying not found', async () => {
    const s = setup({ nodes: ['fs1'] });
    const up = s.sync.nodeUp('fs1');
    const lookup = s.router.nodeFor('room');
    let settled = false;
    void lookup.then(
      () => (settled = true),
      () => (settled = true),
    );
    await tick();
    expect(settled).toBe(false);
    s.pending.shift()!.resolve(jsonList([{ name: 'room', uuid: 'u1', members: [alice] }]));
    await up;
    expect(await lookup).toBe('fs1');
  });

  it('treats never-synced nodes as rebuilding, but only for a bounded time', async () => {
    const s = setup({ nodes: ['fs1'] });
    const router = new ConferenceRouter(s.registry, s.sync, { resyncWaitMs: 30 });
    const err = await router.nodeFor('room').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConferenceNotFoundError);
    expect((err as ConferenceNotFoundError).details).toMatchObject({ rebuilding: ['fs1'] });
  });

  it('refuses a conference whose node is down (within the grace period)', async () => {
    const s = setup({ nodes: ['fs1'] });
    await upWith(s, 'fs1', jsonList([{ name: 'room', uuid: 'u1', members: [alice] }]));
    s.sync.nodeDown('fs1', 'x');
    await expect(s.router.nodeFor('room')).rejects.toBeInstanceOf(NodeDownError);
    await expect(s.router.nodeForCall('room', 'call-a')).rejects.toBeInstanceOf(NodeDownError);
  });

  it('refuses a name live on two nodes as ambiguous, but routes by call id', async () => {
    const s = setup({ nodes: ['fs1', 'fs2'] });
    await upWith(s, 'fs1', jsonList([{ name: 'room', uuid: 'u1', members: [alice] }]));
    await upWith(s, 'fs2', jsonList([{ name: 'room', uuid: 'u2', members: [{ ...bob, memberId: 1 }] }]));
    const err = await s.router.nodeFor('room').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConferenceAmbiguousError);
    expect((err as ConferenceAmbiguousError).code).toBe('CONFERENCE_AMBIGUOUS');
    expect(((err as ConferenceAmbiguousError).details!.nodes as string[]).sort()).toEqual(['fs1', 'fs2']);
    expect(await s.router.nodeForCall('room', 'call-a')).toBe('fs1');
    expect(await s.router.nodeForCall('room', 'call-b')).toBe('fs2');
    await expect(s.router.nodeForCall('room', 'nobody')).rejects.toBeInstanceOf(MemberNotFoundError);
    // The read side shows both: participants of both nodes, each with its node.
    expect(s.registry.participants('room').map((p) => [p.node, p.memberId, p.callId])).toEqual([
      ['fs1', 1, 'call-a'],
      ['fs2', 1, 'call-b'],
    ]);
    expect(s.registry.readOnlyView('room').members + s.registry.readOnlyView('room').moderators).toBe(2);
    expect(s.registry.conference('room')!.alsoOn.length).toBe(1);
    // The hot-path read picks the same instance as conference() (the most recently started).
    expect(s.registry.instance('room')!.uuid).toBe(s.registry.conference('room')!.uuid);
    expect(s.registry.instance('room', 'fs1')!.uuid).toBe(s.registry.conference('room', 'fs1')!.uuid);
    // Once one of them ends, the name is unambiguous again.
    await upWith(s, 'fs2', '[]');
    expect(await s.router.nodeFor('room')).toBe('fs1');
  });
});
