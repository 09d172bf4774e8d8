/**
 * The console's test bench: the FreeSWITCH simulator + the real service (createService, configured
 * through parseConfig like `confmgr start`, real RabbitMQ) with the operator console on, and the
 * token/account the browser signs in with.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createService, type ServiceHandle } from '../../src/app/service.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/util/log.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { AMQP_URL, deleteAll, uniqueName } from '../helpers/bus-amqp.js';
import { pollUntil } from '../helpers/wait.js';

export const CONSOLE_ACCOUNT = 'console_acc';

export interface ConsoleRig {
  sim: Simulator;
  service: ServiceHandle;
  /** http://127.0.0.1:<port> */
  base: string;
  /** The console page. */
  url: string;
  token: string;
  account: string;
  /** Originate a call into `conference` on the simulator, attributed to the rig's account. */
  call(conference: string, who: { name: string; number: string; moderator?: boolean }): { id: number; callId: string };
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export interface ConsoleRigOptions {
  /** publish_participant_event (absent: every event). */
  publish?: string[];
  console?: boolean;
}

export async function startConsoleRig(options: ConsoleRigOptions = {}): Promise<ConsoleRig> {
  const dir = mkdtempSync(join(tmpdir(), 'confmgr-console-'));
  const sim = await startSimulator({ port: 0, verboseEvents: true, heartbeatMs: 0 });
  const token = `console-${randomBytes(12).toString('hex')}`;
  const exchange = uniqueName('t-console');
  const commandQueue = uniqueName('t-console-cmd');
  const config = parseConfig(
    [
      'freeswitch:',
      '  nodes:',
      `    - {name: fs1, host: 127.0.0.1, port: ${sim.port}, password: ClueCon}`,
      '  reconnect: {base_ms: 50, cap_ms: 200}',
      'amqp:',
      '  url_env: CONSOLE_AMQP_URL',
      `  exchange: ${exchange}`,
      `  command_queue: ${commandQueue}`,
      ...(options.publish ? [`publish_participant_event: [${options.publish.join(', ')}]`] : []),
      'http:',
      '  listen: 127.0.0.1:0',
      `  tokens: [{token: ${token}, account_id: ${CONSOLE_ACCOUNT}}]`,
      ...(options.console === false ? ['  console: false'] : []),
      'storage:',
      `  path: ${JSON.stringify(join(dir, 'confmgr.sqlite'))}`,
      'log: {level: silent}',
    ].join('\n'),
    'console-test',
    { env: { CONSOLE_AMQP_URL: AMQP_URL } },
  );
  const service = await createService(config, { logger: silentLogger, commandIntake: false, instanceName: 'confmgr-console-test' });
  await service.start();
  await pollUntil('the simulator synced', () => service.readiness().nodes.fs1?.ready === true, 20_000);
  const base = service.http!.url;
  const vars = { 'ecallmgr_Account-ID': CONSOLE_ACCOUNT };
  return {
    sim,
    service,
    base,
    url: `${base}/console/`,
    token,
    account: CONSOLE_ACCOUNT,
    call(conference, who) {
      const r = sim.engine.originate({ conference, callerIdName: who.name, callerIdNumber: who.number, moderator: who.moderator === true, vars });
      return r.member;
    },
    async api(method, path, body) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { 'x-auth-token': token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async close() {
      await service.stop('test done').catch(() => undefined);
      await sim.close().catch(() => undefined);
      await deleteAll([exchange], [commandQueue]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
