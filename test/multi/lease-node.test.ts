import amqp from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeLeases, leaseQueueName } from '../../src/bus/node-lease.js';
import { CORE_HEADER, NODE_HEADER, SEQUENCE_HEADER } from '../../src/bus/node-gate.js';
import { AMQP_URL, closeConnectionsNamed, deleteAll, uniqueName } from '../helpers/bus-amqp.js';
import { pollUntil } from '../helpers/wait.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

function lease(exchange: string, name: string, extra: Partial<ConstructorParameters<typeof NodeLeases>[0]> = {}): NodeLeases {
  const l = new NodeLeases({ url: AMQP_URL, exchange, connectionName: name, retryMs: 200, reconnect: { baseMs: 50, capMs: 200 }, ...extra });
  cleanups.push(() => l.close());
  return l;
}

describe('NodeLeases (real RabbitMQ)', () => {
  it('gives a node to exactly one of two instances; the other takes over when the holder withdraws', async () => {
    const exchange = uniqueName('t-lease');
    cleanups.push(() => deleteAll([exchange]));
    const node = uniqueName('fs');
    const x = lease(exchange, uniqueName('t-x'));
    const z = lease(exchange, uniqueName('t-z'));
    await Promise.all([x.start(), z.start()]);
    let changes = 0;
    z.onChange(() => changes++);
    x.contend(node);
    await pollUntil('x active', () => x.isServing(node));
    z.contend(node);
    await new Promise((r) => setTimeout(r, 600)); // three retries: still standby
    expect([x.state(node), z.state(node)]).toEqual(['active', 'standby']);
    const t0 = Date.now();
    await x.withdraw(node);
    expect(x.isServing(node)).toBe(false);
    await pollUntil('z active', () => z.isServing(node));
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(changes).toBe(1);
    expect(z.takeoverCount()).toBe(1);
    expect(x.state(node)).toBe('unreachable');
  });

  it('loses the lease with its broker connection, and a standby takes it within the retry period', async () => {
    const exchange = uniqueName('t-lease');
    cleanups.push(() => deleteAll([exchange]));
    const node = uniqueName('fs');
    const xName = uniqueName('t-x');
    // x reconnects slowly: otherwise it may win its lease back before z's next try (also correct);
    // under a loaded suite z's retry and takeover steps can take seconds, hence well above the 5 s wait.
    const x = lease(exchange, xName, { reconnect: { baseMs: 7000, capMs: 7000 } });
    const z = lease(exchange, uniqueName('t-z'));
    await Promise.all([x.start(), z.start()]);
    x.contend(node);
    await pollUntil('x active', () => x.isServing(node));
    z.contend(node);
    expect(await closeConnectionsNamed(xName)).toBe(1);
    await pollUntil('z active', () => z.isServing(node), 5000);
    await pollUntil('x reconnected', () => x.connected, 20_000);
    await new Promise((r) => setTimeout(r, 600));
    expect(x.isServing(node)).toBe(false); // reconnected, now the standby
  });

  it('runs the takeover step before the node counts as served', async () => {
    const exchange = uniqueName('t-lease');
    cleanups.push(() => deleteAll([exchange]));
    const node = uniqueName('fs');
    const steps: string[] = [];
    const x = lease(exchange, uniqueName('t-x'), {
      onAcquired: async (n) => {
        steps.push(`acquired ${n} serving=${x.isServing(n)}`);
        await new Promise((r) => setTimeout(r, 100));
      },
    });
    x.onChange(() => steps.push(`serving=${x.isServing(node)}`));
    await x.start();
    x.contend(node);
    await pollUntil('x active', () => x.isServing(node));
    expect(steps).toEqual([`acquired ${node} serving=false`, 'serving=true']);
    await x.close();
    const c = await amqp.connect(AMQP_URL);
    cleanups.push(() => c.close());
    const ch = await c.createChannel();
    ch.on('error', () => undefined);
    // Released on close: the queue is gone.
    await expect(ch.checkQueue(leaseQueueName(node))).rejects.toMatchObject({ code: 404 });
  });

  it('no longer holds a lease whose connection dropped during the takeover step', async () => {
    const exchange = uniqueName('t-lease');
    cleanups.push(() => deleteAll([exchange]));
    const node = uniqueName('fs');
    const name = uniqueName('t-x');
    const seen: boolean[] = [];
    const x = lease(exchange, name, {
      reconnect: { baseMs: 5000, capMs: 5000 },
      onAcquired: async (n) => {
        seen.push(x.holds(n));
        await closeConnectionsNamed(name);
        await pollUntil('x disconnected', () => !x.connected, 5000);
        seen.push(x.holds(n));
      },
    });
    await x.start();
    x.contend(node);
    await pollUntil('takeover step done', () => seen.length === 2, 10_000);
    expect(seen).toEqual([true, false]);
    expect(x.isServing(node)).toBe(false);
  });

  it('a fence resolves once everything the broker took before it is read back', async () => {
    const exchange = uniqueName('t-lease');
    cleanups.push(() => deleteAll([exchange]));
    let seen = 0;
    const x = lease(exchange, uniqueName('t-x'), { onPublished: () => seen++ });
    await x.start();
    const c = await amqp.connect(AMQP_URL);
    cleanups.push(() => c.close());
    const ch = await c.createConfirmChannel();
    const n = 5000;
    for (let i = 1; i <= n; i++) {
      ch.publish(exchange, 'conference.event.room.call', Buffer.from('{}'), { headers: { [NODE_HEADER]: 'A', [CORE_HEADER]: 'c1', [SEQUENCE_HEADER]: i } });
    }
    await ch.waitForConfirms();
    expect(await x.fence(10_000)).toBe(true);
    expect(seen).toBe(n);
    await x.close();
    expect(await x.fence(1000)).toBe(false); // no connection: nothing to wait for
  });

  it('reads back the identity of every event published on the exchange', async () => {
    const exchange = uniqueName('t-lease');
    cleanups.push(() => deleteAll([exchange]));
    const seen: string[] = [];
    const x = lease(exchange, uniqueName('t-x'), { onPublished: (n, core, seq) => seen.push(`${n}/${core}/${seq}`) });
    await x.start();
    const c = await amqp.connect(AMQP_URL);
    cleanups.push(() => c.close());
    const ch = await c.createChannel();
    ch.publish(exchange, 'conference.event.room.call', Buffer.from('{}'), { headers: { [NODE_HEADER]: 'A', [CORE_HEADER]: 'c1', [SEQUENCE_HEADER]: 42 } });
    ch.publish(exchange, 'conference.event.room.call', Buffer.from('{}')); // no identity: ignored
    ch.publish(exchange, 'conference.event.room.call', Buffer.from('{}'), { headers: { [NODE_HEADER]: 'A', [CORE_HEADER]: 'c1', [SEQUENCE_HEADER]: 43 } });
    await pollUntil('two seen', () => seen.length >= 2);
    expect(seen).toEqual(['A/c1/42', 'A/c1/43']);
  });
});
