/**
 * The service wiring: builds every part from the resolved Config and connects them, one way:
 *
 *   EslCluster ──event──▶ parseConferenceEvent ──▶ ConferenceStateSync (registry, resync on up)
 *        │                                              │ every event consumers should see
 *        │                                              ▼
 *        │                                 toOutboundEvent ──▶ AmqpPublisher (filter, buffer, confirms)
 *        │                                              └────▶ event hub ──▶ HTTP API / WebSocket
 *        ◀── api ── ConferenceControl ◀── ConferenceRouter (locator)
 *                        ▲  (timed by ServiceMetrics)
 *                        └── HTTP API, AMQP command intake
 *
 * No logic of its own beyond order: start = storage, HTTP (fails fast when http.listen is taken), broker,
 * command intake, then FreeSWITCH; stop = intake and
 * HTTP first, flush AMQP within the deadline, close ESL, then storage (the API writes to it until
 * HTTP is closed). Two seams between the API and the rest: every kick/hup first marks the
 * conferencecall records `leaving` (src/records/leave-marking-executor.ts), and the first resync of
 * each node closes records of calls that left while confmgr was away (ConferencecallTracker.reconcile).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfigFile, type Config } from '../config/index.js';
import { createLogger, redactUrl, type Logger } from '../util/log.js';
import { ConfmgrError } from '../util/errors.js';
import { EslCluster } from '../esl/cluster.js';
import type { NodeConfig, NodeState } from '../esl/types.js';
import { toOutboundEvent, type PayloadContext } from '../conference/payload.js';
import { ConferenceRegistry } from '../state/registry.js';
import { ConferenceStateSync, attachStateSync } from '../state/node-sync.js';
import { ConferenceRouter } from '../state/router.js';
import { ConferenceControl } from '../conference/control.js';
import type { ConferenceCommandExecutor, ConferenceEvent, OutboundEvent } from '../conference/types.js';
import { AmqpPublisher } from '../bus/publisher.js';
import { EventFilter } from '../bus/filter.js';
import { AmqpCommandIntake } from '../bus/command-intake.js';
import { ServiceMetrics } from './metrics.js';
import { startHttpServer, type HttpServer, type ReadinessReport } from './http-server.js';
import { EventHub } from './event-hub.js';
import { realtimeFromRegistry } from '../records/realtime-adapter.js';
import { leaveMarkingExecutor } from '../records/leave-marking-executor.js';
import { MemoryCompactor } from './memory-compactor.js';
import type { ApiHandle } from '../api/index.js';
import type { Storage } from '../storage/index.js';

export interface ServiceOptions {
  logger?: Logger;
  /** Collect prom-client's process metrics too (off in tests and the demo). */
  defaultMetrics?: boolean;
  /** Start the HTTP server (default true). */
  http?: boolean;
  /** Start the REST/WebSocket API on the HTTP server (default true). */
  api?: boolean;
  /** Start the AMQP command intake (default true). */
  commandIntake?: boolean;
  /** `node` in payloads: this confmgr instance's name (default app_name@hostname). */
  instanceName?: string;
}

export interface ServiceHandle {
  readonly config: Config;
  /** This instance's name: `node` in payloads, part of its AMQP connection names. */
  readonly instanceName: string;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  readonly cluster: EslCluster;
  readonly registry: ConferenceRegistry;
  readonly sync: ConferenceStateSync;
  readonly executor: ConferenceCommandExecutor;
  readonly publisher: AmqpPublisher;
  readonly filter: EventFilter;
  readonly events: EventHub<OutboundEvent>;
  /** Set once started with http. */
  http: HttpServer | undefined;
  /** Set once started with the command intake. */
  intake: AmqpCommandIntake | undefined;
  /** Set once started with http and the API. */
  api: ApiHandle | undefined;
  /** The API's storage (SQLite or PostgreSQL); set once started with http and the API, closed last. */
  storage: Storage | undefined;
  start(): Promise<void>;
  /** Graceful stop; resolves with whether the AMQP buffer was fully flushed. Idempotent. */
  stop(reason?: string): Promise<{ flushed: boolean; dropped: number }>;
  /** Replaces the publish filter (SIGHUP). */
  reloadFilter(list: string[] | undefined): void;
  readiness(): ReadinessReport;
}

