/**
 * The HTTP server: one fastify instance with the operations routes (/healthz, /readyz, /metrics) and,
 * when given, the REST/WebSocket API plugin. Owns listen and close; knows nothing of what it reports.
 * Bounded (`limits`, config `http.limits`): open connections in all and per client address, with a
 * reserve for the operations routes (./connection-gate.ts); how long a connection may stay silent
 * before its request, during it, and between two; request bodies.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { ConfmgrError } from '../util/index.js';
import { silentLogger, type Logger } from '../util/index.js';
import type { ServiceMetrics } from './metrics.js';
import type { NodeState } from '../esl/index.js';
import { ConnectionGate, REFUSALS_IN_FLIGHT, TooManyConnectionsError } from './connection-gate.js';
import { connectionMetrics } from './connection-metrics.js';
import { fitToDescriptors, openFilesLimit } from './descriptor-budget.js';

export interface NodeReadiness {
  /** The Event Socket connections' state. */
  state: NodeState;
  /** With standby pairs: whether this instance is `active` for the node, a `standby`, or cannot reach it. */
  lease?: 'active' | 'standby' | 'unreachable';
  /** Connected (event and a command connection). */
  up: boolean;
  /**
   * The conference state's sync with the node (ConferenceStateSync): `synced` once rebuilt from
   * `conference json_list`; `stale` while that keeps failing, `resyncing`, `pending`, `down`, `flushed`.
   */
  sync?: string;
  /** up and synced: what readiness requires of every node. */
  ready?: boolean;
}

export interface ReadinessReport {
  ready: boolean;
  nodes: Record<string, NodeReadiness>;
  /** `reason` says why publishing is not healthy (not connected, blocked by the broker, buffer filling). */
  broker: { connected: boolean; buffered: number; blocked?: boolean; reason?: string };
}

/**
 * http.listen could not be bound (in use, not permitted, no such address). Raised before anything
 * else is started — no broker connection, no command consumed — so a second instance started by
 * mistake fails fast and harmlessly; `confmgr start` exits 1.
 */
export class HttpListenError extends ConfmgrError {
  constructor(host: string, port: number, reason: string | undefined, cause: string) {
    const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const why =
      reason === 'EADDRINUSE'
        ? 'the address is already in use (another confmgr, or another program, listens there)'
        : reason === 'EACCES'
          ? 'permission denied (ports below 1024 need privileges)'
          : reason === 'EADDRNOTAVAIL'
            ? 'no such local address'
            : cause;
    super('HTTP_LISTEN_FAILED', `cannot listen on ${where} (http.listen): ${why}`, { host, port, ...(reason ? { reason } : {}) });
  }
}

export interface HealthSource {
  /** Whether the service is running (not shutting down). */
  live(): boolean;
  readiness(): ReadinessReport;
}

export interface HttpServerLimits {
  /** Open connections (HTTP and WebSocket), all clients together. */
  maxConnections: number;
  /** Open connections from one client address (an IPv6 client's /64). */
  maxConnectionsPerAddress: number;
  /** A request's headers must have arrived within this; a new connection that stays silent is closed after it. */
  headersTimeoutMs: number;
  /** The whole request, body included; also the longest silence on a connection with a request under way. */
  requestTimeoutMs: number;
  /** Idle time allowed between two requests on one connection. */
  keepAliveTimeoutMs: number;
  /** Largest request body (413 beyond). */
  bodyBytes: number;
  /** Connections beyond the caps that may still ask the operations routes (default 8). */
  reserve?: number;
  /** A reserve connection's whole lifetime (default 5 s). */
  reserveTimeoutMs?: number;
}

/** The defaults of config `http.limits`. */
export const DEFAULT_HTTP_LIMITS: HttpServerLimits = {
  maxConnections: 1_000,
  maxConnectionsPerAddress: 100,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  bodyBytes: 128 * 1024,
};

/** Routes a reserve connection may ask (probes and scrapes). */
const OPERATIONS_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

export interface ServerOptions {
  host: string;
  port: number;
  health: HealthSource;
  metrics: ServiceMetrics;
  logger?: Logger;
  limits?: Partial<HttpServerLimits>;
  /** The process's open-file limit (default: read from the system); the connection cap stays below it. */
  openFilesLimit?: number | undefined;
  /** Registers more routes (the API plugin) before the server listens. */
  register?: (app: FastifyInstance) => Promise<void> | void;
}

export interface HttpServer {
  app: FastifyInstance;
  /** The bound address (port resolved when 0 was asked for). */
  address: { host: string; port: number };
  url: string;
  close(): Promise<void>;
}

/**
 * The operations routes' schemas, for the OpenAPI document (src/api/openapi.ts): they describe only.
 * These routes answer as they are (no validation to do; plain JSON, every field of the readiness
 * report), so their schemas are compiled to nothing.
 */
