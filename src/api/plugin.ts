/**
 * The HTTP API (Kazoo's conferences, VoIPbin's conferencecalls) and WebSocket events,
 * as one encapsulated fastify plugin, over the records it is given (src/records/records.ts, built
 * and owned by the service wiring). The service wiring calls:
 *
 *   const api = await registerApi(app, deps, records);   // before app.listen()
 *
 * It subscribes the WebSocket hub to `deps.events` and unsubscribes it when the app closes; closing
 * the app also waits for the records' pending writes (the API's requests cause some).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import websocketPlugin from '@fastify/websocket';
import { silentLogger } from '../util/index.js';
import type { ApiDeps } from '../records/index.js';
import { TokenAuthenticator } from './auth.js';
import type { ConferenceDocuments } from '../records/index.js';
import type { ConferencecallTracker } from '../records/index.js';
import type { DocumentEnforcer } from '../records/index.js';
import type { Records } from '../records/index.js';
import { WebSocketHub } from './websocket.js';
import { DEFAULT_API_LIMITS, type ApiLimits } from './limits.js';
import { errorBody, requestIdOf, sendError, setEnvelopeIdentity, type EnvelopeIdentity } from './envelope.js';
import { NotFoundError, ValidationError } from './errors.js';
import { setRequestAccount, type ApiContext } from './context.js';
import { conferenceRoutes } from './routes/conferences.js';
import { participantRoutes } from './routes/participants.js';
import { conferencecallRoutes } from './routes/conferencecalls.js';
import { nodeRoutes } from './routes/nodes.js';
import { registerConsole } from './console.js';
import { DOCUMENTATION_ONLY, SHARED_SCHEMAS } from './schemas.js';
import { OPENAPI_PATH, OPENAPI_SCHEMA, WEBSOCKET_SCHEMA, registerOpenApi } from './openapi.js';

export const WEBSOCKET_PATH = '/v2/websocket';

/** Routes of the API's scope answered without a token. */
const PUBLIC_PATHS = new Set([OPENAPI_PATH]);

export interface ApiHandle {
  /** documents, tracker, enforcer: the records it serves, as given. */
  documents: ConferenceDocuments;
  tracker: ConferencecallTracker;
  enforcer: DocumentEnforcer;
  websocket: WebSocketHub;
  /** Waits until every event received so far has been fully handled (tests, shutdown). */
  idle(): Promise<void>;
}

export interface RegisterApiOptions {
  /** Bounds on bodies and WebSockets (config `http.limits`). */
  limits?: Partial<ApiLimits>;
  /** Serve the operator console at /console (config `http.console`; default true). */
  console?: boolean;
  /** `version` and `node` of every success envelope (Kazoo's envelope carries both). */
  identity?: EnvelopeIdentity;
  /** Template resolving a Kazoo media id for `play` (config `media.location`). */
  mediaLocation?: string | undefined;
}

