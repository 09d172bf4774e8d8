/**
 * ClusterView on the real RabbitMQ: instances learn of each other, a gather returns as soon as every
 * live one answered, a silent one makes it partial, a goodbye is not waited for, and a forwarded
 * command goes on the conference's own routing key with its reply coming back.
 */
import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { ClusterView, type ClusterRequest } from '../../src/bus/cluster-view.js';
import { commandRoutingKey } from '../../src/bus/routing.js';
import { AMQP_URL, uniqueName } from '../helpers/bus-amqp.js';

const exchange = uniqueName('cv-ex');
const views: ClusterView[] = [];

function view(instance: string, answer: (r: ClusterRequest) => unknown, gatherMs = 400): ClusterView {
  const v = new ClusterView({ url: AMQP_URL, exchange, instanceName: instance, connectionName: `test-view (${instance})`, gatherMs, heartbeatMs: 200, forwardTimeoutMs: 2000, answer });
  views.push(v);
  return v;
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

afterAll(async () => {
  await Promise.all(views.map((v) => v.close()));
  const c = await amqp.connect(AMQP_URL);
  const ch = await c.createChannel();
  await ch.deleteExchange(exchange).catch(() => undefined);
  await c.close();
});

describe('ClusterView (real broker)', () => {
  it('alone: a gather waits for nobody', async () => {
    const solo = view('solo@test', () => 'never asked');
    await solo.start();
    const t = performance.now();
    expect(await solo.gather({ kind: 'nodes' })).toEqual({ answers: [], missing: [], partial: false });
    expect(performance.now() - t).toBeLessThan(100);
    await solo.close();
  });

  it('asks every other instance, returns once all answered, and says who stayed silent', async () => {
    const asked: ClusterRequest[] = [];
    const x = view('X@test', () => 'x-never');
    const y = view('Y@test', (r) => (asked.push(r), [{ node: 'fsB', from: 'Y' }]));
    const z = view('Z@test', (r) => (r.kind === 'nodes' ? [{ node: 'fsC', from: 'Z' }] : new Promise(() => undefined)));
    await Promise.all([x.start(), y.start(), z.start()]);
    await until(() => x.instances().length === 2);
    expect(x.instances()).toEqual(['Y@test', 'Z@test']);

    const t = performance.now();
    const nodes = await x.gather<Array<{ node: string }>>({ kind: 'nodes' });
    expect(performance.now() - t).toBeLessThan(300); // not the 400 ms deadline: both answered
    expect(nodes.partial).toBe(false);
    expect(nodes.answers.map((a) => a.instance).sort()).toEqual(['Y@test', 'Z@test']);
    expect(nodes.answers.flatMap((a) => a.data.map((n) => n.node)).sort()).toEqual(['fsB', 'fsC']);

    // Z never answers a conferences request: partial at the deadline, Z named.
    const list = await x.gather({ kind: 'conferences', account: 'acct1' });
    expect(list).toMatchObject({ partial: true, missing: ['Z@test'] });
    expect(list.answers.map((a) => a.instance)).toEqual(['Y@test']);
    expect(asked).toContainEqual({ kind: 'conferences', account: 'acct1' });

    // Z says goodbye: no longer waited for.
    await z.close();
    await until(() => x.instances().length === 1);
    expect(await x.gather({ kind: 'conferences', account: 'acct1' })).toMatchObject({ partial: false, missing: [] });
  });

  it('forward: sent on conference.command.<id> as confmgr\'s command with Account-ID; the reply comes back as sent', async () => {
    const c = await amqp.connect(AMQP_URL);
    const ch = await c.createChannel();
    await ch.assertExchange(exchange, 'topic', { durable: true });
    const q = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(q.queue, exchange, commandRoutingKey('room.1'));
    const seen: unknown[] = [];
    await ch.consume(q.queue, (msg) => {
      if (!msg) return;
      seen.push(JSON.parse(msg.content.toString()));
      ch.sendToQueue(msg.properties.replyTo as string, Buffer.from(JSON.stringify({ status: 'success', result: { command: 'conference room.1 lock', node: 'fsB', reply: '+OK' } })), {
        correlationId: msg.properties.correlationId as string,
      });
      ch.ack(msg);
    });
    const x = view('F@test', () => []);
    await x.start();
    const reply = await x.forward({ kind: 'lock', conference: 'room.1' }, 'acct1');
    expect(reply).toMatchObject({ status: 'success', result: { node: 'fsB' } });
    expect(seen).toEqual([{ command: { kind: 'lock', conference: 'room.1' }, 'Account-ID': 'acct1' }]);
    // Nobody bound for this one: no reply, TIMEOUT after forward_timeout_ms.
    await expect(x.forward({ kind: 'lock', conference: 'nobody' })).rejects.toMatchObject({ code: 'TIMEOUT' });
    await c.close();
  });
});
