/**
 * The crossbar actions added for Kazoo clients (conference play and record, participants relate,
 * participant play) through the real HTTP server of a service on the simulator: what FreeSWITCH was
 * asked to do, and its effect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REL_ACCOUNT, REL_TOKEN, startRelRig, waitUntil, wireCommandLines, type RelRig } from '../helpers/rel-service.js';

const CONF = 'kz-rest';
let rig: RelRig;
let ids: number[] = [];

beforeAll(async () => {
  rig = await startRelRig({ http: true });
  rig.sim.engine.originate({ conference: CONF, callerIdNumber: '100', vars: { account_id: REL_ACCOUNT } });
  rig.sim.engine.originate({ conference: CONF, callerIdNumber: '101', vars: { account_id: REL_ACCOUNT } });
  await waitUntil('members in the registry', () => rig.service.registry.participants(CONF).length === 2);
  ids = rig.sim.engine.conferences().find((c) => c.name === CONF)!.members.map((m) => m.id).sort((a, b) => a - b);
}, 40_000);

afterAll(async () => {
  await rig?.close();
}, 30_000);

async function put(path: string, data: Record<string, unknown>): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${rig.service.http!.url}/v2/accounts/${REL_ACCOUNT}/conferences/${CONF}${path}`, {
    method: 'PUT',
    headers: { 'x-auth-token': REL_TOKEN, 'content-type': 'text/plain' },
    body: JSON.stringify({ data }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const lines = (): string[] => wireCommandLines(rig.sim).filter((l) => l.includes(`conference ${CONF} `));

describe('crossbar actions on the simulator', () => {
  it('conference play (media_id) and participant play reach FreeSWITCH as play commands', async () => {
    expect((await put('', { action: 'play', media_id: 'tone_stream://%(100,0,440)' })).status).toBe(202);
    expect((await put(`/participants/${ids[1]}`, { action: 'play', media_id: '/tmp/hello.wav' })).status).toBe(202);
    expect(lines()).toEqual(expect.arrayContaining([`api conference ${CONF} play tone_stream://%(100,0,440)`, `api conference ${CONF} play /tmp/hello.wav ${ids[1]}`]));
  });

  it('record start / stop changes the conference\'s recording state; a path outside recordings.dirs is refused', async () => {
    const outside = await put('', { action: 'record', path: '/tmp/kz-rest.wav' });
    expect(outside.status).toBe(400);
    expect(rig.sim.engine.conferences().find((c) => c.name === CONF)!.recording).toBe(false);
    expect((await put('', { action: 'record', path: '/var/lib/freeswitch/recordings/kz-rest.wav' })).status).toBe(202);
    expect(rig.sim.engine.conferences().find((c) => c.name === CONF)!.recording).toBe(true);
    expect((await put('', { action: 'record', record: 'stop', path: '/var/lib/freeswitch/recordings/kz-rest.wav' })).status).toBe(202);
    expect(rig.sim.engine.conferences().find((c) => c.name === CONF)!.recording).toBe(false);
  });

  it('participants relate sends relate with mod_conference\'s relationship', async () => {
    const res = await put('/participants', { action: 'relate', participant_id: ids[0], other_participant: ids[1], relationship: 'deaf' });
    expect(res.status).toBe(202);
    expect(lines()).toContain(`api conference ${CONF} relate ${ids[0]} ${ids[1]} nohear`);
  });
});