const APP_VERSION = readVersion();

/** Resync pacing: a pause every this many synthesized events… */
const RESYNC_PACE_EVERY = 500;
/** …until fewer than this many wait in the publisher's buffer (the 5000 in flight not counted)… */
const RESYNC_PACE_BUFFERED = 1000;
/** …or this long has passed: a slow broker slows a resync down, it never stops it. */
const RESYNC_PACE_MAX_WAIT_MS = 250;

/** How long a memory compaction waits for the resync's events to leave for RabbitMQ (a broker that is
 * down is not waited for: whenBufferedBelow returns at once then). */
const COMPACT_SETTLE_MAX_WAIT_MS = 10_000;
/** Resyncs below this size (participants listed + events synthesized) are not followed by a compaction. */
const COMPACT_MIN_RESYNC_SIZE = 1_000;

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function nodeConfigsFrom(config: Config): NodeConfig[] {
  const fs = config.freeswitch;
  return fs.nodes.map((n) => ({
    name: n.name,
    host: n.host,
    port: n.port,
    password: n.password,
    commandConnections: n.commandConnections,
    connectTimeoutMs: fs.connectTimeoutMs,
    apiTimeoutMs: fs.apiTimeoutMs,
    reconnect: { baseMs: fs.reconnect.baseMs, capMs: fs.reconnect.capMs },
    maxQueuedCommands: fs.maxQueuedCommands,
    livenessIntervalMs: fs.livenessIntervalMs,
    heartbeatTimeoutMs: fs.heartbeatTimeoutMs,
  }));
}

