/**
 * The service wiring: builds every part from the resolved Config and connects them, one way:
 *
 *   EslCluster ──event──▶ parseConferenceEvent ──▶ ConferenceStateSync (registry, resync on up)
 *        │                                              │ every event consumers should see
 *        │                                              ▼
 *        │                                 toOutboundEvent ──▶ AmqpPublisher (filter, buffer, confirms)
 *        │                                              └────▶ event hub ──▶ records (storage), WebSocket
 *        ◀── api ── ConferenceControl ◀── ConferenceRouter (locator)
 *                        ▲  (timed by ServiceMetrics)
 *                        └── leave-marking executor ◀── HTTP API, AMQP command intake
 *
 * Built in dependency order, nothing filled in later: storage (opened by createService), the records
 * over it (documents, enforcement, conferencecall tracking: kept with or without the API), the
 * executor that marks them, then the doors. start = HTTP (fails fast when http.listen is taken),
 * broker, command intake, then FreeSWITCH; stop = intake and HTTP first, flush AMQP, close ESL, then
 * the records and their storage, every close bounded by shutdown.timeout_ms (src/app/shutdown.ts). Two seams between the records and the
 * rest: every kick/hup first marks the conferencecall records `leaving`
 * (src/records/leave-marking-executor.ts), and the first resync of each node closes records of calls
 * that left while confmgr was away (ConferencecallTracker.reconcile).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Config } from '../config/index.js';
import { createLogger, redactUrl, type Logger } from '../util/index.js';
import { EslCluster } from '../esl/index.js';
import type { NodeConfig } from '../esl/index.js';
import { toOutboundEvent, type PayloadContext } from '../conference/index.js';
import { ConferenceRegistry } from '../state/index.js';
import { ConferenceStateSync, attachStateSync } from '../state/index.js';
import { ConferenceRouter } from '../state/index.js';
import { ConferenceControl, ConferenceProfiles } from '../conference/index.js';
import type { ConferenceCommandExecutor, ConferenceEvent, OutboundEvent } from '../conference/index.js';
import { AmqpPublisher, type CloseResult } from '../bus/index.js';
import { EventFilter } from '../bus/index.js';
import { publishingHealth } from '../bus/index.js';
import { AmqpCommandIntake, ClusterView, NodeGate, NodeLeases, allNodesServed, type ClusterRequest, type ServedNodes } from '../bus/index.js';
import { sleep } from '../util/index.js';
import { activeOnlyExecutor } from './active-only-executor.js';
import { ServiceMetrics } from './metrics.js';
import { startHttpServer, type HttpServer, type ReadinessReport } from './http-server.js';
import { EventHub } from './event-hub.js';
import { clusterConferenceAnswers, realtimeFromRegistry } from '../records/index.js';
import { clusterDirectory } from './cluster-directory.js';
import { NodeStatusTracker } from './node-status.js';
import { conferenceAccountLookup } from '../records/index.js';
import { flagKeepingDialer, joinConfirmingDialer, leaveMarkingExecutor } from '../records/index.js';
import { resyncPacing } from './resync-pacing.js';
import { compactAfterResyncs } from './memory-policy.js';
import { reconcileAfterFirstResync } from './reconcile.js';
import { readinessReport } from './readiness.js';
import { stopInOrder, type StopResult } from './shutdown.js';
import type { FastifyInstance } from 'fastify';
import type { Storage } from '../storage/index.js';
import { createRecords, type Records } from '../records/index.js';
import { DEFAULT_PROMPTS, EntryService, refusalEvent } from '../entry/index.js';
import { openConfiguredStorage, storageLabel } from './storage.js';

export interface ServiceOptions {
  logger?: Logger;
  /** Collect prom-client's process metrics too (off in tests and the demo). */
  defaultMetrics?: boolean;
  /** Start the HTTP server (default true). */
  http?: boolean;
  /** Start the REST/WebSocket API on the HTTP server (default true). The records are kept either way. */
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
  /** The records' storage (SQLite or PostgreSQL): open once createService resolves, closed last by stop(). */
  readonly storage: Storage;
  /** Conference documents, their enforcement and the conferencecall records, with or without the API. */
  readonly records: Records;
  /** The entry service (outbound Event Socket), when `entry.listen` is configured; listening after start(). */
  readonly entry: EntryService | undefined;
  /** The nodes this instance serves: all of them, or those whose lease it holds (`ha.enabled`). */
  readonly served: ServedNodes;
  /** The node leases with `ha.enabled` (undefined without). */
  readonly leases: NodeLeases | undefined;
  /** The AMQP command intake (undefined with `commandIntake: false`); connects on start(). */
  readonly intake: AmqpCommandIntake | undefined;
  /** The cluster-wide view of the API (config `cluster_view`; undefined when off); connects on start(). */
  readonly clusterView: ClusterView | undefined;
  /** This instance's nodes as `GET /v2/nodes` reports them. */
  readonly nodeStatus: NodeStatusTracker;
  /** Set once started with http. */
  http: HttpServer | undefined;
  start(): Promise<void>;
  /**
   * Graceful stop within shutdown.timeout_ms (a close still running then is abandoned); resolves with
   * whether the AMQP buffer was fully flushed. Idempotent.
   */
  stop(reason?: string): Promise<StopResult>;
  /** Replaces the publish filter (SIGHUP). */
  reloadFilter(list: string[] | undefined): void;
  readiness(): ReadinessReport;
  /** WebSocket clients signed in and subscribed to something now (0 without the API). */
  websocketListeners(): number;
}

