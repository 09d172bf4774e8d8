/**
 * The records are part of the service, not of its API: with `http: false` or `api: false` the
 * conferencecall records are still kept — joined on add-member, `leaving` before a kick is sent,
 * `leaved` on del-member — and calls that left while confmgr was away are closed after the next
 * start's first resync. No broker is needed for any of it (the AMQP port here refuses connections).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { createService, type ServiceHandle, type ServiceOptions } from '../../src/app/service.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/util/log.js';
import { freePort } from '../helpers/ports.js';
import { pollUntil } from '../helpers/wait.js';

const VARS = { 'ecallmgr_Account-ID': 'acc_norecords' };

let dir: string;
let sim: Simulator;
let amqpPort: number;
const services: ServiceHandle[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'confmgr-records-'));
  sim = await startSimulator({ port: 0, heartbeatMs: 0, verboseEvents: true });
  amqpPort = await freePort();
});

afterEach(async () => {
  sim.hang(false);
  for (const s of services.splice(0)) await s.stop('test done');
});

afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function startService(file: string, options: ServiceOptions): Promise<ServiceHandle> {
  const config = parseConfig(
    [
      'freeswitch:',
      `  nodes: [{name: fs1, host: 127.0.0.1, port: ${sim.port}, password: ClueCon}]`,
      `amqp: {url: "amqp://guest:guest@127.0.0.1:${amqpPort}", flush_timeout_ms: 100, reconnect: {base_ms: 50, cap_ms: 200}}`,
      'http: {listen: "127.0.0.1:0"}',
      `storage: {path: ${JSON.stringify(join(dir, file))}}`,
    ].join('\n'),
    'test.yaml',
    { env: {} },
  );
  const service = await createService(config, { logger: silentLogger, commandIntake: false, ...options });
  services.push(service);
  await service.start();
  await pollUntil('fs1 synced', () => service.sync.state('fs1') === 'synced');
  return service;
}

async function statusOf(service: ServiceHandle, conference: string, callId: string): Promise<string | undefined> {
  const list = await service.storage.conferencecalls.list({ customerId: VARS['ecallmgr_Account-ID'], conferenceId: conference, pageSize: 100 });
  return list.find((r) => r.reference_id === callId)?.status;
}

describe('conferencecall records without the API', () => {
  it.each([
    ['http: false', { http: false }, 'no-http'],
    ['api: false', { api: false }, 'no-api'],
  ] as const)('%s: joined, leaving before the kick is sent, leaved', async (_label, options, conference) => {
    const service = await startService(`${conference}.sqlite`, options);
    if ('http' in options) expect(service.http).toBeUndefined();
    else expect((await fetch(`${service.http!.url}/v2/accounts/a/conferences`)).status).toBe(404);

    const call = sim.engine.originate({ conference, callerIdNumber: '100', vars: VARS });
    await pollUntil('record joined', async () => (await statusOf(service, conference, call.member.callId)) === 'joined');

    // FreeSWITCH holds its answer: only the executor's marking can have moved the record.
    sim.hang(true);
    const kicked = service.executor.execute({ kind: 'kick', conference, target: call.member.id });
    await pollUntil('record leaving', async () => (await statusOf(service, conference, call.member.callId)) === 'leaving');
    sim.hang(false);
    await kicked;
    await pollUntil('record leaved', async () => (await statusOf(service, conference, call.member.callId)) === 'leaved');
  }, 30_000);

  it('http: false: a call that left while confmgr was away is closed after the first resync', async () => {
    const first = await startService('away.sqlite', { http: false });
    const call = sim.engine.originate({ conference: 'away', callerIdNumber: '200', vars: VARS });
    const stays = sim.engine.originate({ conference: 'away', callerIdNumber: '201', vars: VARS });
    for (const c of [call, stays]) await pollUntil('record joined', async () => (await statusOf(first, 'away', c.member.callId)) === 'joined');
    await first.stop('restart');
    services.splice(services.indexOf(first), 1);

    expect(sim.engine.hangup(call.member.callId)).toBe(true);
    const second = await startService('away.sqlite', { http: false });
    await pollUntil('closed by reconcile', async () => (await statusOf(second, 'away', call.member.callId)) === 'leaved');
    await second.records.idle();
    expect(await statusOf(second, 'away', stays.member.callId)).toBe('joined');
  }, 30_000);
});
