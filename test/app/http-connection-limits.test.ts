/**
 * The HTTP server under connection pressure, with real sockets (raw TCP and `ws` clients): caps on
 * open connections in all and per client address (127.0.0.x addresses are distinct clients), the
 * reserve that keeps /healthz, /readyz and /metrics answering, the refusal metric, idle-connection
 * timeouts, and the open-file budget.
 */
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ServiceMetrics } from '../../src/app/metrics.js';
import { startHttpServer, type HttpServer, type HttpServerLimits, type ReadinessReport } from '../../src/app/http-server.js';
import { addressKey } from '../../src/app/connection-gate.js';
import { fitToDescriptors, openFilesLimit } from '../../src/app/descriptor-budget.js';
import { createRecords } from '../../src/records/records.js';
import { registerApi } from '../../src/api/index.js';
import { openSqliteStorage, type Storage } from '../../src/storage/index.js';
import { ACCOUNT_A as A, TOKEN_A, testTokens, FakeEvents, FakeExecutor, FakeRegistry } from '../helpers/api-fakes.js';

let server: HttpServer | undefined;
let storage: Storage | undefined;
const open: Array<{ destroy(): void }> = [];

afterEach(async () => {
  for (const s of open.splice(0)) s.destroy();
  await server?.close();
  await storage?.close();
  server = undefined;
  storage = undefined;
});

const notReady = (): ReadinessReport => ({ ready: false, nodes: { fs1: { state: 'down', up: false } }, broker: { connected: true, buffered: 0 } });

async function start(limits: Partial<HttpServerLimits>, fdLimit?: number): Promise<HttpServer> {
  storage = openSqliteStorage({ path: ':memory:' });
  const st = storage;
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    metrics: new ServiceMetrics(),
    health: { live: () => true, readiness: notReady },
    limits,
    openFilesLimit: fdLimit,
    register: async (app) => {
      const deps = { registry: new FakeRegistry(), executor: new FakeExecutor(), storage: st, events: new FakeEvents(), tokens: testTokens(), nodeUp: () => true };
      await registerApi(app, deps, createRecords(deps));
    },
  });
  return server;
}

/** A raw TCP connection from `from`; `closed` resolves with what the server sent before closing. */
interface RawConn {
  socket: Socket;
  received(): string;
  closed: Promise<{ data: string; afterMs: number }>;
}
async function raw(port: number, from = '127.0.0.1'): Promise<RawConn> {
  const socket = connect({ host: '127.0.0.1', port, localAddress: from });
  open.push(socket);
  const t0 = Date.now();
  let data = '';
  socket.on('data', (d) => (data += d.toString()));
  socket.on('error', () => undefined);
  const closed = new Promise<{ data: string; afterMs: number }>((resolve) => socket.once('close', () => resolve({ data, afterMs: Date.now() - t0 })));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, received: () => data, closed };
}

