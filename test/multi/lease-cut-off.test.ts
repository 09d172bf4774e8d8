/**
 * A standby pair where the active's host is cut off from RabbitMQ (every byte between them stops, no
 * connection is closed): the broker notices the lease connection's missed heartbeats, the standby
 * takes over within 5 s and publishes everything the active had not got through; nothing lost, and
 * nothing doubled while the active stays cut off. Real `confmgr start` processes, the simulator, the
 * real RabbitMQ behind a TCP proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, sleep } from '../helpers/acc-harness.js';
import { TcpProxy } from '../helpers/rel-proxy.js';
import { HaRig } from './ha-rig.js';

const rig = new HaRig();
let proxy: TcpProxy | undefined;
beforeAll(() => rig.open(), 60_000);
afterAll(async () => {
  await rig.close();
  await proxy?.close();
}, 60_000);

describe('a standby pair, the active cut off from the broker', () => {
  it('the standby takes over within 5 s; no event lost or doubled', async () => {
    proxy = await TcpProxy.start(Number(new URL(process.env.AMQP_URL ?? 'amqp://127.0.0.1:5672').port || 5672));
    const x = await rig.startInstance('confmgrx', undefined, proxy.port);
    await x.waitForOutput(/lease acquired: active for node/, 15_000);
    await rig.startInstance('confmgrz');
    await sleep(1500);

    const stream = rig.stream();
    await sleep(3000);
    const cutAt = Date.now();
    proxy.pause();
    const zFirst = await eventually(() => rig.firstBy('confmgrz', cutAt), 10_000, 'the standby publishing');
    const takeoverMs = zFirst.at - cutAt;

    await sleep(2000);
    await stream.stop();
    await sleep(500);
    const expected = rig.sentBySimulator().length;
    await eventually(() => new Set(rig.published.map((p) => p.id)).size >= expected, 15_000, 'every event published').catch(() => undefined);
    await sleep(1000);
    const { sent, lost, doubled, extra } = rig.audit();
    console.log(`active cut off from the broker: ${sent} events; takeover ${takeoverMs} ms; lost ${lost.length}, doubled ${doubled.length}`);
    expect(sent).toBeGreaterThan(1000);
    expect(lost).toEqual([]);
    expect(doubled).toEqual([]);
    expect(extra).toEqual([]);
    expect(takeoverMs).toBeLessThan(5000);
  }, 120_000);
});
