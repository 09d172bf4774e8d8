/**
 * What one WebSocket client may hold or send (http.limits through registerApi's limits): the time to
 * authenticate, the message size, the number of subscriptions. Real listening socket, `ws` clients,
 * fake registry / events.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import WebSocket from 'ws';
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
  await registerApi(
    app,
    { registry: new FakeRegistry(), executor: new FakeExecutor(), storage, events: new FakeEvents(), tokens: testTokens(), nodeUp: () => true },
    limits,
  );
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