const APP_VERSION = readVersion();
/** How long a dialled endpoint that answered may take to show up in the conference (its add-member). */
const DIAL_JOIN_CONFIRM_MS = 3000;

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

/**
 * Builds the service, each part after what it uses: storage (opened here, so a storage that cannot be
 * opened stops start-up before anything connects), then the records over it, then the executor that
 * marks them, then the doors that use the executor. Nothing connects before start().
 */
export async function createService(config: Config, options: ServiceOptions = {}): Promise<ServiceHandle> {
  const logger = options.logger ?? createLogger({ level: config.log.level, pretty: config.log.pretty ?? process.stdout.isTTY });
  const storage = await openConfiguredStorage(config, logger);
  try {
    return buildService(config, options, logger, storage);
  } catch (err) {
    await storage.close().catch(() => undefined);
    throw err;
  }
}

function buildService(config: Config, options: ServiceOptions, logger: Logger, storage: Storage): ServiceHandle {
  const metrics = new ServiceMetrics({ defaultMetrics: options.defaultMetrics ?? false });
  const filter = new EventFilter(config.publishParticipantEvent);
  const events = new EventHub<OutboundEvent>(logger);
  const instanceName = options.instanceName ?? `${config.appName}@${safeHostname()}`;

  const publisher = new AmqpPublisher({
    url: config.amqp.url,
    // Shown by rabbitmqctl / the management UI: which instance a connection belongs to.
    connectionName: amqpConnectionName('publisher', instanceName),
    exchange: config.amqp.exchange,
    bufferSize: config.amqp.bufferSize,
    bufferMemoryBytes: config.amqp.bufferMemoryMb * 2 ** 20,
    writeCoalesceMs: config.amqp.writeCoalesceMs,
    reconnect: { baseMs: config.amqp.reconnect.baseMs, capMs: config.amqp.reconnect.capMs },
    filter,
    appId: config.appName,
    logger,
    metrics: metrics.publisherHook,
  });

  const cluster = new EslCluster(nodeConfigsFrom(config), { logger });
  const nodeUp = (node: string): boolean => cluster.has(node) && cluster.node(node).state === 'up';
  const registry = new ConferenceRegistry();
  const sync = new ConferenceStateSync({
    registry,
    api: (node, command) => cluster.node(node).api(command),
    nodes: config.freeswitch.nodes.map((n) => n.name),
    downGraceMs: config.freeswitch.downGraceMs,
    listing: config.freeswitch.resyncListing,
    // The records are built below (they need the executor, which needs this sync); pace() runs
    // only once the sync does, after start().
    ...resyncPacing(publisher, { whenBufferedBelow: (n, maxWaitMs) => records.tracker.whenQueuedBelow(n, maxWaitMs) }),
    logger: logger.child({ component: 'resync' }),
  });
  const router = new ConferenceRouter(registry, sync);
  const control = new ConferenceControl({
    locator: router,
    nodes: (name) => (cluster.has(name) ? cluster.node(name) : undefined),
    logger: logger.child({ component: 'control' }),
    timeoutMs: config.freeswitch.apiTimeoutMs,
    recordingDirs: config.recordings.dirs,
    // A dial into a conference that runs nowhere starts it on the first connected node this instance serves.
    startNode: () => config.freeswitch.nodes.map((n) => n.name).find((n) => nodeUp(n) && served.isServing(n)),
  });
  const commands = metrics.instrument(control);

  // Standby pairs: the gate publishes the events of leased nodes and holds the others for a takeover.
  const { leases, gate } = config.ha.enabled ? buildLeases(config, instanceName, publisher, filter, metrics, logger) : { leases: undefined, gate: undefined };
  const served: ServedNodes = leases ?? allNodesServed(config.freeswitch.nodes.map((n) => n.name));

  // The records follow every outbound event whether or not the API runs. Their own commands go out
  // directly: the tracker moves the record of a call it kicks to `leaving` itself, and the enforcer
  // only mutes, deafens and plays.
  const live = realtimeFromRegistry(registry, { focus: config.http.focus });
  const records = createRecords({
    storage,
    registry: live,
    // A standby keeps its records current but leaves acting on them to the active instance.
    executor: leases ? activeOnlyExecutor(commands, router, leases) : commands,
    nodeUp,
    defaultAccountId: config.http.defaultAccountId,
    events,
    logger: logger.child({ component: 'records' }),
  });
  // Every door (AMQP intake, HTTP, CLI) goes through this one executor: a kick/hup moves the
  // conferencecall records it affects to `leaving` before it is sent.
  const executor = leaveMarkingExecutor(commands, {
    locator: router,
    marker: (conference, target, node) => records.tracker.markLeaving(conference, target, node),
    logger: logger.child({ component: 'control' }),
  });
  // Kazoo's conference dial (REST and AMQP): the dialled calls keep their participant_flags, and an
  // endpoint is joined once its add-member is seen.
  const dialer = joinConfirmingDialer(flagKeepingDialer(control, records.enforcer), events, DIAL_JOIN_CONFIRM_MS);
  // Which nodes this instance is active for: its own command queue is bound to their conferences.
  const nodeNames = config.freeswitch.nodes.map((n) => n.name);
  const intake =
    options.commandIntake === false
      ? undefined
      : new AmqpCommandIntake({
          url: config.amqp.url,
          executor,
          dialer,
          exchange: config.amqp.exchange,
          queue: config.amqp.commandQueue,
          queueType: config.amqp.queueType,
          appId: config.appName,
          connectionName: amqpConnectionName('commands', instanceName),
          instanceName,
          routedConferences: () => nodeNames.filter((n) => served.isServing(n)).flatMap((n) => registry.conferenceNamesOn(n)),
          servesConference: (name) => {
            const hosts = registry.nodesHosting(name);
            // Not live here at all: run it as a single instance would (the executor answers, or dials).
            return hosts.length === 0 || hosts.some((n) => served.isServing(n));
          },
          handoverWaitMs: config.ha.enabled ? config.ha.commandWaitMs : 0,
          accountOf: conferenceAccountLookup({ documents: records.documents, attributions: records.attributions, registry: live, defaultAccount: config.http.defaultAccountId }),
          reconnect: { baseMs: config.amqp.reconnect.baseMs, capMs: config.amqp.reconnect.capMs },
          logger,
        });

  // Who serves each node, as `confmgr nodes` shows it: kept from the served set and the connections.
  const nodeStatus = new NodeStatusTracker({ instance: instanceName, nodes: nodeNames, serving: (n) => served.isServing(n), connected: nodeUp });
  served.onChange(() => nodeStatus.check());
  cluster.on('up', () => nodeStatus.check());
  cluster.on('down', () => nodeStatus.check());

  // The cluster view: every instance answers for the nodes it serves; the API asks them all.
  const clusterAnswers = clusterConferenceAnswers({
    registry: live,
    documents: records.documents,
    attributions: records.attributions,
    defaultAccount: config.http.defaultAccountId,
    serves: (node) => served.isServing(node),
  });
  const answerPeer = (request: ClusterRequest): Promise<unknown> | unknown =>
    request.kind === 'nodes'
      ? nodeStatus.statuses()
      : request.kind === 'conferences'
        ? clusterAnswers.conferences(request.account)
        : clusterAnswers.conference(request.account, request.conference);
  const clusterView = config.clusterView.enabled
    ? new ClusterView({
        url: config.amqp.url,
        exchange: config.amqp.exchange,
        instanceName,
        connectionName: amqpConnectionName('view', instanceName),
        gatherMs: config.clusterView.gatherMs,
        forwardTimeoutMs: config.clusterView.forwardTimeoutMs,
        answer: answerPeer,
        reconnect: { baseMs: config.amqp.reconnect.baseMs, capMs: config.amqp.reconnect.capMs },
        logger,
      })
    : undefined;

  const entry =
    config.entry === undefined
      ? undefined
      : new EntryService({
          host: config.entry.host,
          port: config.entry.port,
          documents: records.documents,
          registry: live,
          tracker: records.tracker,
          enforcer: records.enforcer,
          prompts: { ...DEFAULT_PROMPTS, ...config.entry.prompts },
          pinTimeoutMs: config.entry.pinTimeoutMs,
          pinDigitTimeoutMs: config.entry.pinDigitTimeoutMs,
          namesDir: config.entry.namesDir,
          profiles: new ConferenceProfiles(logger.child({ component: 'entry' })),
          logger: logger.child({ component: 'entry' }),
          onRefused: (r) => {
            logger.child({ component: 'entry' }).warn({ refusal: r }, 'entry refused');
            // Told on AMQP like a participant event (the publish_participant_event filter applies). Not on the
            // event hub: the records and attributions follow only FreeSWITCH's own events.
            const event = refusalEvent(r, { appName: config.appName, appVersion: APP_VERSION, nodeName: instanceName, accountId: r.accountId });
            if (event) publisher.publish(event);
          },
        });

  const payloadCtx: PayloadContext = {
    appName: config.appName,
    appVersion: APP_VERSION,
    nodeName: instanceName,
  };

  if (leases) {
    // Contend once this instance's state of the node is rebuilt, not at connect: events that reach it
    // during its resync may be dropped as already told by the snapshot (node-sync's replay), which is
    // right only while another instance is the one publishing them.
    sync.on('resynced', (result) => {
      if (nodeUp(result.node)) leases.contend(result.node);
    });
    // Whatever this instance already took from the node leaves before the lease does. The lease goes
    // even when the connection is already back: what the node sent meanwhile never reached this
    // instance, only a standby's hold has it. Back and resynced by then, it contends again.
    cluster.on('down', (node) => {
      gate?.disconnected(node);
      void publisher
        .flush(config.ha.takeoverMs)
        .then(() => leases.withdraw(node))
        .then(() => {
          if (nodeUp(node) && sync.state(node) === 'synced') leases.contend(node);
        });
    });
  }

  // FreeSWITCH → typed events → state → consumers. The pool logs ups and downs, the resync its results.
  attachStateSync(cluster, sync, { onEvent: (event) => metrics.eventReceived(event.node, event.action), logger });
  if (intake) {
    // Conferences come and go with their create/destroy events (told also when a resync or a flush
    // finds the difference): the intake's own queue follows them.
    const rebind = (): void => intake.refreshBindings();
    sync.on('event', (event: ConferenceEvent) => {
      if (event.action === 'conference-create' || event.action === 'conference-destroy') rebind();
    });
    sync.on('resynced', rebind);
    sync.on('flushed', rebind);
    served.onChange(rebind);
  }
  sync.on('event', (event: ConferenceEvent) => {
    const out = toOutboundEvent(payloadCtx, event);
    if (gate) gate.offer(event, out);
    else publisher.publish(out);
    events.emit(out);
  });
  const compactor = compactAfterResyncs({ enabled: config.memory.compact, buffer: publisher, sync, logger: logger.child({ component: 'memory' }) });
  reconcileAfterFirstResync({ sync, nodes: config.freeswitch.nodes.map((n) => n.name), nodeUp, tracker: records.tracker, logger });

  metrics.setSources({
    bufferDepth: () => publisher.stats().buffered,
    inFlight: () => publisher.stats().inFlight,
    brokerConnected: () => publisher.connected,
    intakeConnected: () => intake?.connected ?? false,
    nodeStates: () => cluster.nodes().map((p) => ({ node: p.name, state: p.state })),
    deduplicated: () => registry.stats().deduplicated,
    ...(leases ? { leaseStates: () => config.freeswitch.nodes.map((n) => ({ node: n.name, state: leases.state(n.name) })) } : {}),
    conferences: () => registry.stats().conferences,
    participants: () => registry.stats().participants,
  });

  let running = false;
  let stopping: Promise<StopResult> | undefined;

  const readiness = (): ReadinessReport =>
    readinessReport({
      nodes: () => cluster.nodes(),
      syncState: (node) => sync.state(node),
      publishing: () => publisher.stats(),
      // Past half the buffer, drops are next.
      bufferedThreshold: Math.floor(config.amqp.bufferSize / 2),
      serving: () => running && stopping === undefined,
      ...(leases ? { leases: { state: (node: string) => leases.state(node), connected: () => leases.connected } } : {}),
    });

  /** The REST/WebSocket API over the records, registered on the HTTP server before it listens. */
  let websocketListeners = (): number => 0;
  const registerApiOn = async (app: FastifyInstance): Promise<void> => {
    const { registerApi } = await import('../api/index.js');
    const api = await registerApi(
      app,
      {
        registry: live,
        executor,
        dialer,
        storage,
        tokens: config.http.tokens.map((t) => ({ token: t.token, account_id: t.accountId })),
        defaultAccountId: config.http.defaultAccountId,
        events,
        filter: (name) => filter.allows(name),
        nodeUp,
        logger: logger.child({ component: 'api' }),
        cluster: clusterView ? clusterDirectory(clusterView, served) : undefined,
        nodeStatuses: () => nodeStatus.statuses(),
      },
      records,
      { limits: config.http.limits, console: config.http.console, identity: { version: APP_VERSION, node: instanceName }, mediaLocation: config.media.location },
    );
    websocketListeners = () => api.websocket.listening;
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
    storage,
    records,
    entry,
    intake,
    clusterView,
    nodeStatus,
    served,
    leases,
    http: undefined,
    readiness,
    websocketListeners: () => websocketListeners(),

    async start() {
      running = true;
      // HTTP first: a second instance started by mistake (same http.listen) fails here, before it has
      // connected to the broker or consumed a single command (HttpListenError).
      if (options.http !== false) {
        service.http = await startHttpServer({
          host: config.http.host,
          port: config.http.port,
          limits: config.http.limits,
          health: { live: () => running && stopping === undefined, readiness },
          metrics,
          logger,
          ...(options.api === false ? {} : { register: registerApiOn }),
        });
        logger.info({ listen: service.http.url }, 'HTTP listening (/healthz /readyz /metrics, API under /v2)');
      }
      // Loading and compiling the modules left heap behind; reclaimed before any traffic, the pause
      // delays nothing.
      await compactor?.compactNow('startup');
      // Then the broker, then commands, then FreeSWITCH (events from the first resync are buffered either way).
      void publisher.start();
      // The read-back of what others publish is bound before any event of a shared node arrives.
      if (leases) await Promise.race([leases.start(), sleep(config.ha.takeoverMs)]);
      if (intake) void intake.start();
      if (clusterView) void clusterView.start();
      cluster.start();
      // Calls come last: the registry they are checked against fills from the nodes' first resync.
      await entry?.start();
      logger.info(
        {
          nodes: config.freeswitch.nodes.map((n) => `${n.name}=${n.host}:${n.port}`),
          amqp: redactUrl(config.amqp.url),
          exchange: config.amqp.exchange,
          publish: filter.list ?? 'all',
          storage: storageLabel(config),
        },
        'confmgr started',
      );
    },

    stop(reason = 'stop') {
      if (stopping) return stopping;
      stopping = (async () => {
        logger.info({ reason, timeoutMs: config.shutdown.timeoutMs }, 'shutting down: stopping intake');
        // No new calls; the ones in the entry flow are let go (FreeSWITCH hangs them up).
        await Promise.race([entry?.close(), new Promise((r) => setTimeout(r, config.shutdown.timeoutMs).unref())]);
        const result = await stopInOrder(
          {
            // The cluster view says goodbye first: the others stop waiting for this instance's answers.
            intake:
              intake || clusterView
                ? {
                    close: async (drainMs: number) => {
                      await clusterView?.close();
                      await intake?.close(drainMs);
                    },
                  }
                : undefined,
            http: service.http,
            stopEvents: () => {
              cluster.removeAllListeners();
              sync.close();
              compactor?.close();
            },
            publisher: {
              // The leases go once everything taken is confirmed: a standby publishes from there on.
              close: async (flushMs) => {
                const result = await publisher.close(flushMs);
                await leases?.close();
                return result;
              },
              leftover: () => {
                const st = publisher.stats();
                return { dropped: st.dropped.shutdown + st.buffered, unconfirmed: st.unconfirmedAtClose + st.inFlight };
              },
            },
            esl: cluster,
            records,
            storage,
          },
          { timeoutMs: config.shutdown.timeoutMs, flushTimeoutMs: config.amqp.flushTimeoutMs, logger },
        );
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

/**
 * The client-provided AMQP connection name (rabbitmqctl list_connections, the management UI):
 * `confmgr-publisher (confmgr@host)` / `confmgr-commands (confmgr@host)`, so that several instances
 * on one broker can be told apart. Always starts with `confmgr-<role>`.
 */
export function amqpConnectionName(role: 'publisher' | 'commands' | 'lease' | 'view', instanceName: string): string {
  return `confmgr-${role} (${instanceName})`;
}

function buildLeases(config: Config, instanceName: string, publisher: AmqpPublisher, filter: EventFilter, metrics: ServiceMetrics, logger: Logger): { leases: NodeLeases; gate: NodeGate } {
  let gate: NodeGate | undefined;
  const leases = new NodeLeases({
    url: config.amqp.url,
    exchange: config.amqp.exchange,
    connectionName: amqpConnectionName('lease', instanceName),
    retryMs: config.ha.takeoverMs,
    heartbeatS: config.ha.heartbeatS,
    reconnect: { baseMs: config.amqp.reconnect.baseMs, capMs: Math.min(config.amqp.reconnect.capMs, config.ha.takeoverMs) },
    onPublished: (node, core, sequence) => gate?.observe(node, core, sequence),
    holdView: { reach: (node) => gate?.reach(node), published: (node) => gate?.published(node) },
    // Given up to rebalance: what was taken from the node leaves before the lease does.
    beforeRelease: async () => void (await publisher.flush(config.ha.takeoverMs)),
    onAcquired: async (node) => {
      const started = performance.now();
      // What the previous holder sent just before it went may still be on its way back to us.
      await sleep(config.ha.settleMs);
      // And all of it that reached the broker is read back (the read-back lags under load).
      await leases.fence(3 * config.ha.takeoverMs);
      // Lost again meanwhile (its lease connection dropped): the next holder releases what is held.
      if (!leases.holds(node)) return;
      gate?.takeOver(node);
      metrics.takeover(node, (performance.now() - started) / 1000);
    },
    logger,
  });
  gate = new NodeGate({
    served: leases,
    publish: (out, headers) => publisher.publish(out, headers),
    // Held only if it would be published: the active never publishes a filtered event, so none would prune it.
    accepts: (name) => filter.allows(name),
    holdSize: config.ha.holdSize,
    logger,
  });
  return { leases, gate };
}

function safeHostname(): string {
  try {
    return hostname();
  } catch {
    return 'localhost';
  }
}
