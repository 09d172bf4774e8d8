/**
 * The entry service's refusals reach a real RabbitMQ consumer as `refuse-member` participant events
 * (locked, full, no valid PIN after the last try), filtered by publish_participant_event like the
 * others; and a document profile FreeSWITCH does not know joins as `default`. The simulator plays
 * FreeSWITCH on both sockets; confmgr runs its real service wiring.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { OutboundDialer, startSimulator, type Simulator } from '../../src/simulator/index.js';
import { createService, type ServiceHandle } from '../../src/app/service.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/util/log.js';
import { realtimeFromRegistry } from '../../src/records/index.js';
import { eventRoutingKey } from '../../src/bus/routing.js';
import { AMQP_URL, TestConsumer, deleteAll } from '../helpers/bus-amqp.js';
import { pollUntil } from '../helpers/wait.js';

const A = 'acc_refusal_a';
const TOKEN = `tok-${randomBytes(12).toString('hex')}`;
const exchange = `confmgr-refusal-sim-${randomBytes(4).toString('hex')}`;

let sim: Simulator;
let service: ServiceHandle;
let dialer: OutboundDialer;
let consumer: TestConsumer;

async function http(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${service.http!.url}${path}`, {
    method,
    headers: { 'x-auth-token': TOKEN, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function document(data: Record<string, unknown>): Promise<void> {
  const res = await http('PUT', `/v2/accounts/${A}/conferences`, { data });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

function member(conference: string, callId: string) {
  return sim.engine.conferences().find((c) => c.name === conference)?.members.find((m) => m.callId === callId);
}

const refusals = () => consumer.received.filter((r) => r.body.event === 'refuse-member');
const live = () => realtimeFromRegistry(service.registry);

beforeAll(async () => {
  sim = await startSimulator({ port: 0, verboseEvents: true, heartbeatMs: 0, fileDurationMs: 5 });
  consumer = await TestConsumer.create(exchange, 'conference.event.#');
  const config = parseConfig(
    `
freeswitch:
  nodes:
    - {name: fs1, host: 127.0.0.1, port: ${sim.port}, password: ClueCon}
  reconnect: {base_ms: 50, cap_ms: 200}
amqp: {url: "${AMQP_URL}", exchange: ${exchange}}
publish_participant_event: [add-member, del-member, refuse-member]
http:
  listen: 127.0.0.1:0
  tokens:
    - {token: ${TOKEN}, account_id: ${A}}
entry:
  listen: 127.0.0.1:0
  pin_timeout_ms: 1000
storage: {path: ":memory:"}
log: {level: silent}
`,
    'refusal.yaml',
    { env: {} },
  );
  service = await createService(config, { logger: silentLogger, commandIntake: false, instanceName: 'confmgr@refusal-test' });
  await service.start();
  await pollUntil('node up', () => service.cluster.node('fs1').state === 'up', 20_000);
  const socket = `127.0.0.1:${service.entry!.port} async full`;
  dialer = new OutboundDialer(sim.engine, { dialplan: Object.fromEntries(['8000', '8100', '8200', '8300', '8400'].map((n) => [n, socket])), playMs: 5, digitTimeoutMs: 20 });
  await document({ id: 'ref_pin', conference_numbers: ['8000'], member: { pins: ['1234'] } });
  await document({ id: 'ref_locked', conference_numbers: ['8100'], member: { join_muted: false } });
  await document({ id: 'ref_full', conference_numbers: ['8200'], max_members: 1 });
  await document({ id: 'ref_profile', conference_numbers: ['8300'], profile: 'no_such_profile', member: { join_muted: false } });
}, 60_000);

afterAll(async () => {
  await dialer?.close();
  await service?.stop('test done');
  await sim?.close();
  await consumer?.close();
  await deleteAll([exchange]);
}, 60_000);

describe('refusals on AMQP', () => {
  it('no valid PIN after the last try: refuse-member, reason pin_failed, CALL_REJECTED, on the call\'s routing key', async () => {
    const call = dialer.dial('8000', { callerIdNumber: '2001', callerIdName: 'Mallory', digits: ['1111', '2222', '3333'] });
    expect(await call.ended).toBe('CALL_REJECTED');
    const got = await pollUntil('pin refusal', () => refusals().find((r) => r.body.call_id === call.uuid));
    expect(got.routingKey).toBe(eventRoutingKey('ref_pin', call.uuid));
    expect(got.body).toMatchObject({
      event: 'refuse-member',
      reason: 'pin_failed',
      hangup_cause: 'CALL_REJECTED',
      conference_id: 'ref_pin',
      call_id: call.uuid,
      caller_id_number: '2001',
      caller_id_name: 'Mallory',
      destination_number: '8000',
      custom_channel_vars: { account_id: A },
      event_name: 'participant_event',
      event_category: 'conference',
      routing_key: 'participant_event',
      node: 'confmgr@refusal-test',
    });
    expect(got.body.msg_id).toMatch(/^[0-9a-f]{16}$/);
    expect(got.msg.properties.type).toBe('refuse-member');
    // The conferencecall record shows the attempt: joining, then leaved without ever joining.
    const record = await pollUntil('leaved record', async () =>
      (await service.storage.conferencecalls.list({ customerId: A, conferenceId: 'ref_pin', pageSize: 10 })).find((r) => r.reference_id === call.uuid && r.status === 'leaved'),
    );
    expect(record.member_id).toBeNull();
  });

  it('a locked conference: reason locked, FACILITY_REJECTED', async () => {
    const first = dialer.dial('8100', {});
    await pollUntil('first joined', () => member('ref_locked', first.uuid));
    sim.engine.executeApi('conference ref_locked lock');
    await pollUntil('registry sees the lock', () => live().conference('ref_locked')?.is_locked === true);
    const call = dialer.dial('8100', {});
    expect(await call.ended).toBe('FACILITY_REJECTED');
    const got = await pollUntil('locked refusal', () => refusals().find((r) => r.body.call_id === call.uuid));
    expect(got.body).toMatchObject({ reason: 'locked', hangup_cause: 'FACILITY_REJECTED', conference_id: 'ref_locked' });
    first.hangup();
    await first.ended;
  });

  it('a full conference: reason full, NORMAL_CIRCUIT_CONGESTION; with refuse-member filtered out, nothing is published', async () => {
    const first = dialer.dial('8200', {});
    await pollUntil('first joined', () => member('ref_full', first.uuid));
    await pollUntil('registry sees the member', () => (live().conference('ref_full')?.participants.length ?? 0) === 1);
    const call = dialer.dial('8200', {});
    expect(await call.ended).toBe('NORMAL_CIRCUIT_CONGESTION');
    const got = await pollUntil('full refusal', () => refusals().find((r) => r.body.call_id === call.uuid));
    expect(got.body).toMatchObject({ reason: 'full', hangup_cause: 'NORMAL_CIRCUIT_CONGESTION', conference_id: 'ref_full' });

    service.filter.update(['add-member', 'del-member']);
    try {
      const filteredBefore = service.publisher.stats().filtered;
      const again = dialer.dial('8200', {});
      expect(await again.ended).toBe('NORMAL_CIRCUIT_CONGESTION');
      await pollUntil('the refusal was filtered', () => service.publisher.stats().filtered > filteredBefore);
      // Something after it still arrives (the hangup of the first member), and no refusal for this call does.
      first.hangup();
      await first.ended;
      await pollUntil('del-member of the first', () => consumer.received.find((r) => r.body.event === 'del-member' && r.body.call_id === first.uuid));
      expect(refusals().find((r) => r.body.call_id === again.uuid)).toBeUndefined();
    } finally {
      service.filter.update(['add-member', 'del-member', 'refuse-member']);
    }
  });
});

describe('profile fallback', () => {
  it("a document profile FreeSWITCH does not know: the caller joins with `default` (asked with xml_locate on the call's socket)", async () => {
    const call = dialer.dial('8300', {});
    const m = await pollUntil('joined', () => member('ref_profile', call.uuid));
    expect(m).toBeDefined();
    expect(call.executed.find((x) => x.app === 'conference')?.arg).toBe('ref_profile@default');
    // Without the fallback mod_conference would have built the conference from its compiled-in defaults (profile "none").
    expect(sim.engine.conferences().find((c) => c.name === 'ref_profile')?.profile).toBe('default');
    call.hangup();
    await call.ended;
  });
});
