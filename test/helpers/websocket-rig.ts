/**
 * The WebSocket tests' rig: the API on a real listening socket with fake registry and events, and a
 * `ws` client that queues what it receives. `useWebSocketApi()` registers the per-test set-up; the
 * exported bindings are live (they hold the current test's instances).
 */
import { afterEach, beforeEach } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { registerApi, type ApiDeps, type ApiHandle } from '../../src/api/index.js';
import { createRecords } from '../../src/records/records.js';
import { openSqliteStorage, type Storage } from '../../src/storage/index.js';
import { ACCOUNT_A as A, testTokens, FakeEvents, FakeExecutor, FakeRegistry, participantEvent } from './api-fakes.js';

export let app: FastifyInstance;
let storage: Storage;
export let registry: FakeRegistry;
export let events: FakeEvents;
export let api: ApiHandle;
export let url: string;
export const sockets: WebSocket[] = [];

export function useWebSocketApi(): void {
  beforeEach(async () => {
    app = Fastify();
    storage = openSqliteStorage({ path: ':memory:' });
    registry = new FakeRegistry();
    events = new FakeEvents();
    const deps: ApiDeps = {
      registry,
      executor: new FakeExecutor(),
      storage,
      events,
      tokens: testTokens(),
      filter: (name) => name !== 'start-talking' && name !== 'stop-talking',
      nodeUp: () => true,
    };
    api = await registerApi(app, deps, createRecords(deps));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    if (typeof addr !== 'object' || !addr) throw new Error('no address');
    url = `ws://127.0.0.1:${addr.port}/v2/websocket`;
  });

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.terminate();
    await app.close();
    await storage.close();
  });
}

/** A client that queues every message it receives. */
export class Client {
  readonly messages: any[] = [];
  private waiters: Array<() => void> = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      this.messages.push(JSON.parse(d.toString()));
      for (const w of this.waiters.splice(0)) w();
    });
  }
  static async open(headers: Record<string, string> = {}): Promise<Client> {
    const ws = new WebSocket(url, { headers });
    sockets.push(ws);
    const c = new Client(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return c;
  }
  async next(): Promise<any> {
    const deadline = Date.now() + 10_000;
    while (this.messages.length === 0) {
      if (Date.now() > deadline) throw new Error('no message');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
    return this.messages.shift();
  }
  async request(msg: Record<string, unknown>): Promise<any> {
    this.ws.send(JSON.stringify(msg));
    return this.next();
  }
}

export function ev(name: string, conf: string, call: string, member: number, account = A) {
  return participantEvent(name, conf, call, member, { custom_channel_vars: { account_id: account } });
}

