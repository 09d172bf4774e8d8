/**
 * Black-box acceptance: events and AMQP commands, as a consumer sees them. Separate processes
 * (`confmgr simulate`, `confmgr start --config FILE`), calls originated over a raw ESL socket, events
 * read from our own queue bound to `conference.event.#`, Kazoo-format commands sent with reply_to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, type Delivery } from '../helpers/acc-harness.js';
import { kazoo, startRig, type AccRig } from '../helpers/acc-rig.js';

let rig: AccRig;

beforeAll(async () => {
  rig = await startRig({ publish: undefined }); // key absent → every event is published
}, 60_000);

afterAll(async () => {
  const warnings = rig?.warnings() ?? [];
  if (warnings.length > 0) console.error(`service warnings:\n${warnings.join('\n')}`);
  await rig?.close();
}, 30_000);

const SEED_PARTICIPANT_TYPES: Record<string, string> = {
  custom_channel_vars: 'object',
  caller_id_number: 'string',
  caller_id_name: 'string',
  mute_detect: 'boolean',
  video: 'boolean',
  energy_level: 'number',
  current_energy: 'number',
  talking: 'boolean',
  speak: 'boolean',
  hear: 'boolean',
  floor: 'boolean',
  participant_id: 'number',
  instance_id: 'string',
  conference_id: 'string',
  focus: 'string',
  call_id: 'string',
  event: 'string',
  node: 'string',
  msg_id: 'string',
  event_name: 'string',
  event_category: 'string',
  app_name: 'string',
  app_version: 'string',
  routing_key: 'string',
  is_moderator: 'boolean',
};

function ev(conf: string, event: string, member?: number) {
  return (d: Delivery) =>
    d.body.conference_id === conf && d.body.event === event && (member === undefined || d.body.participant_id === member);
}

describe('participant and conference events on RabbitMQ', () => {
  let modCall: string;
  let aliceCall: string;
  let modId: number;
  let aliceId: number;

  it('add-member arrives on conference.event.<conf>.<call_id> with the seed payload, typed', async () => {
    modCall = await rig.esl.originate('room1', '1001', 'Moderator', { moderator: true });
    aliceCall = await rig.esl.originate('room1', '1002', 'Alice');
    const mod = await rig.tap.waitFor((d) => ev('room1', 'add-member')(d) && d.body.caller_id_number === '1001', 'moderator add-member');
    const alice = await rig.tap.waitFor((d) => ev('room1', 'add-member')(d) && d.body.caller_id_number === '1002', 'alice add-member');
    for (const d of [mod, alice]) {
      for (const [k, t] of Object.entries(SEED_PARTICIPANT_TYPES)) expect([k, typeof d.body[k]]).toEqual([k, t]);
      expect(d.routingKey).toBe(`conference.event.room1.${String(d.body.call_id)}`);
      expect(d.body).toMatchObject({ event_name: 'participant_event', event_category: 'conference', app_name: 'confmgr' });
      expect(d.body.synthesized).toBeUndefined();
      // AMQP properties a consumer relies on
      expect(d.msg.properties.contentType).toBe('application/json');
      expect(d.msg.properties.messageId).toBe(d.body.msg_id);
      expect(d.msg.properties.deliveryMode).toBe(2);
    }
    expect(mod.body).toMatchObject({ caller_id_name: 'Moderator', is_moderator: true, hear: true, speak: true });
    expect(alice.body).toMatchObject({ caller_id_name: 'Alice', is_moderator: false });
    // the member's channel is the -b leg: not the uuid originate returned
    expect(alice.body.call_id).not.toBe(aliceCall);
    expect(mod.body.call_id).not.toBe(modCall);
    modId = mod.body.participant_id as number;
    aliceId = alice.body.participant_id as number;
    expect(aliceId).toBeGreaterThan(modId);
  });

  it('conference-create is a conference-level event on conference.event.<conf>.<conf>', async () => {
    const create = await rig.tap.waitFor(ev('room1', 'conference-create'), 'conference-create');
    expect(create.routingKey).toBe('conference.event.room1.room1');
    expect(create.body).toMatchObject({ event_name: 'conference_event', event_category: 'conference', conference_id: 'room1' });
    expect(typeof create.body.instance_id).toBe('string');
    expect(create.body.call_id).toBeUndefined();
  });

  it('Kazoo mute_participant gets a success reply and produces mute-member', async () => {
    const reply = await rig.rpc.call('room1', kazoo('mute_participant', 'room1', { 'Participant-ID': aliceId }));
    expect(reply).toMatchObject({ status: 'success', 'Event-Name': 'command_resp', 'Application-Name': 'mute_participant' });
    const mute = await rig.tap.waitFor(ev('room1', 'mute-member', aliceId), 'mute-member');
    expect(mute.body).toMatchObject({ speak: false, participant_id: aliceId, caller_id_name: 'Alice' });
    expect(mute.routingKey).toBe(`conference.event.room1.${String(mute.body.call_id)}`);
  });

  it('participant id as a digit string, deaf/undeaf, and a bulk list', async () => {
    const r1 = await rig.rpc.call('room1', kazoo('deaf_participant', 'room1', { 'Participant-ID': String(aliceId) }));
    expect(r1.status).toBe('success');
    await rig.tap.waitFor(ev('room1', 'deaf-member', aliceId), 'deaf-member');
    expect((await rig.rpc.call('room1', kazoo('deaf_participant', 'room1', { 'Participant-ID': 'all' }))).status).toBe('success');
    await rig.tap.waitFor(ev('room1', 'deaf-member', modId), 'deaf-member moderator');
    const r2 = await rig.rpc.call('room1', kazoo('undeaf_participant', 'room1', { 'Participant-ID': [aliceId, modId] }));
    expect(r2).toMatchObject({ status: 'success', results: [{ status: 'success' }, { status: 'success' }] });
    await rig.tap.waitFor(ev('room1', 'undeaf-member', aliceId), 'undeaf-member alice');
    await rig.tap.waitFor(ev('room1', 'undeaf-member', modId), 'undeaf-member moderator');
  });

  it('lock / unlock: conference events with is_locked, on the conference key', async () => {
    expect((await rig.rpc.call('room1', kazoo('lock', 'room1'))).status).toBe('success');
    const lock = await rig.tap.waitFor(ev('room1', 'lock'), 'lock');
    expect(lock.routingKey).toBe('conference.event.room1.room1');
    expect(lock.body).toMatchObject({ event_name: 'conference_event', is_locked: true });
    expect((await rig.rpc.call('room1', kazoo('unlock', 'room1'))).status).toBe('success');
    const unlock = await rig.tap.waitFor(ev('room1', 'unlock'), 'unlock');
    expect(unlock.body).toMatchObject({ is_locked: false });
  });

  it('confmgr own command form and play / stop_play', async () => {
    const r = await rig.rpc.call('room1', { command: { kind: 'unmute', conference: 'room1', target: 'non_moderator' } });
    expect(r.status).toBe('success');
    await rig.tap.waitFor(ev('room1', 'unmute-member', aliceId), 'unmute-member');
    const play = await rig.rpc.call('room1', kazoo('play', 'room1', { 'Media-Name': 'tone_stream://%(200,0,500)' }));
    expect(play.status).toBe('success');
    const stop = await rig.rpc.call('room1', kazoo('stop_play', 'room1', {}));
    expect(stop.status).toBe('success');
  });

  it('levels and relationships: participant_energy, participant_volume_in, relate_participants', async () => {
    const energy = await rig.rpc.call('room1', kazoo('participant_energy', 'room1', { 'Participant-ID': aliceId, 'Energy-Level': 300 }));
    expect(energy).toMatchObject({ status: 'success', result: { command: `conference room1 energy ${aliceId} 300` } });
    const vol = await rig.rpc.call('room1', kazoo('participant_volume_in', 'room1', { 'Participant-ID': aliceId, 'Volume-In-Level': 2 }));
    expect(vol.status).toBe('success');
    const relate = await rig.rpc.call(
      'room1',
      kazoo('relate_participants', 'room1', { 'Participant-ID': aliceId, 'Other-Participant': modId, Relationship: 'deaf' }),
    );
    expect(relate).toMatchObject({ status: 'success', result: { command: `conference room1 relate ${aliceId} ${modId} nohear` } });
    const clear = await rig.rpc.call(
      'room1',
      kazoo('relate_participants', 'room1', { 'Participant-ID': aliceId, 'Other-Participant': modId, Relationship: 'clear' }),
    );
    expect(clear.status).toBe('success');
    const gone = await rig.rpc.call(
      'room1',
      kazoo('relate_participants', 'room1', { 'Participant-ID': aliceId, 'Other-Participant': 999, Relationship: 'mute' }),
    );
    expect(gone).toMatchObject({ status: 'error', error: { code: 'MEMBER_NOT_FOUND' } });
  });

  it('typed error replies: unknown conference, member 999, bad JSON, unknown application, injection', async () => {
    const unknownConf = await rig.rpc.call('nosuch', kazoo('lock', 'nosuch'));
    expect(unknownConf).toMatchObject({ status: 'error', 'Event-Name': 'conference_error', error: { code: 'CONFERENCE_NOT_FOUND' } });
    expect(typeof unknownConf['Error-Message']).toBe('string');

    const noMember = await rig.rpc.call('room1', kazoo('mute_participant', 'room1', { 'Participant-ID': 999 }));
    expect(noMember).toMatchObject({ status: 'error', error: { code: 'MEMBER_NOT_FOUND' } });

    const badJson = await rig.rpc.call('room1', '{"Event-Category": "conference", ');
    expect(badJson).toMatchObject({ status: 'error', error: { code: 'INVALID_COMMAND' } });

    const notAnObject = await rig.rpc.call('room1', '[1,2,3]');
    expect(notAnObject).toMatchObject({ status: 'error' });

    const unknownApp = await rig.rpc.call('room1', kazoo('format_disk', 'room1'));
    expect(unknownApp).toMatchObject({ status: 'error', error: { code: 'INVALID_COMMAND' } });

    const injections: Array<[string, Record<string, unknown>]> = [
      ['room1', kazoo('lock', 'room1\napi shutdown')],
      ['room1', kazoo('lock', 'room1 kick all')],
      ['room1', kazoo('mute_participant', 'room1', { 'Participant-ID': '2\n\napi fsctl shutdown' })],
      ['room1', kazoo('mute_participant', 'room1', { 'Participant-ID': '1 all' })],
      ['room1', kazoo('play', 'room1', { 'Media-Name': 'x.wav\r\n\r\napi shutdown' })],
      ['room1', kazoo('play', 'room1', { 'Media-Name': 'a b.wav' })],
      ['room1', kazoo('play', 'room1', { 'Media-Name': 'x.wav\u0000' })],
      ['room1', kazoo('participant_energy', 'room1', { 'Participant-ID': aliceId, 'Energy-Level': '100 ; hup all' })],
    ];
    for (const [conf, body] of injections) {
      const reply = await rig.rpc.call(conf, body);
      expect([JSON.stringify(body), reply.status]).toEqual([JSON.stringify(body), 'error']);
      expect(['INVALID_ARGUMENT', 'INVALID_COMMAND']).toContain((reply.error as { code: string }).code);
    }
    // Nothing was broken: the members are still there, the simulator still runs, the service still answers.
    const list = await rig.esl.api('conference room1 list count');
    expect(list.trim()).toBe('2');
    expect(rig.sim.running).toBe(true);
    expect(rig.svc.running).toBe(true);
    const ok = await rig.rpc.call('room1', kazoo('mute_participant', 'room1', { 'Participant-ID': aliceId }));
    expect(ok.status).toBe('success');
  });

  it('Unicode caller names and a conference name with a dot survive end to end', async () => {
    await rig.esl.originate('sales.eu', '+4930123', 'Zoë Ünïcøde 日本');
    const add = await rig.tap.waitFor(ev('sales.eu', 'add-member'), 'add-member sales.eu');
    expect(add.body.caller_id_name).toBe('Zoë Ünïcøde 日本');
    expect(add.body.caller_id_number).toBe('+4930123');
    // `.` cannot split the topic: encoded as one word
    expect(add.routingKey).toBe(`conference.event.sales%2Eeu.${String(add.body.call_id)}`);
    const create = await rig.tap.waitFor(ev('sales.eu', 'conference-create'), 'conference-create sales.eu');
    expect(create.routingKey).toBe('conference.event.sales%2Eeu.sales%2Eeu');
    const reply = await rig.rpc.call('sales%2Eeu', kazoo('mute_participant', 'sales.eu', { 'Participant-ID': 'all' }));
    expect(reply.status).toBe('success');
    await rig.tap.waitFor(ev('sales.eu', 'mute-member'), 'mute-member sales.eu');
  });

  it('kick (ecallmgr sends hup): hup-member, del-member, then conference-destroy when the last member leaves', async () => {
    const r = await rig.rpc.call('room1', kazoo('kick', 'room1', { 'Participant-ID': aliceId }));
    expect([r.status, JSON.stringify(r)]).toEqual(['success', expect.any(String)]);
    await rig.tap.waitFor(ev('room1', 'hup-member', aliceId), `hup-member (reply ${JSON.stringify(r)})`);
    const del = await rig.tap.waitFor(ev('room1', 'del-member', aliceId), 'del-member');
    expect(del.routingKey).toBe(`conference.event.room1.${String(del.body.call_id)}`);
    // the moderator's call hangs up: uuid_kill of the originate uuid (the a-leg) ends the b-leg too
    const killed = await rig.esl.api(`uuid_kill ${modCall}`);
    expect(killed.startsWith('+OK')).toBe(true);
    await rig.tap.waitFor(ev('room1', 'del-member', modId), 'moderator del-member');
    const destroy = await rig.tap.waitFor(ev('room1', 'conference-destroy'), 'conference-destroy');
    expect(destroy.routingKey).toBe('conference.event.room1.room1');
    // per conference, events arrive in the order FreeSWITCH sent them
    const room1 = rig.tap.events((d) => d.body.conference_id === 'room1').map((d) => d.body.event);
    expect(room1[0]).toBe('conference-create');
    expect(room1.at(-1)).toBe('conference-destroy');
    expect(room1.indexOf('hup-member')).toBeLessThan(room1.lastIndexOf('del-member'));
  });

  it('no duplicate events were published (msg_id unique) and the service is still healthy', async () => {
    await sleep(300);
    const ids = rig.tap.received.map((d) => d.body.msg_id);
    expect(new Set(ids).size).toBe(ids.length);
    const health = await fetch(`${rig.base}/healthz`);
    expect(health.status).toBe(200);
    const ready = (await (await fetch(`${rig.base}/readyz`)).json()) as Record<string, any>;
    expect(ready.nodes.fs1.up).toBe(true);
    expect(ready.broker.connected).toBe(true);
    const metrics = await (await fetch(`${rig.base}/metrics`)).text();
    expect(metrics).toMatch(/confmgr_events_received_total\{node="fs1",event="add-member"\} [1-9]/);
    expect(metrics).toMatch(/confmgr_events_published_total\{event="add-member"\} [1-9]/);
    expect(metrics).toMatch(/confmgr_command_duration_seconds_bucket\{[^}]*command="mute"/);
    expect(metrics).toMatch(/confmgr_command_duration_seconds_count\{[^}]*outcome="MEMBER_NOT_FOUND"/);
    // nothing went wrong inside: a run without faults logs no warning; no secret is ever logged
    expect(rig.warnings()).toEqual([]);
    expect(rig.svc.output).not.toContain('ClueCon');
    expect(rig.svc.output).not.toContain('guest:guest');
    expect(rig.svc.output).not.toContain('acc-token-0123456789abcdef');
    expect(rig.svc.output).toMatch(/amqp:\/\/guest:\*\*\*@/);
  });
});
