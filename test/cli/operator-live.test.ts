// Operator commands against a real service (createService, as `confmgr start` builds it) and the
// simulator: the tables show FreeSWITCH's state and the actions reach FreeSWITCH.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { createService, type ServiceHandle } from '../../src/app/service.js';
import { runCli, type CliIo } from '../../src/cli/run.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { silentLogger } from '../../src/util/log.js';
import { pollUntil } from '../helpers/wait.js';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const suffix = randomBytes(4).toString('hex');
const exchange = `confmgr-oplive-${suffix}`;
const queue = `confmgr-oplive-${suffix}.commands`;
const TOKEN = 'live-token-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'confmgr-oplive-'));
let sim: Simulator;
let service: ServiceHandle;
let opts: string[];

function io(): CliIo & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', env: {}, out: (t: string) => void (o.stdout += t), err: (t: string) => void (o.stderr += t) };
  return o;
}

beforeAll(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0, password: 'pw', verboseEvents: true });
  const config = parseConfig(
    [
      'freeswitch:',
      `  nodes: [{name: fs1, host: 127.0.0.1, port: ${sim.port}, password: pw}]`,
      `amqp: {exchange: ${exchange}, command_queue: ${queue}}`,
      'http:',
      '  listen: 127.0.0.1:0',
      `  tokens: [{token: ${TOKEN}, account_id: acme}]`,
      `storage: {path: ${JSON.stringify(join(dir, 'c.sqlite'))}}`,
    ].join('\n'),
    'test',
    { env: { CONFMGR_AMQP__URL: AMQP_URL } },
  );
  service = await createService(config, { logger: silentLogger, instanceName: 'test' });
  await service.start();
  await pollUntil('service ready', () => service.readiness().ready && service.sync.state('fs1') === 'synced');
  opts = ['--url', service.http!.url, '--token', TOKEN, '--account', 'acme'];
  const vars = { 'ecallmgr_Account-ID': 'acme' };
  sim.engine.originate({ conference: 'room1', moderator: true, callerIdNumber: '1001', callerIdName: 'Moderator', vars });
  sim.engine.originate({ conference: 'room1', callerIdNumber: '1002', callerIdName: 'Alice', vars });
  await pollUntil('two participants in the registry', () => service.registry.participants('room1').length === 2);
}, 30_000);

afterAll(async () => {
  await service?.stop();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createChannel();
  await ch.deleteExchange(exchange).catch(() => undefined);
  await ch.deleteQueue(queue).catch(() => undefined);
  await conn.close();
});

describe('operator commands against a live service', () => {
  it('conferences and participants show what FreeSWITCH holds', async () => {
    const a = io();
    expect(await runCli(['conferences', ...opts], a)).toBe(0);
    expect(a.stdout).toMatch(/^room1\s+-\s+1\s+1\s+no\s+\d+s$/m);
    const b = io();
    expect(await runCli(['participants', 'room1', ...opts], b)).toBe(0);
    expect(b.stdout).toMatch(/^1\s+Moderator <1001>\s+yes\s+yes\s+yes/m);
    expect(b.stdout).toMatch(/^2\s+Alice <1002>\s+no\s+yes\s+yes/m);
  });

  it('mute and lock reach FreeSWITCH; errors come back with their code', async () => {
    const a = io();
    expect(await runCli(['mute', 'room1', '2', ...opts], a)).toBe(0);
    await pollUntil('Alice muted', () => service.registry.participant('room1', 2)?.speak === false);
    const b = io();
    expect(await runCli(['lock', 'room1', ...opts], b)).toBe(0);
    await pollUntil('room1 locked', () => service.registry.conference('room1')?.locked === true);
    const c = io();
    expect(await runCli(['participants', 'room1', ...opts], c)).toBe(0);
    expect(c.stdout).toMatch(/^2\s+Alice <1002>\s+no\s+no\s+yes/m);

    const d = io();
    expect(await runCli(['unmute', 'room1', '99', ...opts], d)).toBe(1);
    expect(d.stderr).toMatch(/MEMBER_NOT_FOUND/);
    const e = io();
    expect(await runCli(['participants', 'nosuchroom', ...opts], e)).toBe(1);
    expect(e.stderr).toMatch(/\[[A-Z_]+\]/);
  });

  it('the simulator answers what `confmgr simulate` serves (auth over the Event Socket)', async () => {
    const sock = connect(sim.port, '127.0.0.1');
    let data = '';
    sock.on('data', (c) => (data += c.toString()));
    await pollUntil('auth request', () => data.includes('auth/request'));
    sock.write('auth pw\n\n');
    await pollUntil('auth accepted', () => data.includes('+OK accepted'));
    sock.destroy();
  });
});
