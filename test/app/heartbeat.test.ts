/**
 * The event connection's silence watchdog: FreeSWITCH's HEARTBEAT interval is configurable
 * (event-heartbeat-interval), so a quiet switch with a long interval must not have a healthy event
 * connection replaced while its `api status` probes are answered. Timeout configurable
 * (freeswitch.heartbeat_timeout_ms).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EslNodePool } from '../../src/esl/pool.js';
import type { NodeConfig } from '../../src/esl/types.js';
import { parseConfig } from '../../src/config/index.js';
import { nodeConfigsFrom } from '../../src/app/service.js';
import { startScriptedServer, type ScriptedEslServer } from '../helpers/scripted-esl-server.js';

const servers: ScriptedEslServer[] = [];
const pools: EslNodePool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close(200);
  for (const s of servers.splice(0)) await s.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function upPool(extra: Partial<NodeConfig>, hangStatus: () => boolean = () => false) {
  const server = await startScriptedServer({ onCommand: (cmd) => hangStatus() && cmd === 'api status' });
  servers.push(server);
  const pool = new EslNodePool({
    name: 'fs1',
    host: '127.0.0.1',
    port: server.port,
    password: 'ClueCon',
    commandConnections: 1,
    reconnect: { baseMs: 20, capMs: 100 },
    ...extra,
  });
  pools.push(pool);
  const downs: string[] = [];
  pool.on('down', (_n, reason) => downs.push(reason));
  pool.start();
  await pool.waitUntilUp(10_000);
  return { server, pool, downs };
}

describe('HEARTBEAT watchdog', () => {
  it('keeps a silent event connection whose liveness probes are answered', async () => {
    // No event at all for 5 watchdog periods; probes every 100 ms are answered.
    const { server, pool, downs } = await upPool({ heartbeatTimeoutMs: 400, livenessIntervalMs: 100, apiTimeoutMs: 2000 });
    const connections = server.connections.length;
    await sleep(2000);
    expect(downs).toEqual([]);
    expect(server.connections.length).toBe(connections);
    expect(pool.state).toBe('up');
  });

  it('still replaces it when the probes are not answered either', async () => {
    let hang = false;
    // The probe's own timeout is longer than the watchdog: the watchdog is what fires.
    const { server, downs } = await upPool({ heartbeatTimeoutMs: 400, livenessIntervalMs: 100, apiTimeoutMs: 5000 }, () => hang);
    const connections = server.connections.length;
    hang = true;
    const deadline = Date.now() + 10_000;
    while (downs.length === 0 && Date.now() < deadline) await sleep(50);
    expect(downs[0]).toMatch(/HEARTBEAT/);
    hang = false;
    while (server.connections.length <= connections && Date.now() < deadline) await sleep(50);
    expect(server.connections.length).toBeGreaterThan(connections);
  });
});

describe('config: freeswitch.heartbeat_timeout_ms', () => {
  const yaml = (extra = '') => `freeswitch:\n  nodes: [{name: fs1, host: 127.0.0.1, password: x}]\n${extra}`;
  it('defaults to 65 s (three of FreeSWITCH\'s default 20 s heartbeats), reaches the pool, 0 disables', () => {
    expect(nodeConfigsFrom(parseConfig(yaml(), 't'))[0]!.heartbeatTimeoutMs).toBe(65_000);
    expect(nodeConfigsFrom(parseConfig(yaml('  heartbeat_timeout_ms: 125000\n'), 't'))[0]!.heartbeatTimeoutMs).toBe(125_000);
    expect(nodeConfigsFrom(parseConfig(yaml('  heartbeat_timeout_ms: 0\n'), 't'))[0]!.heartbeatTimeoutMs).toBe(0);
    expect(() => parseConfig(yaml('  heartbeat_timeout_ms: -1\n'), 't')).toThrow(/freeswitch\.heartbeat_timeout_ms/);
  });
});
