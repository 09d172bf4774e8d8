/**
 * A standby pair, black-box: two real `confmgr start` processes (X, Z) list the same simulated
 * FreeSWITCH node with `ha.enabled`; a consumer on the real RabbitMQ counts every published event by
 * FreeSWITCH's identity (Core-UUID + Event-Sequence) against what the simulator really sent (an ESL
 * tap). In one steady talking stream: the active is SIGKILLed (the standby takes over within 5 s),
 * restarted (now the standby), then the new active gets SIGTERM (handover). Zero lost, zero doubled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, sleep } from '../helpers/acc-harness.js';
import { HaRig } from './ha-rig.js';

const rig = new HaRig();
beforeAll(() => rig.open(), 60_000);
afterAll(() => rig.close(), 60_000);

describe('a standby pair on one FreeSWITCH node', () => {
  it('SIGKILL of the active: the standby takes over within 5 s; SIGTERM hands over; no event lost or doubled', async () => {
    const node = rig.node;
    const x = await rig.startInstance('confmgrx');
    await x.waitForOutput(/lease acquired: active for node/, 15_000);
    const z = await rig.startInstance('confmgrz');
    await sleep(1500);
    expect(z.output).not.toMatch(/lease acquired/);
    // Both ready; each says what it is for the node.
    const zReady = await eventually(async () => {
      const r = await rig.readyz('confmgrz');
      return r.status === 200 ? r : undefined;
    }, 20_000, 'standby ready');
    expect(zReady.body.nodes[node]).toMatchObject({ lease: 'standby', ready: true });
    expect((await rig.readyz('confmgrx')).body.nodes[node]).toMatchObject({ lease: 'active', ready: true });

    // A steady stream until the test says stop, however long the instances take to start here.
    const stream = rig.stream();
    await sleep(3000);
    const killedAt = Date.now();
    x.kill('SIGKILL');
    const zFirst = await eventually(() => rig.firstBy('confmgrz', killedAt), 10_000, 'the standby publishing');
    const killTakeoverMs = zFirst.at - killedAt;
    const zMetrics = await rig.metrics('confmgrz');
    expect(zMetrics).toContain(`confmgr_node_active{node="${node}",state="active"} 1`);
    expect(zMetrics).toContain(`confmgr_node_takeovers_total{node="${node}"} 1`);
    expect(zMetrics).toMatch(new RegExp(`confmgr_node_takeover_seconds_count\\{node="${node}"\\} 1`));

    // X comes back: now the standby.
    await rig.startInstance('confmgrx');
    await sleep(1500);
    const termAt = Date.now();
    z.kill('SIGTERM');
    const xFirst = await eventually(() => rig.firstBy('confmgrx', termAt), 15_000, 'the restarted instance publishing');
    const termTakeoverMs = xFirst.at - termAt;

    await sleep(2000);
    await stream.stop();
    await sleep(500); // the tap's last frames
    const expected = rig.sentBySimulator().length;
    await eventually(() => new Set(rig.published.map((p) => p.id)).size >= expected, 15_000, 'every event published').catch(() => undefined);
    await sleep(1000);

    const { sent, lost, doubled, extra } = rig.audit();
    console.log(`standby pair: ${sent} events; SIGKILL takeover ${killTakeoverMs} ms, SIGTERM handover ${termTakeoverMs} ms; lost ${lost.length}, doubled ${doubled.length}`);
    expect(sent).toBeGreaterThan(1500);
    expect(lost).toEqual([]);
    expect(doubled).toEqual([]);
    expect(extra).toEqual([]);
    expect(killTakeoverMs).toBeLessThan(5000);
    expect(termTakeoverMs).toBeLessThan(5000);
    // Each instance published for its own stretch only.
    expect(rig.published.filter((p) => p.at < killedAt).every((p) => p.by.startsWith('confmgrx@'))).toBe(true);
  }, 120_000);
});
