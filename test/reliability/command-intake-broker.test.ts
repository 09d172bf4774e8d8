/**
 * The command intake through the whole service (AMQP → createService's intake → executor → simulator →
 * reply) when RabbitMQ closes its connection (`rabbitmqctl close_connection`, as from the management
 * UI): only this rig's connections are closed (matched by name and by the peer port of its proxy's
 * upstream sockets). Commands published while the intake reconnects wait in the durable queue and are
 * answered; a poison message dead-lettered before the close is still in the dead-letter queue after it;
 * the publisher, closed at the same time, loses no event.
 * The whole-broker stop/start of the same path is in command-intake-restart.serial.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestConsumer, delay, rabbitmqctl } from '../helpers/bus-amqp.js';
import { recordProduced, startRelRig, waitUntil, type RelRig } from '../helpers/rel-service.js';
import { CommandClient } from './amqp-command-client.js';

const rigs: RelRig[] = [];
const closers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c.close();
  for (const r of rigs.splice(0)) await r.close();
});

/** Closes this rig's broker connections whose name starts with `prefix`; returns how many. */
async function closeOurs(rig: RelRig, prefix: string): Promise<number> {
  const ports = rig.amqpProxy!.upstreamLocalPorts();
  const { stdout } = await rabbitmqctl('list_connections', '-q', 'pid', 'peer_port', 'client_properties');
  let closed = 0;
  for (const line of stdout.split('\n')) {
    const [pid, port, props] = line.split('\t');
    if (!pid?.startsWith('<') || !ports.includes(Number(port))) continue;
    if (!props?.includes(`{"connection_name","${prefix}`)) continue;
    await rabbitmqctl('close_connection', pid, 'reliability test: management-initiated close');
    closed++;
  }
  return closed;
}

describe('the command intake connection closed by the broker (close_connection)', () => {
  it('commands are answered after it reconnects, also those sent meanwhile; the dead-letter queue keeps its message', async () => {
    const rig = await startRelRig({ commandIntake: true, amqpProxy: true, amqpReconnect: { baseMs: 100, capMs: 500 } });
    rigs.push(rig);
    const { sim, service } = rig;
    const consumer = await TestConsumer.create(rig.exchange, 'conference.event.#');
    closers.push(consumer);
    const client = await CommandClient.create(rig.exchange);
    closers.push(client);
    const members = [1, 2, 3].map((i) => sim.engine.originate({ conference: 'rel-ci', callerIdNumber: `70${i}` }).member);
    await waitUntil('3 members and the intake connected', () => service.registry.participants('rel-ci').length === 3 && service.intake!.stats().connected, 15_000);
    const produced = recordProduced(service);
    const canSpeak = (id: number) => sim.engine.conferences().find((c) => c.name === 'rel-ci')!.members.find((m) => m.id === id)!.canSpeak;

    // Before: a command is answered, a poison message is dead-lettered.
    expect(await client.send('rel-ci', { command: { kind: 'mute', target: members[0]!.id } })).toMatchObject({ status: 'success' });
    expect(canSpeak(members[0]!.id)).toBe(false);
    client.publishRaw('rel-ci', '{not json');
    const dead = `${rig.commandQueue}.dead`;
    await waitUntil('the poison message dead-lettered', () => service.intake!.stats().deadLettered === 1, 10_000);
    expect(await client.peek(dead)).toHaveLength(1);

    // Both of the service's connections closed by the broker, then commands sent at once (the intake
    // is reconnecting: they wait in the durable queue).
    expect(await closeOurs(rig, 'confmgr-publisher')).toBe(1);
    const connectsBefore = service.intake!.stats();
    expect(await closeOurs(rig, 'confmgr-commands')).toBe(1);
    const t0 = Date.now();
    const replies = await Promise.all([
      client.send('rel-ci', { command: { kind: 'mute', target: members[1]!.id } }),
      client.send('rel-ci', { 'Application-Name': 'mute_participant', 'Conference-ID': 'rel-ci', 'Participant-ID': members[2]!.id }),
      client.send('rel-ci', { command: { kind: 'count' } }),
    ]);
    const answeredMs = Date.now() - t0;
    expect(replies.map((r) => r.status)).toEqual(['success', 'success', 'success']);
    expect(canSpeak(members[1]!.id)).toBe(false);
    expect(canSpeak(members[2]!.id)).toBe(false);
    expect(service.intake!.stats().connected).toBe(true);
    expect(service.intake!.stats().received).toBe(connectsBefore.received + 3); // each command seen once

    // The dead-lettered message is still there, once; nothing else was dead-lettered by the close.
    const after = await client.peek(dead);
    expect(after.map((m) => m.content.toString())).toEqual(['{not json']);
    expect(after[0]!.properties.headers?.['x-confmgr-reason']).toBe('not_json');
    expect(service.intake!.stats().deadLettered).toBe(1);

    // And the mute events of the commands reached consumers: nothing lost across the publisher close.
    expect(await service.publisher.flush(20_000)).toBe(true);
    const ids = [...produced.values()].flat();
    await waitUntil('every event produced since the close at the consumer', () => {
      const got = new Set(consumer.received.map((m) => String(m.msg.properties.messageId)));
      return ids.every((id) => got.has(id));
    }, 20_000);
    expect(ids.length).toBeGreaterThanOrEqual(2); // the two mute-member events at least
    await delay(100);
    console.log(`close_connection of intake + publisher: 3 commands sent during the reconnect answered ${answeredMs} ms after the close; dead-letter queue kept its 1 message; ${ids.length} events delivered`);
  }, 60_000);
});