export function createService(config: Config, options: ServiceOptions = {}): ServiceHandle {
  const logger = options.logger ?? createLogger({ level: config.log.level, pretty: config.log.pretty ?? process.stdout.isTTY });
  const metrics = new ServiceMetrics({ defaultMetrics: options.defaultMetrics ?? false });
  const filter = new EventFilter(config.publishParticipantEvent);
  const events = new EventHub<OutboundEvent>(logger);

  const cluster = new EslCluster(nodeConfigsFrom(config), { logger });
  const registry = new ConferenceRegistry();
  const sync = new ConferenceStateSync({
    registry,
    api: (node, command) => cluster.node(node).api(command),
    nodes: config.freeswitch.nodes.map((n) => n.name),
    downGraceMs: config.freeswitch.downGraceMs,
    listing: config.freeswitch.resyncListing,
    // A cold start synthesizes an event per participant (12 000 for 1000 conferences × 10). Paced,
    // they wait upstream as snapshot rows rather than all at once as AMQP bodies, conferencecall
    // writes and WebSocket frames: the process's peak memory follows (README, bench state-service).
    paceEvery: RESYNC_PACE_EVERY,
    pace: async () => {
      await new Promise<void>((resolve) => setImmediate(resolve)); // the event hub's consumers run
      await publisher.whenBufferedBelow(RESYNC_PACE_BUFFERED, RESYNC_PACE_MAX_WAIT_MS);
    },
    logger: logger.child({ component: 'resync' }),
  });
  const router = new ConferenceRouter(registry, sync);
  const control = new ConferenceControl({
    locator: router,
    nodes: (name) => (cluster.has(name) ? cluster.node(name) : undefined),
    logger: logger.child({ component: 'control' }),
    timeoutMs: config.freeswitch.apiTimeoutMs,
  });
  // Every door (AMQP intake, HTTP, CLI, the API's own DELETE) goes through this one executor.
  const executor = leaveMarkingExecutor(metrics.instrument(control), {
    locator: router,
    marker: () => {
      const api = service.api;
      return api ? (conference, target, node) => api.tracker.markLeaving(conference, target, node) : undefined;
    },
    logger: logger.child({ component: 'control' }),
  });

  const instanceName = options.instanceName ?? `${config.appName}@${safeHostname()}`;
  const publisher = new AmqpPublisher({
    url: config.amqp.url,
    // Shown by rabbitmqctl / the management UI: which instance a connection belongs to.
    connectionName: amqpConnectionName('publisher', instanceName),
    exchange: config.amqp.exchange,
    bufferSize: config.amqp.bufferSize,
    reconnect: { initialDelayMs: config.amqp.reconnect.baseMs, maxDelayMs: config.amqp.reconnect.capMs },
    filter,
    appId: config.appName,
    logger,
    metrics: metrics.publisherHook,
  });

  const payloadCtx: PayloadContext = {
    appName: config.appName,
    appVersion: APP_VERSION,
    nodeName: instanceName,
  };

  // FreeSWITCH → typed events → state → consumers. The pool logs ups and downs, the resync its results.
  attachStateSync(cluster, sync, { onEvent: (event) => metrics.eventReceived(event.node, event.action) });
  sync.on('event', (event: ConferenceEvent) => {
    const out = toOutboundEvent(payloadCtx, event);
    publisher.publish(out);
    events.emit(out);
  });
  // Every resync is a burst (up to a 7 MB listing, an event per participant); once it has left for
  // RabbitMQ, one compacting GC hands its memory back instead of V8 keeping it (bench state-service).
  const compactor = config.memory.compact
    ? new MemoryCompactor({
        settled: () => publisher.whenBufferedBelow(1, COMPACT_SETTLE_MAX_WAIT_MS),
        logger: logger.child({ component: 'memory' }),
      })
    : undefined;
  // A small node's resync leaves little to reclaim: not worth a pause while events flow.
  if (compactor) {
    sync.on('resynced', (result) => {
      if (result.participants + result.synthesized >= COMPACT_MIN_RESYNC_SIZE) compactor.request(`resync ${result.node}`);
    });
  }
  // After the first resync of a node, conferencecall records of calls that are gone (they left while
  // confmgr was away, so no del-member was seen) are closed. Only nodes already resynced are judged:
  // a node still resyncing shows no conferences yet. The resync's own events were emitted before
  // 'resynced', so the tracker (serial) has applied them first.
  const resyncedOnce = new Set<string>();
  const configuredNodes = config.freeswitch.nodes.map((n) => n.name);
  sync.on('resynced', (result) => {
    if (resyncedOnce.has(result.node)) return;
    resyncedOnce.add(result.node);
    const api = service.api;
    if (!api) return;
    const allResynced = configuredNodes.every((n) => resyncedOnce.has(n));
    const known = (node: string | null): boolean =>
      node === null ? allResynced : resyncedOnce.has(node) && cluster.has(node) && cluster.node(node).state === 'up';
    api.tracker.reconcile(known).then(
      (closed) => {
        if (closed > 0) logger.info({ node: result.node, closed }, 'conferencecalls of calls gone while confmgr was away closed as leaved');
      },
      (err: unknown) => logger.warn({ err, node: result.node }, 'conferencecall reconcile failed'),
    );
  });

  metrics.setSources({
    bufferDepth: () => publisher.stats().buffered,
    inFlight: () => publisher.stats().inFlight,
    brokerConnected: () => publisher.connected,
    intakeConnected: () => service.intake?.connected ?? false,
    nodeStates: () => cluster.nodes().map((p) => ({ node: p.name, state: p.state })),
    deduplicated: () => registry.stats().deduplicated,
    conferences: () => registry.stats().conferences,
    participants: () => registry.stats().participants,
  });

  let running = false;
  let stopping: Promise<{ flushed: boolean; dropped: number }> | undefined;
  // Closed first (stop taking commands) and last (storage, after HTTP and the flush).
  const intakeClosers: Array<() => Promise<unknown>> = [];
  const finalClosers: Array<() => Promise<unknown> | unknown> = [];

  // Ready = able to serve: the broker connected, and every node connected AND its conference state
  // rebuilt (a node whose json_list keeps failing is connected but its state is stale).
  const readiness = (): ReadinessReport => {
    const nodes: ReadinessReport['nodes'] = {};
    for (const p of cluster.nodes()) {
      const up = p.state === 'up';
      const syncState = sync.state(p.name) ?? 'pending';
      nodes[p.name] = { state: p.state as NodeState, up, sync: syncState, ready: up && syncState === 'synced' };
    }
    const broker = { connected: publisher.connected, buffered: publisher.stats().buffered };
    const ready = running && stopping === undefined && broker.connected && Object.values(nodes).every((n) => n.ready);
    return { ready, nodes, broker };
  };

  const service: ServiceHandle = {
    config,
    instanceName,
    logger,
    metrics,
    cluster,
    registry,
    sync,
    executor,
    publisher,
    filter,
    events,
    http: undefined,
    intake: undefined,
    api: undefined,
    storage: undefined,
    readiness,

    async start() {
      running = true;
      // HTTP first: a second instance started by mistake (same http.listen) fails here, before it has
      // connected to the broker or consumed a single command (HttpListenError).
      if (options.http !== false) {
        const register = options.api === false ? undefined : await apiRegistrar(service, finalClosers);
        service.http = await startHttpServer({
          host: config.http.host,
          port: config.http.port,
          health: { live: () => running && stopping === undefined, readiness },
          metrics,
          logger,
          ...(register ? { register } : {}),
        });
        logger.info({ listen: service.http.url }, 'HTTP listening (/healthz /readyz /metrics, API under /v2)');
      }
      // Loading and compiling the modules left ~15 MB of V8 heap behind; reclaimed before any traffic,
      // the pause delays nothing.
      await compactor?.compactNow('startup');
      // Then the broker, then commands, then FreeSWITCH (events from the first resync are buffered either way).
      void publisher.start();
      if (options.commandIntake !== false) {
        const intake = await startCommandIntake(service);
        intakeClosers.push(intake);
      }
      cluster.start();
      logger.info(
        {
          nodes: config.freeswitch.nodes.map((n) => `${n.name}=${n.host}:${n.port}`),
          amqp: redactUrl(config.amqp.url),
          exchange: config.amqp.exchange,
          publish: filter.list ?? 'all',
          ...(service.storage ? { storage: storageLabel(config) } : {}),
        },
        'confmgr started',
      );
    },

    stop(reason = 'stop') {
      if (stopping) return stopping;
      stopping = (async () => {
        logger.info({ reason }, 'shutting down: stopping intake');
        // 1. No new work: command intake and HTTP first (in-flight requests finish).
        await Promise.all(intakeClosers.map((close) => close().catch((err: Error) => logger.warn({ err: err.message }, 'closing the command intake failed'))));
        if (service.http) await service.http.close().catch((err: Error) => logger.warn({ err: err.message }, 'closing HTTP failed'));
        // 2. Nothing more from FreeSWITCH into the buffer, then flush it within the deadline.
        // (A shutdown is not a node failure: no down/grace-period handling for it.)
        cluster.removeAllListeners();
        sync.close();
        compactor?.close();
        const result = await publisher.close(config.amqp.flushTimeoutMs);
        logger.info({ flushed: result.flushed, dropped: result.dropped }, 'AMQP buffer flushed');
        // 3. ESL, then storage (the API may write to it until HTTP is closed).
        await cluster.close();
        for (const close of finalClosers) {
          try {
            await close();
          } catch (err) {
            logger.warn({ err: (err as Error).message }, 'error while closing');
          }
        }
        running = false;
        logger.info('stopped');
        return result;
      })();
      return stopping;
    },

    reloadFilter(list) {
      filter.update(list);
      logger.info({ publish: list ?? 'all' }, 'publish_participant_event reloaded');
    },
  };
  return service;
}

