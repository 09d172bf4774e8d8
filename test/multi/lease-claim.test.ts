/**
 * Who claims a free lease (real RabbitMQ, NodeLeases alone): the instance whose hold of the node's
 * events reaches back to the last published event, not whichever contends first; a joiner whose hold
 * starts later waits, and takes the node only once no such instance is left (or, after FREE_ROUNDS,
 * when the one the order names never takes it).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import amqp from 'amqplib';
import YAML from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeLeases } from '../../src/bus/node-lease.js';
import type { Published, Reach } from '../../src/bus/lease-balance.js';
import { AMQP_URL, deleteAll, uniqueName } from '../helpers/bus-amqp.js';
import { pollUntil } from '../helpers/wait.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

const RETRY_MS = 200;

type HoldView = NonNullable<ConstructorParameters<typeof NodeLeases>[0]['holdView']>;

function leaseWith(exchange: string, holdView: HoldView): NodeLeases {
  const l = new NodeLeases({ url: AMQP_URL, exchange, connectionName: uniqueName('t-claim'), retryMs: RETRY_MS, reconnect: { baseMs: 50, capMs: 200 }, holdView });
  cleanups.push(() => l.close());
  return l;
}

/** An instance whose hold of `node` reaches back to `reach`, having seen `published` as the last event published. */
function lease(exchange: string, node: string, reach: Reach | undefined, published: Published | undefined): NodeLeases {
  return leaseWith(exchange, { reach: (n) => (n === node ? reach : undefined), published: (n) => (n === node ? published : undefined) });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('claiming a free lease (real RabbitMQ)', () => {
  it('goes to the hold that reaches back to the last published event, though a joiner contends first', async () => {
    const exchange = uniqueName('t-claim');
    cleanups.push(() => deleteAll([exchange, `${exchange}.presence`]));
    const node = uniqueName('fs');
    const last = { core: 'c1', sequence: 139 };
    const joiner = lease(exchange, node, { core: 'c1', from: 159 }, undefined); // has not seen what was published
    const old = lease(exchange, node, { core: 'c1', from: 80 }, last);
    await Promise.all([joiner.start(), old.start()]);
    joiner.contend(node);
    await sleep(50);
    old.contend(node);
    await pollUntil('the old hold active', () => old.isServing(node), 5000);
    await sleep(6 * RETRY_MS);
    expect(joiner.state(node)).toBe('standby');
    expect(joiner.takeoverCount()).toBe(0);

    // Gone: the joiner is the only one left, and claims the node.
    await old.close();
    await pollUntil('the joiner active', () => joiner.isServing(node), 5000);
  });

  it('claims anyway a node the named instance leaves free for several rounds', async () => {
    const exchange = uniqueName('t-claim');
    cleanups.push(() => deleteAll([exchange, `${exchange}.presence`]));
    const node = uniqueName('fs');
    const joiner = lease(exchange, node, { core: 'c1', from: 159 }, { core: 'c1', sequence: 139 });
    // A peer that says its hold reaches back, and never takes the lease.
    const conn = await amqp.connect(AMQP_URL);
    cleanups.push(() => conn.close());
    const ch = await conn.createChannel();
    await ch.assertExchange(`${exchange}.presence`, 'fanout', { durable: false, autoDelete: true });
    const announce = (): boolean =>
      ch.publish(`${exchange}.presence`, '', Buffer.from(JSON.stringify({ id: '0-liar', held: 0, ready: [node], holds: [], reach: { [node]: ['c1', 1] } })));
    const timer = setInterval(announce, RETRY_MS / 2);
    cleanups.push(async () => clearInterval(timer));
    await joiner.start();
    const t0 = Date.now();
    joiner.contend(node);
    await sleep(2 * RETRY_MS);
    expect(joiner.isServing(node)).toBe(false); // waiting for the better one
    await pollUntil('the joiner active', () => joiner.isServing(node), 5000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4 * RETRY_MS);
  });

  it('balances two ready instances: one node each', async () => {
    const exchange = uniqueName('t-claim');
    cleanups.push(() => deleteAll([exchange, `${exchange}.presence`]));
    const nodes = [uniqueName('fsA'), uniqueName('fsB')];
    const make = (from: number): NodeLeases => leaseWith(exchange, { reach: () => ({ core: 'c1', from }), published: () => undefined });
    const a = make(10);
    const b = make(20);
    await Promise.all([a.start(), b.start()]);
    for (const n of nodes) {
      a.contend(n);
      b.contend(n);
    }
    await pollUntil('one node each', () => nodes.filter((n) => a.isServing(n)).length === 1 && nodes.filter((n) => b.isServing(n)).length === 1, 10_000);
  });

  it('announces what docs/asyncapi.yaml says a lease presence message is', async () => {
    const exchange = uniqueName('t-claim');
    cleanups.push(() => deleteAll([exchange, `${exchange}.presence`]));
    const node = uniqueName('fs');
    const doc = YAML.parse(readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'asyncapi.yaml'), 'utf8'));
    const inline = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(inline)
        : v !== null && typeof v === 'object'
          ? '$ref' in v
            ? inline(String((v as { $ref: string }).$ref).slice(2).split('/').reduce((n: any, k) => n[k], doc))
            : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, inline(x)]))
          : v;
    const validate = new Ajv({ strict: true, strictTypes: false, allowUnionTypes: true }).compile(inline(doc.components.messages['lease.presence'].payload) as object);
    const l = lease(exchange, node, { core: 'c1', from: 80 }, { core: 'c1', sequence: 139 });
    await l.start();
    l.contend(node);
    await pollUntil('active', () => l.isServing(node), 5000);
    const conn = await amqp.connect(AMQP_URL);
    cleanups.push(() => conn.close());
    const ch = await conn.createChannel();
    const q = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(q.queue, `${exchange}.presence`, '');
    const seen: unknown[] = [];
    await ch.consume(q.queue, (m) => m && seen.push(JSON.parse(m.content.toString())), { noAck: true });
    await pollUntil('a presence message', () => seen.length > 0, 5000);
    expect(seen[0]).toMatchObject({ held: 1, ready: [node], holds: [node], reach: { [node]: ['c1', 80] }, published: { [node]: ['c1', 139] } });
    expect(validate(seen[0]), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...(seen[0] as object), reach: { [node]: ['c1'] } })).toBe(false);
  });
});
