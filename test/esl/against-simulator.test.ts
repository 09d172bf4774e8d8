/** The ESL pool against the FreeSWITCH simulator (src/simulator): end to end over real sockets. */
import { afterEach, describe, expect, it } from 'vitest';
import type { EslEvent } from '../../src/esl/codec.js';
import { EslNodePool } from '../../src/esl/pool.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';

let sim: Simulator | undefined;
let pool: EslNodePool | undefined;

afterEach(async () => {
  await pool?.close(200);
  await sim?.close();
  pool = undefined;
  sim = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('EslNodePool against the simulator', () => {
  it('comes up, runs commands, receives conference events, and resubscribes after a restart', async () => {
    sim = await startSimulator({ port: 0, heartbeatMs: 0 });
    pool = new EslNodePool({ name: 'sim', host: '127.0.0.1', port: sim.port, password: 'ClueCon', reconnect: { baseMs: 20, capMs: 100 }, livenessIntervalMs: 0 });
    const events: EslEvent[] = [];
    const log: string[] = [];
    pool.on('event', (_n, e) => events.push(e));
    pool.on('up', () => log.push('up'));
    pool.on('down', () => log.push('down'));
    pool.start();
    await pool.waitUntilUp();
    expect(await pool.api('conference list')).toMatch(/^\+OK No active conferences/);
    const reply = await pool.api('originate {origination_caller_id_number=1002,origination_caller_id_name=Alice}loopback/conf-simdemo/default &park()');
    expect(reply).toMatch(/^\+OK /);
    await until(() => events.some((e) => e.subclass === 'conference::maintenance' && e.headers['Action'] === 'add-member'));
    const job = await pool.bgapi('conference simdemo list');
    expect(job.body).toContain('Alice');
    await sim.restart({ downMs: 50 });
    await until(() => log.filter((l) => l === 'up').length === 2, 10_000);
    expect(log).toEqual(['up', 'down', 'up']);
    expect(await pool.api('conference list')).toMatch(/^\+OK No active conferences/);
  });
});