/** The API plugin registration, when the API module and storage are available. */
async function apiRegistrar(
  service: ServiceHandle,
  finalClosers: Array<() => Promise<unknown> | unknown>,
): Promise<((app: FastifyInstance) => Promise<void>) | undefined> {
  const { config, logger } = service;
  const { registerApi } = await import('../api/index.js');
  const { openStorage } = await import('../storage/index.js');
  const st = config.storage;
  if (st.driver === 'sqlite' && st.path !== ':memory:') mkdirSync(dirname(st.path), { recursive: true });
  const storage = await openStorage(
    st.driver === 'sqlite'
      ? { driver: 'sqlite', path: st.path }
      : { driver: 'postgres', url: st.url, ...(st.poolMax !== undefined ? { max: st.poolMax } : {}) },
  ).catch((err: unknown) => {
    // pg errors may quote the connection string: say where, without the password.
    logger.error({ err: (err as Error).message, storage: storageLabel(config) }, 'cannot open storage');
    throw err;
  });
  service.storage = storage;
  // Closed after HTTP (whose onClose waits for the API's pending writes) and after ESL: see stop().
  finalClosers.push(() => storage.close());
  return async (app) => {
    service.api = await registerApi(app, {
      registry: realtimeFromRegistry(service.registry),
      executor: service.executor,
      storage,
      tokens: config.http.tokens.map((t) => ({ token: t.token, account_id: t.accountId })),
      defaultAccountId: config.http.defaultAccountId,
      events: service.events,
      filter: (name) => service.filter.allows(name),
      nodeUp: (node) => service.cluster.has(node) && service.cluster.node(node).state === 'up',
      logger: logger.child({ component: 'api' }),
    }, { console: config.http.console });
  };
}

