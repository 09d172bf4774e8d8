/**
 * The reliability tests' rig: the FreeSWITCH simulator + the real service (createService, configured
 * through parseConfig like an operator would) + RabbitMQ. Every rig gets its own exchange and command
 * queue so test files running in parallel never see each other's messages.
 */
import { Writable } from 'node:stream';
import { parseConfig, type Config } from '../../src/config/index.js';
import { createLogger, silentLogger, type Logger } from '../../src/util/log.js';
import { createService, type ServiceHandle } from '../../src/app/service.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { AMQP_URL, deleteAll, uniqueName, type Received } from './bus-amqp.js';
import type { OutboundEvent } from '../../src/conference/types.js';
import { TcpProxy } from './rel-proxy.js';

export const REL_TOKEN = 'rel-token-0123456789abcdef';
export const REL_ACCOUNT = 'relacct';

/** The service settings a reliability test may tune; each goes into the config file as is. */
export interface RelTunables {
  bufferSize?: number;
  apiTimeoutMs?: number;
  downGraceMs?: number;
  livenessIntervalMs?: number;
  reconnect?: { baseMs: number; capMs: number };
  amqpReconnect?: { baseMs: number; capMs: number };
  /** A postgres:// URL: PostgreSQL storage instead of the in-memory SQLite database. */
  storageUrl?: string;
}

export interface RelRigOptions extends RelTunables {
  /** Password the service uses; the simulator's is `simPassword` (default: the same). */
  password?: string;
  simPassword?: string;
  amqpUrl?: string;
  http?: boolean;
  commandIntake?: boolean;
  logger?: Logger;
  sim?: Partial<SimulatorOptions>;
  /** Wait until the node is synced and the broker connected (default true). */
  waitReady?: boolean;
  /** Put a fault-injection proxy between the service and the simulator / RabbitMQ. */
  eslProxy?: boolean;
  amqpProxy?: boolean;
}

export interface RelRig {
  sim: Simulator;
  service: ServiceHandle;
  config: Config;
  exchange: string;
  commandQueue: string;
  eslProxy: TcpProxy | undefined;
  amqpProxy: TcpProxy | undefined;
  close(): Promise<void>;
}

export function relConfigText(
  o: RelTunables & {
    port: number;
    password: string;
    exchange: string;
    commandQueue: string;
    logLevel?: string;
  },
): string {
  const r = o.reconnect ?? { baseMs: 100, capMs: 1000 };
  const ar = o.amqpReconnect ?? { baseMs: 100, capMs: 1000 };
  return [
    'app_name: confmgr',
    'freeswitch:',
    '  nodes:',
    `    - {name: fs1, host: 127.0.0.1, port: ${o.port}, password_env: REL_ESL_PASSWORD, command_connections: 2}`,
    `  reconnect: {base_ms: ${r.baseMs}, cap_ms: ${r.capMs}}`,
    `  api_timeout_ms: ${o.apiTimeoutMs ?? 3000}`,
    `  connect_timeout_ms: 3000`,
    `  down_grace_ms: ${o.downGraceMs ?? 30000}`,
    `  liveness_interval_ms: ${o.livenessIntervalMs ?? 0}`,
    'amqp:',
    '  url_env: REL_AMQP_URL',
    `  exchange: ${JSON.stringify(o.exchange)}`,
    `  command_queue: ${JSON.stringify(o.commandQueue)}`,
    `  buffer_size: ${o.bufferSize ?? 100000}`,
    `  reconnect: {base_ms: ${ar.baseMs}, cap_ms: ${ar.capMs}}`,
    '  flush_timeout_ms: 3000',
    'http:',
    '  listen: 127.0.0.1:0',
    `  tokens: [{token: ${REL_TOKEN}, account_id: ${REL_ACCOUNT}}]`,
    'storage:',
    ...(o.storageUrl === undefined ? ["  path: ':memory:'"] : ['  driver: postgres', `  url: ${JSON.stringify(o.storageUrl)}`]),
    'log:',
    `  level: ${o.logLevel ?? 'info'}`,
    'shutdown: {timeout_ms: 5000}',
  ].join('\n');
}