const DESCRIBE_ONLY = { validatorCompiler: () => () => true, serializerCompiler: () => (data: unknown) => JSON.stringify(data) };
const OPS = { tags: ['operations'], security: [] };
const NODE_READINESS = {
  type: 'object',
  required: ['state', 'up'],
  properties: {
    state: { type: 'string' },
    lease: { type: 'string', enum: ['active', 'standby', 'unreachable'] },
    up: { type: 'boolean' },
    sync: { type: 'string' },
    ready: { type: 'boolean' },
  },
};
const READINESS = {
  type: 'object',
  required: ['status', 'ready', 'nodes', 'broker'],
  properties: {
    status: { type: 'string', enum: ['ready', 'not_ready'] },
    ready: { type: 'boolean' },
    nodes: { type: 'object', additionalProperties: NODE_READINESS, description: 'By node name' },
    broker: {
      type: 'object',
      required: ['connected', 'buffered'],
      properties: { connected: { type: 'boolean' }, buffered: { type: 'integer' }, blocked: { type: 'boolean' }, reason: { type: 'string' } },
    },
  },
};
const LIVENESS = { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok', 'stopping'] } } };
const OPS_SCHEMAS = {
  healthz: { summary: 'Liveness', ...OPS, response: { 200: { description: 'Running', ...LIVENESS }, 503: { description: 'Shutting down', ...LIVENESS } } },
  readyz: {
    summary: 'Readiness: every node connected and synced, the broker connected',
    ...OPS,
    response: { 200: { description: 'Ready', ...READINESS }, 503: { description: 'Not ready', ...READINESS } },
  },
  metrics: {
    summary: 'Prometheus metrics',
    ...OPS,
    response: { 200: { description: 'The Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
  },
};

export function buildOpsRoutes(app: FastifyInstance, health: HealthSource, metrics: ServiceMetrics): void {
  app.get('/healthz', { schema: OPS_SCHEMAS.healthz, ...DESCRIBE_ONLY }, async (_req, reply) => {
    const live = health.live();
    return reply.code(live ? 200 : 503).send({ status: live ? 'ok' : 'stopping' });
  });
  app.get('/readyz', { schema: OPS_SCHEMAS.readyz, ...DESCRIBE_ONLY }, async (_req, reply) => {
    const report = health.readiness();
    return reply.code(report.ready ? 200 : 503).send({ status: report.ready ? 'ready' : 'not_ready', ...report });
  });
  app.get('/metrics', { schema: OPS_SCHEMAS.metrics, ...DESCRIBE_ONLY }, async (_req, reply) => {
    const body = await metrics.metrics();
    return reply.header('content-type', metrics.contentType).send(body);
  });
}

export async function startHttpServer(options: ServerOptions): Promise<HttpServer> {
  const log = (options.logger ?? silentLogger).child({ component: 'http' });
  const limits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
  const reserve = limits.reserve ?? 8;
  const fdLimit = 'openFilesLimit' in options ? options.openFilesLimit : openFilesLimit();
  const maxConnections = fitToDescriptors(limits.maxConnections, reserve + REFUSALS_IN_FLIGHT, fdLimit);
  if (maxConnections < limits.maxConnections) {
    log.warn(
      { max_connections: limits.maxConnections, lowered_to: maxConnections, open_files_limit: fdLimit },
      'http.limits.max_connections lowered to fit the open-file limit (raise it with ulimit -n / LimitNOFILE)',
    );
  }
  // Typed as the default instance: plugins (the API) are written against FastifyInstance.
  const app = Fastify({
    loggerInstance: log,
    // One line per request at info would drown the event logs; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.bodyBytes,
    // Conference ids may be 128 characters (records/conference-document.ts); fastify's default is 100.
    routerOptions: { maxParamLength: 256 },
    // Silence on a connection with a request under way (Node's socket timeout): destroyed after it.
    connectionTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node checks both timeouts on this period (default 30 s): a silent connection would live up to
      // that much longer than headersTimeout.
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
    },
  }) as unknown as FastifyInstance;
  const metrics = connectionMetrics(options.metrics.registry);
  const gate = new ConnectionGate({ ...limits, maxConnections, reserve }, log, metrics.refused);
  metrics.track(gate);
  gate.attach(app.server);
  app.addHook('onRequest', async (request, reply) => {
    if (!gate.isReserve(request.raw.socket)) return;
    // Free the reserve slot as soon as the request has its answer (an upgrade request's socket is no
    // longer the HTTP server's, which would not close it).
    reply.header('connection', 'close');
    if (request.headers.upgrade !== undefined) reply.raw.once('finish', () => request.raw.socket.destroy());
    if (OPERATIONS_ROUTES.has(request.routeOptions.url ?? '')) return;
    gate.refusedOnReserve(request.raw.socket);
    throw new TooManyConnectionsError();
  });
  // The API first: its OpenAPI generator documents the routes registered after it, these included.
  if (options.register) await options.register(app);
  buildOpsRoutes(app, options.health, options.metrics);
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await app.close().catch(() => undefined);
    const e = err as NodeJS.ErrnoException;
    throw new HttpListenError(options.host, options.port, e.code, e.message);
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  const hostForUrl = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const url = `http://${hostForUrl.includes(':') ? `[${hostForUrl}]` : hostForUrl}:${port}`;
  return {
    app,
    address: { host: options.host, port },
    url,
    close: () => app.close(),
  };
}
