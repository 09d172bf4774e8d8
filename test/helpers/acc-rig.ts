/**
 * An acceptance rig made of separate OS processes: `confmgr simulate` + `confmgr start --config FILE`
 * (config written to a temp dir), plus an event tap on the exchange, an RPC client for AMQP commands
 * and a raw ESL client on the simulator. Unique ports, exchange, command queue and data dir per rig.
 */
import {
  CliProcess,
  CuttableProxy,
  EslClient,
  EventTap,
  RpcClient,
  configYaml,
  deleteBrokerObjects,
  eventually,
  freePort,
  spawnCli,
  startSimulatorProcess,
  tempDir,
  uniq,
  writeConfig,
  type AccConfigOptions,
} from './acc-harness.js';

export const ACC_TOKEN = 'acc-token-0123456789abcdef';
export const ACC_ACCOUNT = 'acme';

export interface AccRig {
  sim: CliProcess;
  svc: CliProcess;
  esl: EslClient;
  tap: EventTap;
  rpc: RpcClient;
  /** The simulator's port (the service's, unless the rig has a proxy). */
  eslPort: number;
  proxy: CuttableProxy | undefined;
  httpPort: number;
  base: string;
  exchange: string;
  commandQueue: string;
  configFile: string;
  configOptions: AccConfigOptions;
  dir: string;
  /** Starts (again) the service process with the rig's config file; waits for /readyz 200. */
  startService(): Promise<CliProcess>;
  /** kill -9 the simulator and start a fresh one on the same port. */
  restartSimulator(): Promise<void>;
  /** kill -9 the simulator (no restart). */
  killSimulator(): Promise<void>;
  /** The service's log lines at warn level or above (pino JSON), for diagnostics. */
  warnings(): string[];
  close(): Promise<void>;
}

export async function waitReady(base: string, timeoutMs = 30_000): Promise<void> {
  await eventually(async () => (await fetch(`${base}/readyz`)).status === 200, timeoutMs, `${base}/readyz 200`);
}

export async function startRig(
  opts: { publish?: string[] | undefined; extra?: string; downGraceMs?: number; proxy?: boolean; defaultAccountId?: string } = {},
): Promise<AccRig> {
  const { dir, remove } = tempDir();
  const eslPort = await freePort();
  // With `proxy`, the service reaches the simulator through a forwarder the test can cut.
  const proxy = opts.proxy ? new CuttableProxy(await freePort(), eslPort) : undefined;
  const httpPort = await freePort();
  const exchange = uniq('acc-ex');
  const commandQueue = uniq('acc-cmd');
  const configOptions: AccConfigOptions = {
    eslPort: proxy?.port ?? eslPort,
    httpPort,
    exchange,
    commandQueue,
    dataDir: dir,
    token: ACC_TOKEN,
    account: ACC_ACCOUNT,
    publish: opts.publish,
    ...(opts.extra ? { extra: opts.extra } : {}),
    ...(opts.downGraceMs !== undefined ? { downGraceMs: opts.downGraceMs } : {}),
    ...(opts.defaultAccountId !== undefined ? { defaultAccountId: opts.defaultAccountId } : {}),
  };
  const configFile = writeConfig(dir, 'confmgr.yaml', configYaml(configOptions));
  const base = `http://127.0.0.1:${httpPort}`;

  let sim = await startSimulatorProcess(eslPort);
  await proxy?.open();
  const tap = await EventTap.create(exchange);
  const rpc = await RpcClient.create(exchange);
  let esl = await EslClient.connect(eslPort);
  let svc: CliProcess | undefined;

  const rig: AccRig = {
    get sim() {
      return sim;
    },
    get svc() {
      return svc!;
    },
    get esl() {
      return esl;
    },
    tap,
    rpc,
    eslPort,
    proxy,
    httpPort,
    base,
    exchange,
    commandQueue,
    configFile,
    configOptions,
    dir,
    async startService() {
      svc = spawnCli(['start', '--config', configFile]);
      try {
        await waitReady(base);
      } catch (err) {
        throw new Error(`${String(err)}\nservice output:\n${svc.output.slice(-4000)}`);
      }
      return svc;
    },
    async restartSimulator() {
      await rig.killSimulator();
      sim = await startSimulatorProcess(eslPort);
      esl = await EslClient.connect(eslPort);
    },
    async killSimulator() {
      esl.close();
      sim.kill('SIGKILL');
      await sim.exited;
    },
    warnings() {
      return (svc?.output ?? '').split('\n').filter((l) => /"level":(4|5|6)0/.test(l));
    },
    async close() {
      esl.close();
      await Promise.all([svc?.stop(), sim.stop(3000), proxy?.cut()]);
      await tap.close();
      await rpc.close();
      await deleteBrokerObjects(exchange, [commandQueue, `${commandQueue}.dead`]);
      remove();
    },
  } as AccRig;
  await rig.startService();
  return rig;
}

/** A Kazoo kapi_conference command body. */
export function kazoo(app: string, conference: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'Event-Category': 'conference',
    'Event-Name': 'command',
    'Application-Name': app,
    'Conference-ID': conference,
    ...fields,
  };
}
