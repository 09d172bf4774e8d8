/**
 * RabbitMQ's application stopped and started (`rabbitmqctl stop_app` / `start_app`) with the whole
 * service running, command intake on (simulator → createService → RabbitMQ). Serial phase only: it
 * stops the broker for everyone.
 * Expectation: the intake reconnects by itself and answers commands again; the dead-letter queue
 * (durable) and its message (persistent) survive; the events produced meanwhile reach the consumer's durable queue.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestConsumer, rabbitmqctl, uniqueName } from '../helpers/bus-amqp.js';
import { recordProduced, startRelRig, steadyLoad, waitUntil, type RelRig } from '../helpers/rel-service.js';
import { CommandClient } from './amqp-command-client.js';

let rig: RelRig | undefined;
const closers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  // Whatever happened, the broker must be running for the tests after this one.
  await rabbitmqctl('start_app').catch(() => undefined);
  await rabbitmqctl('await_startup').catch(() => undefined);
  for (const c of closers.splice(0)) await c.close().catch(() => undefined);
  await rig?.close();
  rig = undefined;
}, 120_000);

describe('RabbitMQ stop_app/start_app with the command intake running (end to end)', () => {
  it('commands answered after the broker is back, the dead-letter queue kept, no event lost', async () => {
    rig = await startRelRig({ commandIntake: true, amqpReconnect: { baseMs: 100, capMs: 1000 } });
    const { sim, service } = rig;
    const intake = service.intake!;
    const eventsQueue = uniqueName('rel-ci-restart-q');
    const firstConsumer = await TestConsumer.create(rig.exchange, 'conference.event.#', eventsQueue);
    closers.push(firstConsumer);
    const members = [1, 2, 3].map((i) => sim.engine.originate({ conference: 'rel-cr', callerIdNumber: `80${i}` }).member);
    await waitUntil('3 members and the intake connected', () => service.registry.participants('rel-cr').length === 3 && intake.stats().connected, 15_000);
    const canSpeak = (id: number) => sim.engine.conferences().find((c) => c.name === 'rel-cr')!.members.find((m) => m.id === id)!.canSpeak;
    const dead = `${rig.commandQueue}.dead`;

    const before = await CommandClient.create(rig.exchange);
    closers.push(before);
    expect(await before.send('rel-cr', { command: { kind: 'mute', target: members[0]!.id } })).toMatchObject({ status: 'success' });
    before.publishRaw('rel-cr', '{not json');
    await waitUntil('the poison message dead-lettered', () => intake.stats().deadLettered === 1, 10_000);
    expect(await before.peek(dead)).toHaveLength(1);

    const produced = recordProduced(service);
    const load = steadyLoad(rig, new Map([['rel-cr', members.map((m) => m.id)]]), 50);
    let stoppedAt = 0;
    let startedAt = 0;
    try {
      await rabbitmqctl('stop_app');
      stoppedAt = Date.now();
      await waitUntil('intake and publisher to notice the broker is gone', () => !intake.stats().connected && !service.publisher.connected, 20_000);
      await rabbitmqctl('start_app');
      await rabbitmqctl('await_startup');
      startedAt = Date.now();
    } finally {
      await load.stop();
    }
    await waitUntil('intake reconnected', () => intake.stats().connected, 30_000);
    const reconnectedMs = Date.now() - startedAt;

    // A new client (the old one's connection and exclusive reply queue died with the broker).
    const after = await CommandClient.create(rig.exchange);
    closers.push(after);
    const replies = await Promise.all([
      after.send('rel-cr', { command: { kind: 'mute', target: members[1]!.id } }),
      after.send('rel-cr', { 'Application-Name': 'mute_participant', 'Conference-ID': 'rel-cr', 'Participant-ID': members[2]!.id }),
      after.send('rel-cr', { command: { kind: 'count' } }),
    ]);
    expect(replies.map((r) => r.status)).toEqual(['success', 'success', 'success']);
    expect(canSpeak(members[1]!.id)).toBe(false);
    expect(canSpeak(members[2]!.id)).toBe(false);

    // The dead-letter queue (durable) and its message (persistent) survived the restart.
    const deadAfter = await after.peek(dead);
    expect(deadAfter.map((m) => m.content.toString())).toEqual(['{not json']);
    expect(deadAfter[0]!.properties.headers?.['x-confmgr-reason']).toBe('not_json');

    // Events produced around the restart: all in the durable events queue (first arrival per message_id).
    expect(await service.publisher.flush(30_000)).toBe(true);
    expect(service.publisher.stats().dropped).toEqual({ overflow: 0, nacked: 0, shutdown: 0 });
    await firstConsumer.connection.close().catch(() => undefined);
    const second = await TestConsumer.create(rig.exchange, 'conference.event.#', eventsQueue);
    closers.push(second);
    const ids = [...produced.values()].flat();
    const got = () => new Set([...firstConsumer.received, ...second.received].map((m) => String(m.msg.properties.messageId)));
    await waitUntil('every produced event at the consumer', () => ids.every((id) => got().has(id)), 30_000);
    console.log(
      `stop_app/start_app with the intake: broker down ${startedAt - stoppedAt} ms, intake reconnected ${reconnectedMs} ms after start_app; ` +
        `3 commands answered after; dead-letter message kept; ${ids.length} events produced, all delivered`,
    );
  }, 120_000);
});
