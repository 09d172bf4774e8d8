import { afterEach, describe, expect, it } from 'vitest';
import { EslCluster } from '../../src/esl/cluster.js';
import type { EslEvent } from '../../src/esl/codec.js';
import {
  EslConnectionClosedError,
  EslInvalidArgumentError,
  EslNodeDownError,
  EslOverloadError,
  EslTimeoutError,
} from '../../src/esl/errors.js';
import { EslNodePool } from '../../src/esl/pool.js';
import type { NodeConfig } from '../../src/esl/types.js';
import { readSummary } from '../helpers/fixtures.js';
import {
  apiResponse,
  commandReply,
  eventFrameBytes,
  jsonEvent,
  startScriptedServer,
  type ScriptedConnection,
  type ScriptedEslServer,
  type ScriptedServerOptions,
} from '../helpers/scripted-esl-server.js';

const servers: ScriptedEslServer[] = [];
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  for (const s of servers.splice(0)) await s.close();
});

async function serve(options: ScriptedServerOptions = {}): Promise<ScriptedEslServer> {
  const s = await startScriptedServer(options);
  servers.push(s);
  return s;
}

function config(s: ScriptedEslServer, extra: Partial<NodeConfig> = {}): NodeConfig {
  return {
    name: 'fs1',
    host: '127.0.0.1',
    port: s.port,
    password: 'ClueCon',
    commandConnections: 2,
    reconnect: { baseMs: 20, capMs: 100 },
    livenessIntervalMs: 0,
    ...extra,
  };
}

