/**
 * Bounds the HTTP server's open connections (HTTP and WebSocket alike: a WebSocket is an upgraded HTTP
 * connection, one file descriptor each): at most `maxConnections` in all and `maxConnectionsPerAddress`
 * from one client address (an IPv6 client's /64: one host may own all of it). Decided when the TCP
 * connection is accepted, before the HTTP layer allocates anything for it or reads a byte.
 *
 * Past either cap a connection may still take one of a few reserve slots (at most two per address):
 * a reserve connection gets answers from /healthz, /readyz and /metrics only (anything else is a 503),
 * is closed after its answer, and is destroyed if it has not finished within `reserveTimeoutMs`. So
 * probes keep answering while a flood holds every regular slot. Probes cannot be answered "before the
 * cap" instead: which path a connection wants is known only once its request is read, and holding it
 * open to read it is what the cap is there to bound.
 * Past the reserve too, the connection gets a fixed 503 and is closed; `server.maxConnections`
 * (caps + reserve + a margin) drops anything beyond that in libuv, before any JavaScript runs.
 */
import type { Server, Socket } from 'node:net';
import { ConfmgrError } from '../util/index.js';
import type { Logger } from '../util/index.js';

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** Connections kept for the operations routes beyond the caps (default 8). */
  reserve?: number;
  /** A reserve connection's whole lifetime (default 5 s). */
  reserveTimeoutMs?: number;
}

export type RefusalReason = 'max_connections' | 'max_connections_per_address';

/** What a request on a reserve connection gets unless it asks an operations route. */
export class TooManyConnectionsError extends ConfmgrError {
  readonly statusCode = 503;
  constructor() {
    super('TOO_MANY_CONNECTIONS', 'too many connections: only /healthz, /readyz and /metrics are answered now; retry later');
  }
}

const RESERVE_PER_ADDRESS = 2;
/** Connections being refused (503 being written) at once, beyond the caps and the reserve. */
export const REFUSALS_IN_FLIGHT = 16;
/** How often a refusal is logged at most (each one is counted in the metric). */
const REFUSAL_LOG_INTERVAL_MS = 10_000;
const REFUSAL_BODY = JSON.stringify({
  data: { code: 'TOO_MANY_CONNECTIONS', message: 'too many connections' },
  error: '503',
  message: 'too many connections',
  status: 'error',
});
const REFUSAL = Buffer.from(
  'HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n' +
    `Content-Length: ${Buffer.byteLength(REFUSAL_BODY)}\r\n\r\n${REFUSAL_BODY}`,
);

/**
 * The per-address key: an IPv4 address (also when IPv4-mapped), or the first 64 bits of an IPv6
 * address.
 */
export function addressKey(address: string | undefined): string {
  if (!address) return '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.toLowerCase().split('%')[0]!.split('::');
  const front = head === '' ? [] : head.split(':');
  const back = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? front : [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export class ConnectionGate {
  private regular = 0;
  private reserved = 0;
  private readonly regularByAddress = new Map<string, number>();
  private readonly reserveByAddress = new Map<string, number>();
  /** Reserve connections, with the cap that sent each there. */
  private readonly reserveSockets = new WeakMap<Socket, RefusalReason>();
  private readonly refusedCounts: Record<RefusalReason, number> = { max_connections: 0, max_connections_per_address: 0 };
  private lastRefusalLog = -Infinity;
  private unloggedRefusals = 0;
  readonly reserve: number;

  constructor(
    readonly limits: ConnectionLimits,
    private readonly log: Logger,
    /** Called on each refusal (the metric). */
    private readonly onRefused: (reason: RefusalReason) => void = () => undefined,
  ) {
    this.reserve = limits.reserve ?? 8;
  }

  /** Open connections: regular and reserve. */
  get open(): { regular: number; reserve: number } {
    return { regular: this.regular, reserve: this.reserved };
  }

  get refused(): Readonly<Record<RefusalReason, number>> {
    return this.refusedCounts;
  }

  /** Whether `socket` holds a reserve slot (operations routes only). */
  isReserve(socket: Socket | undefined): boolean {
    return socket !== undefined && this.reserveSockets.has(socket);
  }

  /** A reserve connection asked something else than an operations route: counted as refused. */
  refusedOnReserve(socket: Socket): void {
    const reason = this.reserveSockets.get(socket);
    if (reason !== undefined) this.refuse(reason, socket.remoteAddress);
  }

  /**
   * Puts the gate in front of the server's own connection handling: its 'connection' listeners run
   * only for admitted connections. Call before listen().
   */
  attach(server: Server): void {
    const listeners = server.listeners('connection') as Array<(socket: Socket) => void>;
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      if (!this.admit(socket)) return;
      for (const l of listeners) l.call(server, socket);
    });
    // Beyond the caps and the reserve, plus room for refusals being written: libuv closes the rest.
    server.maxConnections = this.limits.maxConnections + this.reserve + REFUSALS_IN_FLIGHT;
    server.on('drop', (data?: { remoteAddress?: string }) => this.refuse('max_connections', data?.remoteAddress));
  }

  /** Admits `socket` to a regular or a reserve slot, or answers 503 and closes it. */
  admit(socket: Socket): boolean {
    const key = addressKey(socket.remoteAddress);
    const fromAddress = this.regularByAddress.get(key) ?? 0;
    if (this.regular < this.limits.maxConnections && fromAddress < this.limits.maxConnectionsPerAddress) {
      this.regular++;
      this.regularByAddress.set(key, fromAddress + 1);
      socket.once('close', () => {
        this.regular--;
        release(this.regularByAddress, key);
      });
      return true;
    }
    const reason: RefusalReason = this.regular >= this.limits.maxConnections ? 'max_connections' : 'max_connections_per_address';
    const reservedFromAddress = this.reserveByAddress.get(key) ?? 0;
    if (this.reserved < this.reserve && reservedFromAddress < RESERVE_PER_ADDRESS) {
      this.reserved++;
      this.reserveByAddress.set(key, reservedFromAddress + 1);
      this.reserveSockets.set(socket, reason);
      const timer = setTimeout(() => socket.destroy(), this.limits.reserveTimeoutMs ?? 5_000);
      timer.unref();
      socket.once('close', () => {
        clearTimeout(timer);
        this.reserved--;
        release(this.reserveByAddress, key);
      });
      return true;
    }
    // Written by hand (the HTTP layer never sees this socket) and closed once written: a client that
    // never reads or closes cannot keep it.
    socket.on('error', () => undefined);
    socket.end(REFUSAL, () => socket.destroy());
    this.refuse(reason, socket.remoteAddress);
    return false;
  }

  private refuse(reason: RefusalReason, address: string | undefined): void {
    this.refusedCounts[reason]++;
    this.onRefused(reason);
    const now = Date.now();
    if (now - this.lastRefusalLog < REFUSAL_LOG_INTERVAL_MS) {
      this.unloggedRefusals++;
      return;
    }
    this.log.warn(
      {
        reason,
        address,
        open: this.regular,
        max_connections: this.limits.maxConnections,
        max_connections_per_address: this.limits.maxConnectionsPerAddress,
        refused_since_last_log: this.unloggedRefusals,
      },
      'HTTP connection refused: too many connections (http.limits)',
    );
    this.lastRefusalLog = now;
    this.unloggedRefusals = 0;
  }
}

function release(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 1) - 1;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}
