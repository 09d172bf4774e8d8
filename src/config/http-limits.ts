/**
 * `http.limits` as the service uses it (camelCase). What each bound protects:
 * - `maxConnections`, `maxConnectionsPerAddress`: open HTTP + WebSocket connections (each one is a file
 *   descriptor), counted when accepted; past them a connection is refused (a few reserve slots still
 *   answer /healthz, /readyz and /metrics).
 * - `headersTimeoutMs`: a connection must send a request's headers within this (an idle new connection
 *   is closed after it); `requestTimeoutMs`: the whole request, body included, and any silence on a
 *   busy connection; `keepAliveTimeoutMs`: idle time between two requests.
 * - `bodyBytes`: request bodies (413 beyond).
 * - WebSocket: authenticate within `websocketAuthTimeoutMs` of the upgrade (else closed with 1008),
 *   messages up to `websocketMessageBytes` (else closed with 1009), at most `websocketSubscriptions`
 *   subscriptions per socket; events leave for a socket at most once per `websocketWriteCoalesceMs` (the
 *   socket's bytes of that window in one write; the bound keeps a window's bytes far below the
 *   slow-client limit).
 */
import type { z } from 'zod';
import type { httpLimitsSchema } from './schema.js';

export interface HttpLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  bodyBytes: number;
  websocketAuthTimeoutMs: number;
  websocketMessageBytes: number;
  websocketSubscriptions: number;
  websocketWriteCoalesceMs: number;
}

export function httpLimits(l: z.output<typeof httpLimitsSchema>): HttpLimits {
  return {
    maxConnections: l.max_connections,
    maxConnectionsPerAddress: l.max_connections_per_address,
    headersTimeoutMs: l.headers_timeout_ms,
    requestTimeoutMs: l.request_timeout_ms,
    keepAliveTimeoutMs: l.keep_alive_timeout_ms,
    bodyBytes: l.body_bytes,
    websocketAuthTimeoutMs: l.websocket_auth_timeout_ms,
    websocketMessageBytes: l.websocket_message_bytes,
    websocketSubscriptions: l.websocket_subscriptions,
    websocketWriteCoalesceMs: l.websocket_write_coalesce_ms,
  };
}