/** The AMQP command intake (RPC over `amqp.command_queue`); returns its closer. Never waits for the broker. */
async function startCommandIntake(service: ServiceHandle): Promise<() => Promise<void>> {
  const { config, logger } = service;
  const intake = new AmqpCommandIntake({
    url: config.amqp.url,
    executor: service.executor,
    exchange: config.amqp.exchange,
    queue: config.amqp.commandQueue,
    appId: config.appName,
    connectionName: amqpConnectionName('commands', service.instanceName),
    reconnect: { initialDelayMs: config.amqp.reconnect.baseMs, maxDelayMs: config.amqp.reconnect.capMs },
    logger,
  });
  void intake.start();
  service.intake = intake;
  return () => intake.close(Math.min(5_000, config.shutdown.timeoutMs));
}

/**
 * The client-provided AMQP connection name (rabbitmqctl list_connections, the management UI):
 * `confmgr-publisher (confmgr@host)` / `confmgr-commands (confmgr@host)`, so that several instances
 * on one broker can be told apart. Always starts with `confmgr-<role>`.
 */
export function amqpConnectionName(role: 'publisher' | 'commands', instanceName: string): string {
  return `confmgr-${role} (${instanceName})`;
}

/** Where the API's data lives, for log lines: never the password. */
export function storageLabel(config: Config): string {
  const st = config.storage;
  return st.driver === 'sqlite' ? `sqlite:${st.path}` : redactUrl(st.url);
}

function safeHostname(): string {
  try {
    return hostname();
  } catch {
    return 'localhost';
  }
}

/**
 * `confmgr start`: run until SIGTERM/SIGINT, reload the publish filter on SIGHUP.
 * Resolves with the process exit code.
 */
export async function runService(
  config: Config,
  options: { configFile?: string; env?: NodeJS.ProcessEnv; /** One line for the operator when start fails (the CLI's stderr). */ err?: (text: string) => void } = {},
): Promise<number> {
  const service = createService(config, { defaultMetrics: true });
  const log = service.logger;
  const env = options.env ?? process.env;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));

  const onStop = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'signal received');
    // A second signal while stopping: give up waiting.
    if (stopRequested) {
      log.warn('second signal: exiting now');
      resolveDone(1);
      return;
    }
    stopRequested = true;
    const deadline = setTimeout(() => {
      log.error({ timeoutMs: config.shutdown.timeoutMs }, 'shutdown deadline passed; exiting');
      resolveDone(1);
    }, config.shutdown.timeoutMs);
    deadline.unref();
    service.stop(signal).then(
      (r) => {
        clearTimeout(deadline);
        resolveDone(r.flushed ? 0 : 1);
      },
      (err) => {
        log.error({ err }, 'shutdown failed');
        resolveDone(1);
      },
    );
  };
  let stopRequested = false;
  const onHup = () => {
    if (!options.configFile) return;
    try {
      const fresh = loadConfigFile(options.configFile, { env });
      service.reloadFilter(fresh.publishParticipantEvent);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'SIGHUP: config invalid, keeping the current publish filter');
    }
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  try {
    await service.start();
  } catch (err) {
    // A typed failure (http.listen in use, …) is one clear line; anything else keeps its stack in the log.
    if (err instanceof ConfmgrError) log.error({ code: err.code, ...err.details }, `start failed: ${err.message}`);
    else log.error({ err }, 'start failed');
    options.err?.(`confmgr: start failed: ${(err as Error).message}${err instanceof ConfmgrError ? ` [${err.code}]` : ''}\n`);
    await service.stop('start failed').catch(() => undefined);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onHup);
    return 1;
  }
  const code = await done;
  process.off('SIGTERM', onStop);
  process.off('SIGINT', onStop);
  process.off('SIGHUP', onHup);
  return code;
}
