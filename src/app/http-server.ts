/**
 * The HTTP server: one fastify instance with the operations routes (/healthz, /readyz, /metrics) and,
 * when given, the REST/WebSocket API plugin. Owns listen and close; knows nothing of what it reports.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { ConfmgrError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import type { ServiceMetrics } from './metrics.js';
import type { NodeState } from '../esl/types.js';

export interface NodeReadiness {
  /** The Event Socket connections' state. */
  state: NodeState;
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
  broker: { connected: boolean; buffered: number };
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

export interface ServerOptions {
  host: string;
  port: number;
  health: HealthSource;
  metrics: ServiceMetrics;
  logger?: Logger;
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

export function buildOpsRoutes(app: FastifyInstance, health: HealthSource, metrics: ServiceMetrics): void {
  app.get('/healthz', async (_req, reply) => {
    const live = health.live();
    return reply.code(live ? 200 : 503).send({ status: live ? 'ok' : 'stopping' });
  });
  app.get('/readyz', async (_req, reply) => {
    const report = health.readiness();
    return reply.code(report.ready ? 200 : 503).send({ status: report.ready ? 'ready' : 'not_ready', ...report });
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await metrics.metrics();
    return reply.header('content-type', metrics.contentType).send(body);
  });
}

export async function startHttpServer(options: ServerOptions): Promise<HttpServer> {
  const log = (options.logger ?? silentLogger).child({ component: 'http' });
  // Typed as the default instance: plugins (the API) are written against FastifyInstance.
  const app = Fastify({
    loggerInstance: log,
    // One line per request at info would drown the event logs; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
  }) as unknown as FastifyInstance;
  buildOpsRoutes(app, options.health, options.metrics);
  if (options.register) await options.register(app);
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
