/**
 * End to end through the real stack: the FreeSWITCH simulator over TCP ← ESL pool ← conference
 * registry / control ← confmgr's service wiring (createService, real RabbitMQ, SQLite file) → HTTP
 * (real listen) and WebSocket (ws client). No fakes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import WebSocket from 'ws';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { createService, type ServiceHandle } from '../../src/app/service.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/util/log.js';
import { pollUntil } from '../helpers/wait.js';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const A = 'acc_sim_a';
const TOKEN = `tok-${randomBytes(12).toString('hex')}`;
const exchange = `confmgr-api-sim-${randomBytes(4).toString('hex')}`;

let dir: string;
let sim: Simulator;
let service: ServiceHandle;
let base: string;
const sockets: WebSocket[] = [];

async function http(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'x-auth-token': TOKEN, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'confmgr-api-sim-'));
  sim = await startSimulator({ port: 0, verboseEvents: true, heartbeatMs: 0 });
  const yaml = `
freeswitch:
  nodes:
    - name: fs1
      host: 127.0.0.1
      port: ${sim.port}
      password: ClueCon
  reconnect: { base_ms: 50, cap_ms: 200 }
amqp:
  url: ${AMQP_URL}
  exchange: ${exchange}
http:
  listen: 127.0.0.1:0
  tokens:
    - token: ${TOKEN}
      account_id: ${A}
storage:
  path: ${join(dir, 'confmgr.sqlite')}
log:
  level: silent
`;
  const config = parseConfig(yaml, 'test.yaml', { env: {} });
  service = await createService(config, { logger: silentLogger, commandIntake: false, instanceName: 'confmgr@test' });
  await service.start();
  base = service.http!.url;
  await pollUntil('node up', () => service.cluster.node('fs1').state === 'up');
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.terminate();
  await service?.stop('test done');
  await sim?.close();
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createChannel();
  await ch.deleteExchange(exchange).catch(() => undefined);
  await conn.close();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('API over the simulator', () => {
  it('documents applied, realtime view, actions, conferencecalls, WebSocket events, 503', async () => {
    // A document: members join muted (seed default), moderators join deaf; no tones (keeps the event stream short).
    const put = await http('PUT', `/v2/accounts/${A}/conferences`, {
      data: { id: 'room', name: 'Room', moderator: { join_deaf: true }, play_entry_tone: false, play_exit_tone: false },
    });
    expect(put.status).toBe(201);

    // A WebSocket client subscribed to the account.
    const ws = new WebSocket(`${base.replace('http', 'ws')}/v2/websocket`, { headers: { 'x-auth-token': TOKEN } });
    sockets.push(ws);
    const received: any[] = [];
    ws.on('message', (d) => received.push(JSON.parse(d.toString())));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ action: 'subscribe', account_id: A, request_id: 's1' }));
    await pollUntil('subscribe reply', () => received.find((m) => m.request_id === 's1'));

    const vars = { 'ecallmgr_Account-ID': A };
    const mod = sim.engine.originate({ conference: 'room', moderator: true, callerIdNumber: '1001', callerIdName: 'Moderator', vars });
    const alice = sim.engine.originate({ conference: 'room', callerIdNumber: '1002', callerIdName: 'Alice', vars });

    // The document was enforced through real conference commands: Alice muted, the moderator deaf.
    await pollUntil('enforcement', () => {
      const members = sim.engine.conferences().find((c) => c.name === 'room')?.members ?? [];
      const a = members.find((m) => m.id === alice.member.id);
      const m = members.find((x) => x.id === mod.member.id);
      return a && m && !a.canSpeak && a.canHear && !m.canHear && m.canSpeak;
    });

    // The realtime view.
    const got = await pollUntil('read-only view', async () => {
      const r = await http('GET', `/v2/accounts/${A}/conferences/room`);
      const ro = r.body?.data?._read_only;
      return ro?.members === 1 && ro?.admins === 1 && ro.participants.find((p: any) => p.participant_id === alice.member.id)?.speak === false ? r : undefined;
    });
    // `focus` is the node's name (config http.focus defaults to node_name, as Kazoo's names the node), not the switchname `vm`.
    expect(got.body.data.focus).toBe('fs1');
    expect(got.body.data._read_only.participants.map((p: any) => p.call_id).sort()).toEqual([mod.member.callId, alice.member.callId].sort());

    // WebSocket: the AMQP payloads, with the account from the channel variables.
    const add = await pollUntil('ws add-member', () => received.find((m) => m.event === 'add-member' && m.call_id === alice.member.callId));
    expect(add).toMatchObject({ event_name: 'participant_event', conference_id: 'room', participant_id: alice.member.id, custom_channel_vars: { account_id: A } });
    await pollUntil('ws mute-member', () => received.find((m) => m.event === 'mute-member' && m.participant_id === alice.member.id));

    // Conference action: lock.
    expect((await http('PUT', `/v2/accounts/${A}/conferences/room`, { data: { action: 'lock' } })).status).toBe(202);
    await pollUntil('locked', async () => ((await http('GET', `/v2/accounts/${A}/conferences`)).body.data[0]?.is_locked === true ? true : undefined));
    expect(sim.engine.conferences().find((c) => c.name === 'room')?.locked).toBe(true);
    expect((await http('PUT', `/v2/accounts/${A}/conferences/room`, { data: { action: 'unlock' } })).status).toBe(202);

    // Bulk unmute (non-moderators), then one participant deafened.
    expect((await http('PUT', `/v2/accounts/${A}/conferences/room/participants`, { data: { action: 'unmute' } })).status).toBe(202);
    await pollUntil('alice unmuted', () => sim.engine.conferences()[0]?.members.find((m) => m.id === alice.member.id)?.canSpeak);
    expect((await http('PUT', `/v2/accounts/${A}/conferences/room/participants/${alice.member.id}`, { data: { action: 'deaf' } })).status).toBe(202);
    await pollUntil('alice deaf', () => sim.engine.conferences()[0]?.members.find((m) => m.id === alice.member.id)?.canHear === false);
    expect((await http('PUT', `/v2/accounts/${A}/conferences/room/participants/999`, { data: { action: 'kick' } })).status).toBe(404);

    // Conferencecalls: DELETE → leaving → leaved when FreeSWITCH's del-member arrives.
    const list = await pollUntil('records', async () => {
      const r = await http('GET', '/conferencecalls?conference_id=room');
      return r.body.result?.length === 2 ? r.body.result : undefined;
    });
    const rec = list.find((r: any) => r.reference_id === alice.member.callId);
    expect(rec).toMatchObject({ customer_id: A, conference_id: 'room', reference_type: 'call', status: 'joined' });
    const del = await http('DELETE', `/conferencecalls/${rec.id}`);
    expect(del.status).toBe(200);
    expect(del.body.status).toBe('leaving');
    await pollUntil('leaved', async () => ((await http('GET', `/conferencecalls/${rec.id}`)).body.status === 'leaved' ? true : undefined));
    expect(sim.engine.conferences()[0]?.members.map((m) => m.id)).toEqual([mod.member.id]);
    await pollUntil('ws del-member', () => received.find((m) => m.event === 'del-member' && m.call_id === alice.member.callId));

    // An undocumented conference is listed for the account its calls carry.
    sim.engine.originate({ conference: 'adhoc', callerIdNumber: '1003', vars });
    await pollUntil('adhoc listed', async () => {
      const r = await http('GET', `/v2/accounts/${A}/conferences`);
      return r.body.data.find((c: any) => c.id === 'adhoc' && c.members === 1) ? true : undefined;
    });

    // The node goes away: actions on its conferences are 503.
    await sim.close();
    await pollUntil('node down', () => service.cluster.node('fs1').state !== 'up');
    const down = await http('PUT', `/v2/accounts/${A}/conferences/room`, { data: { action: 'lock' } });
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'error', error: '503' });
  }, 60_000);
});