export async function registerApi(app: FastifyInstance, deps: ApiDeps, records: Records, options: RegisterApiOptions = {}): Promise<ApiHandle> {
  const log = deps.logger ?? silentLogger;
  const limits = { ...DEFAULT_API_LIMITS, ...options.limits };
  const auth = new TokenAuthenticator(deps.tokens);
  const { documents, tracker, enforcer, attributions } = records;
  const websocket = new WebSocketHub({
    auth,
    documents,
    registry: deps.registry,
    defaultAccountId: deps.defaultAccountId,
    attributions,
    authTimeoutMs: limits.websocketAuthTimeoutMs,
    maxMessageBytes: limits.websocketMessageBytes,
    maxSubscriptions: limits.websocketSubscriptions,
    writeCoalesceMs: limits.websocketWriteCoalesceMs,
    logger: log,
    ...(deps.filter ? { filter: deps.filter } : {}),
  });
  const ctx: ApiContext = { deps, documents, tracker, auth, attributions, log, mediaLocation: options.mediaLocation };

  const unsubscribe = deps.events.subscribe(websocket.handle);

  // Before any route: it documents the routes registered after it.
  await registerOpenApi(app, options.identity?.version ?? '0.0.0');

  await app.register(async (scope) => {
    if (options.identity) setEnvelopeIdentity(scope, options.identity);
    // The route schemas document (OpenAPI); the handlers validate, with Kazoo's error shapes (schemas.ts).
    scope.setValidatorCompiler(DOCUMENTATION_ONLY.validatorCompiler);
    scope.setSerializerCompiler(DOCUMENTATION_ONLY.serializerCompiler);
    for (const schema of SHARED_SCHEMAS) scope.addSchema(schema);
    if (!scope.hasDecorator('websocketServer')) await scope.register(websocketPlugin, { options: { maxPayload: limits.websocketMessageBytes } });
    // Every API route takes the API's body limit (the host server's may differ).
    scope.addHook('onRoute', (route) => {
      route.bodyLimit ??= limits.bodyBytes;
    });

    // Kazoo's curl examples send JSON without a Content-Type (curl then says form-urlencoded);
    // Kazoo reads such bodies as JSON, so do we. fastify's own text/plain parser (which gives the
    // routes a string) is replaced within this scope only.
    for (const type of ['application/x-www-form-urlencoded', 'text/plain']) {
      if (scope.hasContentTypeParser(type)) scope.removeContentTypeParser(type);
      scope.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => {
        const text = String(body);
        if (text.trim() === '') return done(null, undefined);
        try {
          done(null, JSON.parse(text));
        } catch {
          done(ValidationError.field('data', 'type', 'The body is not valid JSON'), undefined);
        }
      });
    }

    scope.setErrorHandler((err, request, reply) => {
      const { status, body } = errorBody(request, err);
      // A client error (unknown member, bad body, wrong token) is the client's business, not an
      // operator alarm: info, without a stack. Only server-side failures are errors.
      const where = { method: request.method, url: request.url, status, code: body.data.code, request_id: body.request_id };
      if (status >= 500) log.error({ ...where, err }, 'api request failed');
      else log.info({ ...where, message: body.message }, 'api request refused');
      return sendError(request, reply, err, { status, body });
    });
    try {
      scope.setNotFoundHandler((request, reply) => sendError(request, reply, new NotFoundError('route', `${request.method} ${request.url.split('?')[0]}`)));
    } catch (err) {
      // The host app already has a 404 handler for "/": keep it (only the envelope differs).
      log.debug({ err }, 'keeping the existing not-found handler');
    }

    scope.addHook('onRequest', async (request: FastifyRequest, reply) => {
      reply.header('x-request-id', requestIdOf(request));
      const token = request.headers['x-auth-token'];
      // The WebSocket may authenticate in its first message instead (browsers cannot set headers).
      if (request.routeOptions.url === WEBSOCKET_PATH && token === undefined) return;
      if (PUBLIC_PATHS.has(request.routeOptions.url ?? '')) return;
      setRequestAccount(request, auth.authenticate(Array.isArray(token) ? token[0] : token));
    });

    scope.get(OPENAPI_PATH, { schema: OPENAPI_SCHEMA }, async () => app.swagger());

    scope.get(WEBSOCKET_PATH, { websocket: true, schema: { ...WEBSOCKET_SCHEMA } }, (socket, request) => {
      const token = request.headers['x-auth-token'];
      websocket.attach(socket, token === undefined ? undefined : auth.authenticate(Array.isArray(token) ? token[0] : token));
    });

    conferenceRoutes(scope, ctx);
    participantRoutes(scope, ctx);
    conferencecallRoutes(scope, ctx);
    nodeRoutes(scope, ctx);
  });

  // Outside the API's scope: the page itself needs no token (it asks the operator for one).
  if (options.console !== false) await registerConsole(app, { logger: log });

  app.addHook('onClose', async () => {
    unsubscribe();
    websocket.closeAll();
    await Promise.allSettled([records.idle(), websocket.idle()]);
  });

  return {
    documents,
    tracker,
    enforcer,
    websocket,
    async idle() {
      await Promise.all([records.idle(), websocket.idle()]);
    },
  };
}

