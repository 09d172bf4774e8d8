import { afterEach, describe, expect, it } from 'vitest';
import { NodeLeases } from '../../src/bus/node-lease.js';
import { AMQP_URL, deleteAll, uniqueName } from '../helpers/bus-amqp.js';
import { pollUntil } from '../helpers/wait.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

describe('NodeLeases sharing one node list (real RabbitMQ)', () => {
  it('balances 3 nodes over the live instances as they join and leave, every node served once', async () => {
    const exchange = uniqueName('t-lease');
    cleanups.push(() => deleteAll([exchange, `${exchange}.presence`]));
    const nodes = [uniqueName('fsA'), uniqueName('fsB'), uniqueName('fsC')];
    const all: NodeLeases[] = [];
    const join = async (): Promise<NodeLeases> => {
      const l = new NodeLeases({ url: AMQP_URL, exchange, connectionName: uniqueName('t-bal'), retryMs: 200, reconnect: { baseMs: 50, capMs: 200 } });
      cleanups.push(() => l.close());
      all.push(l);
      await l.start();
      for (const n of nodes) l.contend(n);
      return l;
    };
    const held = (l: NodeLeases): number => nodes.filter((n) => l.isServing(n)).length;
    const layout = (): number[] => all.filter((l) => l.connected).map(held);
    const everyNodeOnce = (): boolean => nodes.every((n) => all.filter((l) => l.isServing(n)).length === 1);

    await join();
    await pollUntil('one instance holds all', () => layout().join() === '3');
    await join();
    await pollUntil('2 + 1', () => [...layout()].sort().join() === '1,2' && everyNodeOnce(), 10_000);
    const third = await join();
    await pollUntil('1 + 1 + 1', () => layout().join() === '1,1,1' && everyNodeOnce(), 10_000);
    // Stable: no lease moves once balanced.
    const before = all.map((l) => l.takeoverCount()).join();
    await new Promise((r) => setTimeout(r, 1500));
    expect(all.map((l) => l.takeoverCount()).join()).toBe(before);
    expect(layout()).toEqual([1, 1, 1]);

    await third.close();
    const t0 = Date.now();
    await pollUntil('every node served again', () => [...layout()].sort().join() === '1,2' && everyNodeOnce(), 10_000);
    expect(Date.now() - t0).toBeLessThan(5000);
  }, 60_000);

  it('gives a lease up only to a peer that contends for that node (resynced), never to one still connecting', async () => {
    const exchange = uniqueName('t-lease');
    cleanups.push(() => deleteAll([exchange, `${exchange}.presence`]));
    const [a, b] = [uniqueName('fsA'), uniqueName('fsB')];
    const make = (): NodeLeases => {
      const l = new NodeLeases({ url: AMQP_URL, exchange, connectionName: uniqueName('t-bal'), retryMs: 200, reconnect: { baseMs: 50, capMs: 200 } });
      cleanups.push(() => l.close());
      return l;
    };
    const x = make();
    await x.start();
    x.contend(a);
    x.contend(b);
    await pollUntil('x holds both', () => x.isServing(a) && x.isServing(b));
    const y = make();
    await y.start();
    // y is live (announces itself, holds nothing) but contends for no node yet: nothing is handed to it.
    await new Promise((r) => setTimeout(r, 1500));
    expect([x.isServing(a), x.isServing(b)]).toEqual([true, true]);
    y.contend(a);
    await pollUntil('y takes the node it is ready for', () => y.isServing(a) && !x.isServing(a), 5000);
    expect(x.isServing(b)).toBe(true);
  }, 30_000);
});
