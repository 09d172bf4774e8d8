/**
 * The operator console: the browser bundle in `console/dist` (built from `console/src`, committed),
 * served by confmgr itself at `/console/`. Static files only; the page talks to the REST API and the
 * WebSocket with the token the operator types in, so nothing here authenticates.
 *
 * Every response carries a strict Content-Security-Policy (scripts and styles from this origin only, no
 * inline code, no eval, the same-origin WebSocket, never framed) and the usual hardening headers.
 * The files are read once, when the routes are registered: a fixed set, so no request path ever
 * reaches the file system.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { silentLogger, type Logger } from '../util/index.js';
import { DOCUMENTATION_ONLY, type RouteSchema } from './schemas.js';

export const CONSOLE_PATH = '/console';

/** `console/dist` of this checkout (from `src/api/` and from the compiled `dist/api/` alike). */
export const CONSOLE_DIST_DIR = fileURLToPath(new URL('../../console/dist/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

const FILE_NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
/** A Host header that may be echoed into connect-src (name or IP literal, optional port). */
const HOST_RE = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

export interface ConsoleOptions {
  /** Where the bundle is (default CONSOLE_DIST_DIR). */
  dir?: string;
  logger?: Logger;
}

/**
 * The console's Content-Security-Policy. `connect-src 'self'` already covers the same-origin
 * WebSocket in current browsers; the explicit ws:/wss: origin is for those that predate that rule.
 */
export function consoleCsp(host: string | undefined): string {
  const ws = host !== undefined && HOST_RE.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${ws}`,
    "object-src 'none'",
    "base-uri 'none'",
    // The sign-in form is handled in script; should the script fail, the browser must not submit the token anywhere.
    "form-action 'none'",
    "frame-ancestors 'none'",
    // No string ever becomes HTML or script (the view builds DOM nodes), which Trusted Types enforces.
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
}

function securityHeaders(reply: FastifyReply, request: FastifyRequest): FastifyReply {
  return reply
    .header('content-security-policy', consoleCsp(request.headers.host))
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cross-origin-resource-policy', 'same-origin')
    .header('cache-control', 'no-cache');
}

function loadBundle(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir)) {
    const type = CONTENT_TYPES[extname(name)];
    if (!FILE_NAME_RE.test(name) || type === undefined) continue;
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    const body = readFileSync(path);
    files.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return files;
}

const text = (description: string) => ({ description, content: { 'text/plain': { schema: { type: 'string' } } } });
const NOT_MODIFIED = { description: 'Not Modified (If-None-Match matched the ETag)', type: 'null' };
const MISSING = text('The console bundle (console/dist) is missing');

/** The console's routes in the OpenAPI document: public pages, no token. */
const SCHEMAS = {
  redirect: { summary: 'Redirects to console/', tags: ['operations'], security: [], response: { 302: { description: 'Found: Location console/', type: 'null' } } },
  page: {
    summary: 'The operator console (a browser page over this API)',
    tags: ['operations'],
    security: [],
    response: { 200: { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } }, 304: NOT_MODIFIED, 503: MISSING },
  },
  file: {
    summary: "A file of the console's bundle",
    tags: ['operations'],
    security: [],
    params: { type: 'object', required: ['file'], properties: { file: { type: 'string' } } },
    response: {
      200: { description: 'The file', content: { '*/*': { schema: { type: 'string', contentEncoding: 'binary' } } } },
      304: NOT_MODIFIED,
      404: text('Not a file of the bundle'),
      503: MISSING,
    },
  },
} satisfies Record<string, RouteSchema>;

export async function registerConsole(app: FastifyInstance, options: ConsoleOptions = {}): Promise<void> {
  const log = options.logger ?? silentLogger;
  const dir = options.dir ?? CONSOLE_DIST_DIR;
  let files = new Map<string, StaticFile>();
  let problem: string | undefined;
  try {
    files = loadBundle(dir);
    if (!files.has('index.html')) problem = 'index.html missing';
  } catch (err) {
    problem = (err as Error).message;
  }
  const missing = problem !== undefined;
  // The API works without its console: say why the page is missing rather than refuse to start.
  if (missing) log.error({ err: problem, dir }, 'operator console bundle not readable; /console answers 503');
  else log.info({ path: `${CONSOLE_PATH}/`, files: files.size }, 'operator console served');

  const send = (request: FastifyRequest, reply: FastifyReply, name: string): FastifyReply => {
    securityHeaders(reply, request);
    const file = files.get(name);
    if (!file) {
      const status = missing ? 503 : 404;
      return reply.code(status).type('text/plain; charset=utf-8').send(missing ? 'operator console bundle missing (console/dist)\n' : 'not found\n');
    }
    reply.header('etag', file.etag);
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
    return reply.type(file.type).send(file.body);
  };

  await app.register(async (scope) => {
    scope.setValidatorCompiler(DOCUMENTATION_ONLY.validatorCompiler);
    scope.setSerializerCompiler(DOCUMENTATION_ONLY.serializerCompiler);
    // Relative, so the page keeps working behind a reverse proxy that adds a path prefix.
    scope.get(CONSOLE_PATH, { schema: SCHEMAS.redirect }, (request, reply) => securityHeaders(reply, request).redirect('console/', 302));
    scope.get(`${CONSOLE_PATH}/`, { schema: SCHEMAS.page }, (request, reply) => send(request, reply, 'index.html'));
    scope.get<{ Params: { file: string } }>(`${CONSOLE_PATH}/:file`, { schema: SCHEMAS.file }, (request, reply) => send(request, reply, request.params.file));
  });
}
