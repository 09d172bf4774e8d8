/**
 * A standby pair where the active loses its Event Socket connection to the node while the standby
 * keeps its own: the active flushes and gives the lease up, the standby takes over; nothing lost or
 * doubled. Real `confmgr start` processes, the simulator, the real RabbitMQ.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CuttableProxy, eventually, freePort, sleep } from '../helpers/acc-harness.js';
import { HaRig } from './ha-rig.js';

const rig = new HaRig();
let proxy: CuttableProxy | undefined;
beforeAll(() => rig.open(), 60_000);
afterAll(async () => {
  await proxy?.cut();
  await rig.close();
}, 60_000);

describe('a standby pair, the active cut off from FreeSWITCH', () => {
  it('the standby that still reaches the node takes over within 5 s, no event lost or doubled', async () => {
    proxy = new CuttableProxy(await freePort(), rig.sim.port);
    await proxy.open();
    const x = await rig.startInstance('confmgrx', proxy.port);
    await x.waitForOutput(/lease acquired: active for node/, 15_000);
    await rig.startInstance('confmgrz');
    await sleep(1500);

    const stream = rig.stream();
    await sleep(3000);
    const cutAt = Date.now();
    await proxy.cut();
    const zFirst = await eventually(() => rig.firstBy('confmgrz', cutAt), 10_000, 'the standby publishing');
    const takeoverMs = zFirst.at - cutAt;
    await x.waitForOutput(/lease released/, 5_000);
    expect((await rig.readyz('confmgrz')).body.nodes[rig.node]).toMatchObject({ lease: 'active' });

    await sleep(2000);
    await stream.stop();
    await sleep(500);
    const expected = rig.sentBySimulator().length;
    await eventually(() => new Set(rig.published.map((p) => p.id)).size >= expected, 15_000, 'every event published').catch(() => undefined);
    await sleep(1000);
    const { sent, lost, doubled, extra } = rig.audit();
    console.log(`ESL loss on the active: ${sent} events; takeover ${takeoverMs} ms; lost ${lost.length}, doubled ${doubled.length}`);
    expect(sent).toBeGreaterThan(1000);
    expect(lost).toEqual([]);
    expect(doubled).toEqual([]);
    expect(extra).toEqual([]);
    expect(takeoverMs).toBeLessThan(5000);
  }, 120_000);
});