export async function startRelRig(options: RelRigOptions = {}): Promise<RelRig> {
  const password = options.password ?? 'ClueCon';
  const sim = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    password: options.simPassword ?? password,
    heartbeatMs: 0,
    verboseEvents: true,
    ...options.sim,
  });
  const exchange = uniqueName('t-rel');
  const commandQueue = uniqueName('t-rel-cmd');
  const eslProxy = options.eslProxy ? await TcpProxy.start(sim.port) : undefined;
  let amqpUrl = options.amqpUrl ?? AMQP_URL;
  let amqpProxy: TcpProxy | undefined;
  if (options.amqpProxy) {
    const u = new URL(amqpUrl);
    amqpProxy = await TcpProxy.start(Number(u.port || 5672), u.hostname);
    u.hostname = '127.0.0.1';
    u.port = String(amqpProxy.port);
    amqpUrl = u.toString();
  }
  const config = parseConfig(
    relConfigText({ port: eslProxy?.port ?? sim.port, password, exchange, commandQueue, ...pick(options) }),
    'reliability-test',
    { env: { REL_ESL_PASSWORD: password, REL_AMQP_URL: amqpUrl } },
  );
  const service = await createService(config, {
    logger: options.logger ?? silentLogger,
    instanceName: 'confmgr-rel',
    http: options.http ?? false,
    commandIntake: options.commandIntake ?? false,
  });
  let closed = false;
  const rig: RelRig = {
    sim,
    service,
    config,
    exchange,
    commandQueue,
    eslProxy,
    amqpProxy,
    async close() {
      if (closed) return;
      closed = true;
      amqpProxy?.resume();
      await service.stop('test done').catch(() => undefined);
      await sim.close().catch(() => undefined);
      await eslProxy?.close();
      await amqpProxy?.close();
      await deleteAll([exchange], [commandQueue, `${commandQueue}.dead`]).catch(() => undefined);
    },
  };
  await service.start();
  if (options.waitReady !== false) {
    await waitUntil('service ready', () => service.readiness().ready && service.sync.state('fs1') === 'synced', 15_000);
  }
  return rig;
}

function pick(o: RelRigOptions): RelTunables {
  const out: RelTunables = {};
  if (o.bufferSize !== undefined) out.bufferSize = o.bufferSize;
  if (o.apiTimeoutMs !== undefined) out.apiTimeoutMs = o.apiTimeoutMs;
  if (o.downGraceMs !== undefined) out.downGraceMs = o.downGraceMs;
  if (o.livenessIntervalMs !== undefined) out.livenessIntervalMs = o.livenessIntervalMs;
  if (o.reconnect) out.reconnect = o.reconnect;
  if (o.amqpReconnect) out.amqpReconnect = o.amqpReconnect;
  if (o.storageUrl !== undefined) out.storageUrl = o.storageUrl;
  return out;
}

export async function waitUntil(what: string, predicate: () => boolean, timeoutMs = 10_000, stepMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** [conference, memberId, callId] triples, sorted: the same shape from the registry and the simulator. */
export function registryMembers(service: ServiceHandle): string[] {
  const out: string[] = [];
  for (const c of service.registry.conferences()) {
    for (const p of service.registry.participants(c.name)) out.push(`${c.name}#${p.memberId}#${p.callId}`);
  }
  return out.sort();
}

export function simMembers(sim: Simulator): string[] {
  const out: string[] = [];
  for (const c of sim.engine.conferences()) for (const m of c.members) out.push(`${c.name}#${m.id}#${m.callId}`);
  return out.sort();
}

/** A pino logger writing JSON lines into `lines` (the service's own createLogger, so its redaction applies). */
export function capturingLogger(level: string): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  let partial = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      partial += chunk.toString('utf8');
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        lines.push(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
      }
      cb();
    },
  });
  return { logger: createLogger({ level, destination: stream }), lines };
}

/** The api/bgapi lines the simulator received, one per command (auth and event subscriptions too). */
export function wireCommandLines(sim: Simulator): string[] {
  // Every ESL command is one line ended by an empty line; `sendmsg` has headers but we never send it.
  return sim
    .receivedBytes()
    .toString('latin1')
    .split('\n\n')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** What the service produced, conference id → msg_ids in order: the reference for "lost" and "order". */
export function recordProduced(service: ServiceHandle): Map<string, string[]> {
  const produced = new Map<string, string[]>();
  service.events.subscribe((e: OutboundEvent) => {
    const list = produced.get(e.conferenceId) ?? [];
    list.push(String(e.payload.msg_id));
    produced.set(e.conferenceId, list);
  });
  return produced;
}

/** Deliveries deduped by message_id (at-least-once; the first arrival counts), grouped by conference in order. */
export function dedupeByConference(received: readonly Received[]): { got: Map<string, string[]>; unique: Set<string>; duplicates: number } {
  const unique = new Set<string>();
  const got = new Map<string, string[]>();
  let duplicates = 0;
  for (const r of received) {
    const id = String(r.msg.properties.messageId);
    if (unique.has(id)) {
      duplicates++;
      continue;
    }
    unique.add(id);
    const conf = String(r.body.conference_id);
    const list = got.get(conf) ?? [];
    list.push(id);
    got.set(conf, list);
  }
  return { got, unique, duplicates };
}

/** Alternating start/stop-talking for every member of each conference, `perSecond` per conference. */
export function steadyLoad(rig: RelRig, conferences: Map<string, number[]>, perSecond: number): { stop: () => Promise<number> } {
  let sent = 0;
  let n = 0;
  const started = Date.now();
  const talking = new Set<string>();
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) * perSecond) / 1000);
    while (n < due) {
      for (const [conf, ids] of conferences) {
        const id = ids[n % ids.length]!;
        const key = `${conf}#${id}`;
        if (talking.delete(key)) rig.sim.engine.stopTalking(conf, id);
        else {
          rig.sim.engine.startTalking(conf, id);
          talking.add(key);
        }
        sent++;
      }
      n++;
    }
  }, 5);
  return {
    stop: async () => {
      clearInterval(timer);
      return sent;
    },
  };
}

