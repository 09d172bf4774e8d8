/**
 * What one WebSocket client may hold or send (http.limits through registerApi's limits): the time to
 * authenticate, the message size, the number of subscriptions. Real listening socket, `ws` clients,
 * fake registry / events.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { createRecords } from '../../src/records/records.js';
import { registerApi, type ApiLimits } from '../../src/api/index.js';
import { openSqliteStorage, type Storage } from '../../src/storage/index.js';
import { TOKEN_A, testTokens, FakeEvents, FakeExecutor, FakeRegistry } from '../helpers/api-fakes.js';

let app: FastifyInstance | undefined;
let storage: Storage | undefined;
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await app?.close();
  await storage?.close();
  app = undefined;
  storage = undefined;
});

async function start(limits: Partial<ApiLimits>): Promise<string> {
  app = Fastify();
  storage = openSqliteStorage({ path: ':memory:' });
  const deps = { registry: new FakeRegistry(), executor: new FakeExecutor(), storage, events: new FakeEvents(), tokens: testTokens(), nodeUp: () => true };
  await registerApi(app, deps, createRecords(deps), { limits });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (typeof addr !== 'object' || !addr) throw new Error('no address');
  return `ws://127.0.0.1:${addr.port}/v2/websocket`;
}

async function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers });
  sockets.push(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string; at: number }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() })));
}

async function request(ws: WebSocket, msg: Record<string, unknown>): Promise<any> {
  const reply = new Promise<any>((resolve) => ws.once('message', (d) => resolve(JSON.parse(d.toString()))));
  ws.send(JSON.stringify(msg));
  return reply;
}

describe('WebSocket authentication deadline', () => {
  it('a WebSocket that does not authenticate in time is closed with 1008; one that does stays', async () => {
    const url = await start({ websocketAuthTimeoutMs: 300 });
    const silent = await open(url);
    const t0 = Date.now();
    // Unauthenticated requests do not extend the deadline.
    expect(await request(silent, { action: 'ping' })).toMatchObject({ status: 'success' });
    expect(await request(silent, { action: 'auth', auth_token: 'wrong' })).toMatchObject({ status: 'error', error: '401' });
    const end = await closed(silent);
    expect(end).toMatchObject({ code: 1008, reason: 'authentication timeout' });
    expect(end.at - t0).toBeLessThan(2000);

    const late = await open(url);
    expect(await request(late, { action: 'auth', auth_token: TOKEN_A })).toMatchObject({ status: 'success' });
    const byHeader = await open(url, { 'x-auth-token': TOKEN_A });
    await new Promise((r) => setTimeout(r, 800));
    expect(late.readyState).toBe(WebSocket.OPEN);
    expect(byHeader.readyState).toBe(WebSocket.OPEN);
  });
});

describe('WebSocket message and request bounds', () => {
  it('a message over websocket_message_bytes closes the socket with 1009', async () => {
    const url = await start({ websocketMessageBytes: 4096 });
    const ws = await open(url, { 'x-auth-token': TOKEN_A });
    expect(await request(ws, { action: 'ping', pad: 'x'.repeat(3000) })).toMatchObject({ status: 'success' });
    const end = closed(ws);
    ws.send(JSON.stringify({ action: 'ping', pad: 'x'.repeat(5000) }));
    expect((await end).code).toBe(1009);
  });

  it('subscriptions per socket, the events list and request_id are bounded', async () => {
    const url = await start({ websocketSubscriptions: 3 });
    const ws = await open(url, { 'x-auth-token': TOKEN_A });
    for (let i = 0; i < 3; i++) expect(await request(ws, { action: 'subscribe' })).toMatchObject({ status: 'success' });
    const fourth = await request(ws, { action: 'subscribe', request_id: 'r4' });
    expect(fourth).toMatchObject({ status: 'error', error: '400', request_id: 'r4', data: { subscription: { maxItems: { target: 3 } } } });
    await request(ws, { action: 'unsubscribe' });

    const many = await request(ws, { action: 'subscribe', events: Array(65).fill('add-member') });
    expect(many).toMatchObject({ status: 'error', error: '400', data: { events: { maxItems: { target: 64 } } } });
    const long = await request(ws, { action: 'subscribe', events: ['add-member', 'x'.repeat(65)] });
    expect(long).toMatchObject({ status: 'error', error: '400', data: { 'events.1': { maxLength: { target: 64 } } } });

    // A request id is echoed in the reply, so it is bounded too (and a refused one is not echoed).
    const rid = await request(ws, { action: 'ping', request_id: 'r'.repeat(129) });
    expect(rid).toMatchObject({ status: 'error', error: '400', data: { request_id: { maxLength: { target: 128 } } } });
    expect(rid).not.toHaveProperty('request_id');
    expect(await request(ws, { action: 'ping', request_id: 'r'.repeat(128) })).toMatchObject({ status: 'success', request_id: 'r'.repeat(128) });
  });
});