/** Resolves when `closed` settles within `ms`, else with undefined (the connection is still open). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms))]);
}

/** A plain HTTP GET from a given local address, timed. */
async function get(port: number, path: string, from: string, headers: Record<string, string> = {}) {
  const t0 = Date.now();
  return new Promise<{ status: number; body: string; headers: Record<string, unknown>; ms: number }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, localAddress: from, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, ms: Date.now() - t0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket; resolves 'open', or the HTTP status it was refused with, or 'closed' (reset). */
async function ws(port: number, headers: Record<string, string> = {}, from = '127.0.0.1'): Promise<{ socket: WebSocket; outcome: 'open' | number | 'closed' }> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/v2/websocket`, { headers, localAddress: from });
  open.push({ destroy: () => socket.terminate() });
  const outcome = await new Promise<'open' | number | 'closed'>((resolve) => {
    socket.once('open', () => resolve('open'));
    socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.once('error', () => resolve('closed'));
  });
  return { socket, outcome };
}

const isRefusal = (data: string) => data === '' || data.startsWith('HTTP/1.1 503 ');

describe('connection caps', () => {
  it('300 idle connections (WebSockets and raw TCP) past a cap of 100: the rest are refused, and probes still answer at once', async () => {
    const s = await start({ maxConnections: 100, maxConnectionsPerAddress: 1000, reserveTimeoutMs: 1000 });
    const port = s.address.port;
    const sockets = [];
    for (let i = 0; i < 150; i++) sockets.push(await ws(port, { 'x-auth-token': TOKEN_A }));
    const opened = sockets.filter((w) => w.outcome === 'open');
    expect(opened).toHaveLength(100);
    // The two reserve slots of this address answer the upgrade with 503 (and close); the rest get the
    // 503 written at accept time.
    expect(sockets.slice(100).map((w) => w.outcome)).toEqual(Array(50).fill(503));

    const raws: RawConn[] = [];
    for (let i = 0; i < 150; i++) raws.push(await raw(port));
    const ends = await Promise.all(raws.map((r) => within(r.closed, 3000)));
    // None left open: the first two took this address's reserve slots and were closed when the reserve
    // timeout passed without a request; the others were refused at once (503 written, then closed).
    for (const e of ends) {
      expect(e).toBeDefined();
      expect(isRefusal(e!.data)).toBe(true);
    }
    const refusedAtOnce = ends.filter((e) => e!.data.startsWith('HTTP/1.1 503 '));
    expect(refusedAtOnce).toHaveLength(148);
    expect(Math.max(...refusedAtOnce.map((e) => e!.afterMs))).toBeLessThan(500);

    // Probes from other addresses: reserve slots, answered promptly, then closed.
    const health = await get(port, '/healthz', '127.0.0.2');
    expect(health).toMatchObject({ status: 200 });
    expect(health.headers.connection).toBe('close');
    expect(health.ms).toBeLessThan(1000);
    const ready = await get(port, '/readyz', '127.0.0.3');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'not_ready' });
    expect(ready.ms).toBeLessThan(1000);

    // Anything else on a reserve slot: 503 with the API's error envelope.
    const api = await get(port, `/v2/accounts/${A}/conferences`, '127.0.0.4', { 'x-auth-token': TOKEN_A });
    expect(api.status).toBe(503);
    expect(api.headers['retry-after']).toBe('1');
    expect(JSON.parse(api.body)).toMatchObject({ status: 'error', error: '503', data: { code: 'TOO_MANY_CONNECTIONS' } });

    const metrics = (await get(port, '/metrics', '127.0.0.5')).body;
    expect(metrics).toMatch(/confmgr_http_connections\{slot="regular"\} 100\n/);
    const refused = Number(/confmgr_http_connections_refused_total\{reason="max_connections"\} (\d+)/.exec(metrics)?.[1]);
    // 148 raw connections refused at accept; 50 WebSockets and one API request refused on a reserve slot.
    expect(refused).toBe(148 + 50 + 1);

    // Slots free again when clients leave.
    for (const w of opened.slice(0, 10)) w.socket.close();
    const deadline = Date.now() + 5000;
    let again = await ws(port, { 'x-auth-token': TOKEN_A });
    while (again.outcome !== 'open' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      again = await ws(port, { 'x-auth-token': TOKEN_A });
    }
    expect(again.outcome).toBe('open');
  });

  it('one address is held to its own cap; other clients keep full service', async () => {
    const s = await start({ maxConnections: 1000, maxConnectionsPerAddress: 10 });
    const port = s.address.port;
    const flood: RawConn[] = [];
    for (let i = 0; i < 20; i++) flood.push(await raw(port, '127.0.0.9'));
    const ends = await Promise.all(flood.map((r) => within(r.closed, 1000)));
    // 10 regular + 2 reserve stay open (idle); 8 refused.
    expect(ends.filter((e) => e === undefined)).toHaveLength(12);
    expect(ends.filter((e) => e !== undefined && e.data.startsWith('HTTP/1.1 503 '))).toHaveLength(8);

    const other = await get(port, `/v2/accounts/${A}/conferences`, '127.0.0.1', { 'x-auth-token': TOKEN_A });
    expect(other.status).toBe(200);
    const metrics = (await get(port, '/metrics', '127.0.0.1')).body;
    expect(metrics).toMatch(/confmgr_http_connections_refused_total\{reason="max_connections_per_address"\} 8\n/);
    expect(metrics).toMatch(/confmgr_http_connections\{slot="reserve"\} 2\n/);
  });

  it('a reserve connection that asks nothing is closed after the reserve timeout', async () => {
    const s = await start({ maxConnections: 1, maxConnectionsPerAddress: 1, reserveTimeoutMs: 300, headersTimeoutMs: 10_000 });
    await raw(s.address.port);
    const reserve = await raw(s.address.port);
    const end = await within(reserve.closed, 3000);
    expect(end).toBeDefined();
    expect(end!.afterMs).toBeLessThan(2000);
  });

  it('the cap stays below the open-file limit', async () => {
    expect(openFilesLimit(() => 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            256                  4096                 files\n')).toBe(256);
    expect(openFilesLimit(() => 'Max open files            unlimited            unlimited            files\n')).toBeUndefined();
    expect(openFilesLimit(() => { throw new Error('no /proc'); })).toBeUndefined();
    expect(fitToDescriptors(1000, 24, 256)).toBe(256 - 64 - 24);
    expect(fitToDescriptors(100, 24, 20_000)).toBe(100);
    expect(fitToDescriptors(100, 24, undefined)).toBe(100);

    // 100 descriptors: 64 kept for the rest of the process, 8 reserve + 16 refusals in flight → 12.
    const s = await start({ maxConnections: 1000, maxConnectionsPerAddress: 1000 }, 100);
    const conns: RawConn[] = [];
    for (let i = 0; i < 16; i++) conns.push(await raw(s.address.port));
    const ends = await Promise.all(conns.map((r) => within(r.closed, 1000)));
    expect(ends.filter((e) => e === undefined)).toHaveLength(12 + 2);
  });
});

describe('idle connections', () => {
  it('a connection that never sends a request is closed after headers_timeout_ms; an idle keep-alive one after keep_alive_timeout_ms', async () => {
    const s = await start({ headersTimeoutMs: 500, requestTimeoutMs: 2000, keepAliveTimeoutMs: 400 });
    const silent = await raw(s.address.port);
    const end = await within(silent.closed, 5000);
    expect(end).toBeDefined();
    expect(end!.afterMs).toBeGreaterThanOrEqual(450);
    expect(end!.afterMs).toBeLessThan(1500);
    expect(end!.data).toMatch(/^HTTP\/1\.1 408 /);

    const partial = await raw(s.address.port);
    partial.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    expect(await within(partial.closed, 2000)).toBeDefined();

    const kept = await raw(s.address.port);
    kept.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const idle = await within(kept.closed, 3000);
    expect(idle).toBeDefined();
    expect(idle!.data).toMatch(/^HTTP\/1\.1 200 /);
    expect(idle!.afterMs).toBeLessThan(1500);
  });
});

describe('long-lived WebSockets', () => {
  it('an authenticated WebSocket outlives the request, headers and keep-alive timeouts', async () => {
    const s = await start({ headersTimeoutMs: 300, requestTimeoutMs: 400, keepAliveTimeoutMs: 300 });
    const w = await ws(s.address.port, { 'x-auth-token': TOKEN_A });
    expect(w.outcome).toBe('open');
    await new Promise((r) => setTimeout(r, 1500));
    expect(w.socket.readyState).toBe(WebSocket.OPEN);
    const pong = new Promise<string>((resolve) => w.socket.once('message', (d) => resolve(d.toString())));
    w.socket.send(JSON.stringify({ action: 'ping' }));
    expect(JSON.parse(await pong)).toMatchObject({ status: 'success', data: { pong: true } });
  });
});

describe('addressKey', () => {
  it('IPv4 as is (also IPv4-mapped), IPv6 by its /64', () => {
    expect(addressKey('10.1.2.3')).toBe('10.1.2.3');
    expect(addressKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(addressKey('2001:db8:0:1:aaaa::1')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:db8:0:1:bbbb:cccc:dddd:eeee')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});

describe('path parameters', () => {
  it('a conference id of 128 characters (the longest allowed) reaches the API, not fastify\'s 100-character route limit', async () => {
    const s = await start({});
    const id = 'c'.repeat(128);
    const res = await fetch(`${s.url}/v2/accounts/${A}/conferences/${id}`, { headers: { 'X-Auth-Token': TOKEN_A } });
    const body = (await res.json()) as { data?: { code?: string }; message?: string };
    expect(res.status).toBe(404);
    // The API's own answer about that conference, not "route not found".
    expect(body.message ?? '').toContain(id);
    expect(body.message ?? '').not.toMatch(/^route /);
  });
});
