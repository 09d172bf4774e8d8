/**
 * Black-box (separate `confmgr start` processes, a scripted FreeSWITCH, the real RabbitMQ):
 * - /readyz requires each node connected AND its conference state synced (a node whose
 *   `conference json_list` keeps failing is stale: 503, the body says so per node);
 * - a second instance with the same config fails on http.listen before it touches the broker:
 *   exit 1, one clear line, no command consumed;
 * - the AMQP connection names say which instance they belong to.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AMQP_URL,
  configYaml,
  deleteBrokerObjects,
  eventually,
  freePort,
  localPortsTo,
  runCli,
  spawnCli,
  tempDir,
  uniq,
  writeConfig,
  type CliProcess,
} from '../helpers/acc-harness.js';
import { FakeFreeSwitch, STATUS_REPLY } from '../helpers/acc-fake-fs.js';
import { ACC_ACCOUNT, ACC_TOKEN } from '../helpers/acc-rig.js';

const run = promisify(execFile);

let fake: FakeFreeSwitch;
let svc: CliProcess | undefined;
let configFile = '';
let base = '';
const tmp = tempDir('confmgr-ops-');
const exchange = uniq('ops-ex');
const commandQueue = uniq('ops-cmd');
/** What `conference json_list` answers: broken until the test repairs it. */
let jsonList = 'this is not JSON\n';

beforeAll(async () => {
  fake = new FakeFreeSwitch((cmd) => {
    if (cmd === 'status') return STATUS_REPLY;
    if (cmd === 'conference json_list') return jsonList;
    return `-ERR ${cmd.split(' ')[0]} Command not found!\n`;
  });
  const eslPort = await fake.listen();
  const httpPort = await freePort();
  base = `http://127.0.0.1:${httpPort}`;
  configFile = writeConfig(
    tmp.dir,
    'confmgr.yaml',
    configYaml({ eslPort, httpPort, exchange, commandQueue, dataDir: tmp.dir, token: ACC_TOKEN, account: ACC_ACCOUNT }),
  );
  svc = spawnCli(['start', '--config', configFile]);
}, 30_000);

afterAll(async () => {
  await svc?.stop();
  await fake.close();
  await deleteBrokerObjects(exchange, [commandQueue]);
  tmp.remove();
}, 30_000);

async function readyz(): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${base}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe('a running service, seen from outside', () => {
  it('/readyz is 503 while the node is connected but its state cannot be synced, 200 once it is', async () => {
    // Connected, broker connected, json_list failing (retried every 2 s).
    const stale = await eventually(async () => {
      const r = await readyz();
      return r.body.broker?.connected === true && r.body.nodes?.fs1?.up === true && r.body.nodes.fs1.sync === 'stale' ? r : undefined;
    }, 30_000, 'node up, broker connected, state stale');
    expect(stale.status).toBe(503);
    expect(stale.body).toMatchObject({ status: 'not_ready', ready: false, nodes: { fs1: { state: 'up', up: true, sync: 'stale', ready: false } } });
    // still not ready a retry later
    await new Promise((r) => setTimeout(r, 2500));
    expect((await readyz()).status).toBe(503);

    jsonList = '-ERR no reply\n'; // what 1.10 answers with no conference
    const ready = await eventually(async () => {
      const r = await readyz();
      return r.status === 200 ? r : undefined;
    }, 20_000, 'readyz 200 once synced');
    expect(ready.body.nodes.fs1).toEqual({ state: 'up', up: true, sync: 'synced', ready: true });
  }, 60_000);

  it('names its AMQP connections after the instance', async () => {
    const pid = svc!.child.pid!;
    await eventually(() => /AMQP command intake consuming/.test(svc!.output), 20_000, 'intake consuming');
    const ours = new Set(localPortsTo(pid, 5672).map((p) => `127.0.0.1:${p} -> 127.0.0.1:5672`));
    const { stdout } = await run('rabbitmqctl', ['list_connections', '-q', 'name', 'client_properties'], { timeout: 60_000 });
    const names = stdout
      .split('\n')
      .filter((l) => ours.has(l.split('\t')[0]!.trim()))
      .map((l) => /\{"connection_name","([^"]*)"\}/.exec(l)?.[1])
      .sort();
    expect(names).toEqual([
      expect.stringMatching(/^confmgr-commands \(confmgr@[^)]+\)$/),
      expect.stringMatching(/^confmgr-publisher \(confmgr@[^)]+\)$/),
    ]);
  }, 60_000);

  it('a second instance with the same config exits 1 on http.listen, having consumed nothing', async () => {
    await eventually(async () => (await readyz()).status === 200, 20_000, 'first instance ready');
    const second = await runCli(['start', '--config', configFile], { timeoutMs: 30_000 });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/confmgr: start failed: cannot listen on 127\.0\.0\.1:\d+ \(http\.listen\): the address is already in use.*\[HTTP_LISTEN_FAILED\]/);
    // Neither the broker nor FreeSWITCH was contacted: nothing consumed, nothing published.
    expect(second.stdout).not.toMatch(/AMQP command intake consuming|AMQP publisher connected|connection ready/);
    const conn = await amqp.connect(AMQP_URL);
    try {
      const ch = await conn.createChannel();
      expect((await ch.checkQueue(commandQueue)).consumerCount).toBe(1);
    } finally {
      await conn.close();
    }
    expect(svc!.running).toBe(true);
    expect((await readyz()).status).toBe(200);
  }, 60_000);
});