function pool(cfg: NodeConfig): EslNodePool {
  const p = new EslNodePool(cfg);
  closers.push(() => p.close(200));
  return p;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** Holds `api hold…` commands until released; everything else gets the default answers. */
function holdingServer(): { options: ScriptedServerOptions; held: Map<string, ScriptedConnection>; release: (cmd: string) => Promise<void> } {
  const held = new Map<string, ScriptedConnection>();
  return {
    held,
    options: {
      onCommand: (cmd, c) => {
        if (!cmd.startsWith('api hold')) return false;
        held.set(cmd.slice(4), c);
        return true;
      },
    },
    release: async (cmd) => {
      await until(() => held.has(cmd));
      await held.get(cmd)!.write(apiResponse(`+OK released ${cmd}\n`));
    },
  };
}

describe('EslNodePool', () => {
  it('comes up with one event connection and N command connections, subscribed as documented', async () => {
    const s = await serve();
    const p = pool(config(s, { commandConnections: 3 }));
    const ups: string[] = [];
    p.on('up', (n) => ups.push(n));
    p.start();
    await p.waitUntilUp(5000);
    expect(ups).toEqual(['fs1']);
    expect(p.state).toBe('up');
    await until(() => s.subscriptions.size === 4);
    const subs = [...s.subscriptions.values()].sort();
    expect(subs).toEqual(['BACKGROUND_JOB', 'BACKGROUND_JOB', 'BACKGROUND_JOB', 'BACKGROUND_JOB HEARTBEAT CUSTOM conference::maintenance']);
    expect(await p.api('conference list')).toBe('+OK No active conferences.\n');
    const job = await p.bgapi('conference nosuchconf list');
    expect(job.body).toBe('-ERR Conference nosuchconf not found\n');
  });

  it('forwards every event of the event connection, in order, with the node name', async () => {
    const s = await serve();
    const p = pool(config(s));
    const events: [string, EslEvent][] = [];
    p.on('event', (node, e) => events.push([node, e]));
    p.start();
    await p.waitUntilUp();
    const frames = eventFrameBytes('demo-json');
    // Pieces that do not line up with frames: 4093-byte writes.
    const eventConn = [...s.subscriptions.entries()].find(([, ev]) => ev.includes('CUSTOM'))![0];
    eventConn.chunkSize = 4093;
    await eventConn.write(Buffer.concat(frames));
    await until(() => events.length === frames.length);
    const expected = readSummary('demo-json').filter((l) => l.eventName !== undefined);
    expect(events.map(([n, e]) => [n, e.headers['Action']])).toEqual(expected.map((l) => ['fs1', l.action]));
  });

  it('dispatches to the least-loaded connection', async () => {
    const h = holdingServer();
    const s = await serve(h.options);
    const p = pool(config(s));
    p.start();
    await p.waitUntilUp();
    const held = p.api('hold1');
    await until(() => h.held.has('hold1'));
    // While hold1 occupies one connection, sequential commands all go to the other one.
    for (let i = 0; i < 5; i++) expect(await p.api('conference list')).toBe('+OK No active conferences.\n');
    const holder = h.held.get('hold1')!;
    expect(holder.commands.filter((c) => c.startsWith('api '))).toEqual(['api hold1']);
    const other = s.connections.find((c) => c !== holder && c.commands.includes('api conference list'))!;
    expect(other.commands.filter((c) => c === 'api conference list').length).toBe(5);
    expect(p.stats().inFlight).toBe(1);
    await h.release('hold1');
    expect(await held).toBe('+OK released hold1\n');
  });

  it('rejects with EslOverloadError beyond the bounded wait queue', async () => {
    const h = holdingServer();
    const s = await serve(h.options);
    const p = pool(config(s, { commandConnections: 1, maxQueuedCommands: 2 }));
    p.start();
    await p.waitUntilUp();
    const running = p.api('hold1');
    await until(() => h.held.has('hold1'));
    const waiting = [p.api('hold2'), p.api('hold3')];
    const err = await p.api('status').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EslOverloadError);
    expect(p.stats().queued).toBe(2);
    await h.release('hold1');
    await h.release('hold2');
    await h.release('hold3');
    expect(await Promise.all([running, ...waiting])).toEqual(['+OK released hold1\n', '+OK released hold2\n', '+OK released hold3\n']);
  });

  it('refuses injection before anything is queued or written', async () => {
    const s = await serve();
    const p = pool(config(s, { commandConnections: 1 }));
    p.start();
    await p.waitUntilUp();
    expect(await p.api('status\nexit').catch((e: unknown) => e)).toBeInstanceOf(EslInvalidArgumentError);
    expect(await p.bgapi('status\0').catch((e: unknown) => e)).toBeInstanceOf(EslInvalidArgumentError);
    await sleep(20);
    for (const c of s.connections) expect(c.received.toString()).not.toMatch(/status|exit/);
  });

  it('goes down when FreeSWITCH drops every connection, reconnects with backoff, re-subscribes, comes up again', async () => {
    const h = holdingServer();
    const s = await serve(h.options);
    const p = pool(config(s));
    const log: string[] = [];
    p.on('up', (n) => log.push(`up ${n}`));
    p.on('down', (n) => log.push(`down ${n}`));
    p.start();
    await p.waitUntilUp();
    const pending = p.api('hold1').catch((e: unknown) => e);
    await until(() => h.held.has('hold1'));
    const before = s.connections.length;
    s.dropAll();
    // The pending command is rejected, never replayed on the new connection.
    const err = await pending;
    expect(err).toBeInstanceOf(EslConnectionClosedError);
    await until(() => log.length >= 3);
    expect(log).toEqual(['up fs1', 'down fs1', 'up fs1']);
    // `up` needs the event connection and one command connection; the other one may still be on its way.
    await until(() => [...s.subscriptions.keys()].filter((c) => !c.closed).length === 3);
    expect(s.connections.length).toBe(before + 3);
    const fresh = [...s.subscriptions.entries()].filter(([c]) => !c.closed).map(([, e]) => e).sort();
    expect(fresh).toEqual(['BACKGROUND_JOB', 'BACKGROUND_JOB', 'BACKGROUND_JOB HEARTBEAT CUSTOM conference::maintenance']);
    // hold1 was never sent again; a new command gets its own reply.
    const newConns = s.connections.slice(before);
    for (const c of newConns) expect(c.commands).not.toContain('api hold1');
    expect(await p.api('conference list')).toBe('+OK No active conferences.\n');
  });

  it('a reply arriving late on the new connection never reaches the old caller', async () => {
    // First connection of each slot: hold. After the reconnect, the server answers `api hold1` at once.
    let dropped = false;
    const s = await serve({
      onCommand: (cmd, c) => {
        if (cmd !== 'api hold1') return false;
        if (!dropped) return true;
        void c.write(apiResponse('+OK second\n'));
        return true;
      },
    });
    const p = pool(config(s, { commandConnections: 1 }));
    p.start();
    await p.waitUntilUp();
    const first = p.api('hold1').catch((e: unknown) => e);
    await until(() => s.connections.some((c) => c.commands.includes('api hold1')));
    dropped = true;
    s.dropAll();
    expect(await first).toBeInstanceOf(EslConnectionClosedError);
    await p.waitUntilUp();
    await until(() => p.state === 'up' && p.stats().commandConnectionsReady === 1);
    expect(await p.api('hold1')).toBe('+OK second\n');
  });

  it('an api timeout replaces the connection; the node keeps working', async () => {
    const s = await serve({ onCommand: (cmd) => cmd === 'api hang' });
    const p = pool(config(s, { commandConnections: 1 }));
    p.start();
    await p.waitUntilUp();
    const before = s.connections.length;
    expect(await p.api('hang', { timeoutMs: 100 }).catch((e: unknown) => e)).toBeInstanceOf(EslTimeoutError);
    await until(() => s.connections.length === before + 1 && p.stats().commandConnectionsReady === 1);
    expect(await p.api('conference list')).toBe('+OK No active conferences.\n');
  });

  it('a refused password causes no reconnect storm and a clear down reason', async () => {
    const s = await serve({ password: 'right' });
    const p = pool(config(s, { password: 'wrong', reconnect: { baseMs: 1, capMs: 5 } }));
    const downs: string[] = [];
    p.on('down', (_n, reason) => downs.push(reason));
    p.start();
    await until(() => downs.length === 1 && s.connections.length === 3);
    await sleep(300);
    // One attempt per connection, then the long auth back-off: not hundreds of attempts at 1-5 ms.
    expect(s.connections.length).toBe(3);
    expect(p.stats().connectAttempts).toBe(3);
    expect(downs[0]).toMatch(/^auth failed/);
    expect(downs[0]).not.toContain('wrong');
    expect(p.state).toBe('down');
    expect(await p.api('status').catch((e: unknown) => e)).toBeInstanceOf(EslNodeDownError);
  });

  it('reports down while FreeSWITCH is unreachable and keeps retrying with backoff', async () => {
    const s = await serve();
    const port = s.port;
    await s.close();
    servers.splice(servers.indexOf(s), 1);
    const p = pool({ ...config(s), port, reconnect: { baseMs: 10, capMs: 40 } });
    const downs: string[] = [];
    p.on('down', (_n, r) => downs.push(r));
    p.start();
    await until(() => downs.length === 1);
    await sleep(200);
    expect(downs.length).toBe(1); // one transition, not one per attempt
    expect(p.stats().connectAttempts).toBeGreaterThan(3);
    expect(p.state).toBe('down');
  });

  it('a connection closed by bytes right behind its subscription reply is a failed attempt: the slot reconnects', async () => {
    const eventConnects: number[] = [];
    let hostile = true;
    const s = await serve({
      onCommand: async (cmd, c) => {
        if (!cmd.startsWith('event ')) return false;
        if (cmd.includes('CUSTOM')) eventConnects.push(Date.now());
        // The reply and bytes that are no ESL frame in one write: both arrive in one read.
        const garbage = hostile ? Buffer.from('this is no frame\n\n') : Buffer.alloc(0);
        await c.write(Buffer.concat([commandReply('+OK event listener enabled json'), garbage]));
        return true;
      },
    });
    const p = pool(config(s, { commandConnections: 1 }));
    p.start();
    await until(() => eventConnects.length >= 3, 15_000);
    expect(p.state).not.toBe('up');
    hostile = false;
    await p.waitUntilUp(15_000);
    expect(p.stats().eventConnectionReady).toBe(true);
  });

  it('a peer that authenticates and then sends garbage is retried ever more slowly (the backoff starts over only after a connection stayed up)', async () => {
    const eventConnects: number[] = [];
    const s = await serve({
      onCommand: async (cmd, c) => {
        if (!cmd.startsWith('event ')) return false;
        if (cmd.includes('CUSTOM')) eventConnects.push(Date.now());
        // Subscribed (the pool takes the connection as ready), then bytes that are no ESL frame.
        await c.write(commandReply('+OK event listener enabled json'));
        await sleep(20);
        await c.write('this is no frame\n\n');
        return true;
      },
    });
    const p = new EslNodePool(config(s, { commandConnections: 1, reconnect: { baseMs: 20, capMs: 5000 } }), { random: () => 0.99 });
    closers.push(() => p.close(200));
    p.start();
    await until(() => eventConnects.length >= 7, 15_000);
    const gaps = eventConnects.slice(1, 7).map((t, i) => t - eventConnects[i]!);
    // Each retry waits 99 % of a doubling ceiling: 19, 39, 79, 158, 316, 633 ms; timers only fire late.
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(Math.floor(0.99 * 20 * 2 ** i) - 1));
  });

  it('a connection that stayed up resetAfterMs starts the backoff over', async () => {
    const eventConnects: number[] = [];
    let hostile = true;
    const s = await serve({
      onCommand: async (cmd, c) => {
        if (!cmd.startsWith('event ')) return false;
        if (cmd.includes('CUSTOM')) eventConnects.push(Date.now());
        await c.write(commandReply('+OK event listener enabled json'));
        if (!hostile) return true;
        await sleep(20);
        await c.write('this is no frame\n\n');
        return true;
      },
    });
    const p = new EslNodePool(config(s, { commandConnections: 1, reconnect: { baseMs: 20, capMs: 5000, resetAfterMs: 200 } }), { random: () => 0.99 });
    closers.push(() => p.close(200));
    p.start();
    await until(() => eventConnects.length >= 6, 15_000); // five failures: the next delay would be 633 ms
    hostile = false;
    await until(() => eventConnects.length >= 7 && p.state === 'up', 15_000);
    await sleep(300); // up longer than resetAfterMs
    const before = eventConnects.length;
    const dropped = Date.now();
    s.dropAll();
    await until(() => eventConnects.length > before, 15_000);
    // Back to the first delay (19 ms), not the 1267 ms the seventh failure in a row would wait.
    expect(eventConnects.at(-1)! - dropped).toBeLessThan(1000);
  });

  it('replaces an event connection that stops delivering events (HEARTBEAT watchdog)', async () => {
    const s = await serve();
    const p = pool(config(s, { heartbeatTimeoutMs: 400 }));
    const log: string[] = [];
    p.on('up', () => log.push('up'));
    p.on('down', (_n, r) => log.push(`down ${r}`));
    p.start();
    await p.waitUntilUp();
    // Heartbeats keep it alive...
    for (let i = 0; i < 12; i++) {
      await s.broadcast(jsonEvent({ 'Event-Name': 'HEARTBEAT', 'Event-Info': 'System Ready' }));
      await sleep(50);
    }
    expect(log).toEqual(['up']);
    // ...silence does not.
    await until(() => log.length >= 3);
    expect(log[1]).toMatch(/^down .*HEARTBEAT/);
    expect(log[2]).toBe('up');
  });

  it('replaces a command connection whose periodic `api status` probe times out', async () => {
    let hang = false;
    const s = await serve({ onCommand: (cmd) => hang && cmd === 'api status' });
    const p = pool(config(s, { commandConnections: 1, livenessIntervalMs: 60, apiTimeoutMs: 300 }));
    p.start();
    await p.waitUntilUp();
    const before = s.connections.length;
    hang = true;
    await until(() => s.connections.length >= before + 1);
    hang = false;
    await until(() => p.state === 'up' && p.stats().commandConnectionsReady === 1);
    expect(await p.api('conference list')).toBe('+OK No active conferences.\n');
  });

  it('close() lets queued commands finish, sends exit on every connection, and emits down', async () => {
    const h = holdingServer();
    const s = await serve(h.options);
    const p = new EslNodePool(config(s));
    const downs: string[] = [];
    p.on('down', (_n, r) => downs.push(r));
    p.start();
    await p.waitUntilUp();
    const held = p.api('hold1');
    await until(() => h.held.has('hold1'));
    const closing = p.close(2000);
    expect(await p.api('status').catch((e: unknown) => e)).toBeInstanceOf(EslNodeDownError);
    await h.release('hold1');
    expect(await held).toBe('+OK released hold1\n');
    await closing;
    expect(p.state).toBe('closed');
    expect(downs).toEqual(['closed']);
    for (const c of s.connections) expect(c.commands.at(-1)).toBe('exit');
  });
});

