/**
 * Kazoo's response envelope. Success: `{data, revision?, request_id, status: "success", timestamp,
 * version?, node?, page_size (lists)}`;
 * error: `{data: {...}, error: "<http status>", message, status: "error", request_id, timestamp}`.
 * The auth token is never echoed (Kazoo echoes it; we do not put secrets in bodies).
 * The request id comes from a well-formed `X-Request-ID` header, else is generated, and is sent
 * back in the `X-Request-ID` response header as well.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConfmgrError } from '../util/index.js';
import { KAZOO_MESSAGE_BY_STATUS, RETRY_AFTER_S_BY_CODE, ValidationError, httpStatusOf } from './errors.js';

const REQUEST_ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const requestIds = new WeakMap<FastifyRequest, string>();

export function requestIdOf(request: FastifyRequest): string {
  let id = requestIds.get(request);
  if (id === undefined) {
    const given = request.headers['x-request-id'];
    id = typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID().replace(/-/g, '');
    requestIds.set(request, id);
  }
  return id;
}

export interface SuccessEnvelope<T> {
  data: T;
  revision?: string;
  request_id: string;
  status: 'success';
  timestamp: string;
  /** Kazoo's `version` (the software's version) and `node` (the instance that answered). */
  version?: string;
  node?: string;
  /** Kazoo's `page_size`: the number of entries of a list. */
  page_size?: number;
  /** The cluster view: some instances did not answer in time, so `data` may lack what they serve. */
  partial?: true;
  /** Those instances. */
  missing_instances?: string[];
}

/** Marks a success envelope built from gathered answers as partial when some instance stayed silent. */
export function withMissing<T>(env: SuccessEnvelope<T>, missing: readonly string[], partial = missing.length > 0): SuccessEnvelope<T> {
  if (partial) {
    env.partial = true;
    env.missing_instances = [...missing];
  }
  return env;
}

/** What `version` and `node` say, per API scope (set by registerApi). */
export interface EnvelopeIdentity {
  version: string;
  node: string;
}

const identities = new WeakMap<object, EnvelopeIdentity>();

/** Gives every success envelope of routes registered on `scope` this version and node. */
export function setEnvelopeIdentity(scope: object, identity: EnvelopeIdentity): void {
  identities.set(scope, identity);
}

export function success<T>(request: FastifyRequest, data: T, revision?: string): SuccessEnvelope<T> {
  const env: SuccessEnvelope<T> = { data, request_id: requestIdOf(request), status: 'success', timestamp: new Date().toISOString() };
  if (revision !== undefined) env.revision = revision;
  if (Array.isArray(data)) env.page_size = data.length;
  const identity = identities.get(request.server);
  if (identity) {
    env.version = identity.version;
    env.node = identity.node;
  }
  return env;
}

export interface ErrorEnvelope {
  data: Record<string, unknown>;
  error: string;
  message: string;
  status: 'error';
  request_id: string;
  timestamp: string;
}

/** Builds the error body and status for anything thrown by a route. */
export function errorBody(request: FastifyRequest, err: unknown): { status: number; body: ErrorEnvelope } {
  let status = httpStatusOf(err);
  let data: Record<string, unknown>;
  let message: string;
  if (err instanceof ValidationError) {
    data = err.fields;
    message = err.message;
  } else if (err instanceof ConfmgrError) {
    data = { code: err.code, message: err.message };
    // Details only for client errors: 5xx details may carry raw FreeSWITCH replies.
    if (status < 500 && err.details) Object.assign(data, { details: err.details });
    message = status >= 500 ? (KAZOO_MESSAGE_BY_STATUS[status] ?? 'error') : err.message;
  } else if (isFastifyClientError(err)) {
    // fastify's own 4xx (malformed JSON, unsupported content type, body too large).
    status = err.statusCode;
    data = { code: err.code ?? 'BAD_REQUEST', message: err.message };
    message = err.message;
  } else {
    data = { code: 'INTERNAL', message: 'internal error' };
    message = 'internal error';
  }
  return {
    status,
    body: { data, error: String(status), message, status: 'error', request_id: requestIdOf(request), timestamp: new Date().toISOString() },
  };
}

function isFastifyClientError(err: unknown): err is { statusCode: number; code?: string; message: string } {
  const e = err as { statusCode?: unknown };
  return typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500;
}

export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  err: unknown,
  built: { status: number; body: ErrorEnvelope } = errorBody(request, err),
): FastifyReply {
  const { status, body } = built;
  const retryAfter = RETRY_AFTER_S_BY_CODE[String(body.data.code)];
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  return reply.code(status).header('x-request-id', body.request_id).send(body);
}
