/**
 * The HTTP server: one fastify instance with the operations routes (/healthz, /readyz, /metrics) and,
 * when given, the REST/WebSocket API plugin. Owns listen and close; knows nothing of what it reports.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { silentLogger, type Logger } from './log.js';
import type { ServiceMetrics } from './metrics.js';
import type { NodeState } from './esl/types.js';

export interface ReadinessReport {
  ready: boolean;
  nodes: Record<string, { state: NodeState; up: boolean }>;
  broker: { connected: boolean; buffered: number };
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
  await app.listen({ host: options.host, port: options.port });
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