describe('EslCluster', () => {
  it('keys pools by node name and forwards their events with the name', async () => {
    const a = await serve();
    const b = await serve();
    const cluster = new EslCluster([config(a, { name: 'fs-a' }), config(b, { name: 'fs-b' })]);
    closers.push(() => cluster.close());
    const ups: string[] = [];
    const events: string[] = [];
    cluster.on('up', (n) => ups.push(n));
    cluster.on('event', (n, e) => events.push(`${n}:${e.headers['Event-Info']}`));
    cluster.start();
    await Promise.all(cluster.nodes().map((n) => n.waitUntilUp()));
    expect(ups.sort()).toEqual(['fs-a', 'fs-b']);
    expect(cluster.nodes().map((n) => n.name)).toEqual(['fs-a', 'fs-b']);
    await a.broadcast(jsonEvent({ 'Event-Name': 'HEARTBEAT', 'Event-Info': 'from a' }));
    await b.broadcast(jsonEvent({ 'Event-Name': 'HEARTBEAT', 'Event-Info': 'from b' }));
    await until(() => events.length === 2);
    expect(events.sort()).toEqual(['fs-a:from a', 'fs-b:from b']);
    expect(await cluster.node('fs-b').api('conference list')).toBe('+OK No active conferences.\n');
    expect(() => cluster.node('nope')).toThrow(EslNodeDownError);
    expect(() => cluster.add(config(a, { name: 'fs-a' }))).toThrow(EslNodeDownError);
    await cluster.remove('fs-a');
    expect(cluster.has('fs-a')).toBe(false);
  });
});
