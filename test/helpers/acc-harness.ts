/**
 * Black-box acceptance harness: drives confmgr exactly as an operator would — separate OS processes
 * started through bin/confmgr.js, a YAML config file on disk, a raw Event Socket client written here
 * (no src/ import), its own amqplib consumer and RPC client, plain HTTP. Nothing from src/ is imported,
 * so these tests see only what a user sees.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'confmgr.js');

export function uniq(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns a truthy value (or throws the last error after `timeoutMs`). */
type Falsy = undefined | null | false | 0 | '';

export async function eventually<T>(
  fn: () => T | Falsy | Promise<T | Falsy>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(100);
  }
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix = 'confmgr-acc-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// ---------------------------------------------------------------------------------------------------
// Processes

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A long-running `confmgr …` child process with its output captured. */
export class CliProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliResult>;
  private result: CliResult | undefined;

  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.result = { code, signal, stdout: this.stdout, stderr: this.stderr };
        resolve(this.result);
      });
    });
  }

  get running(): boolean {
    return this.result === undefined;
  }

  get output(): string {
    return this.stdout + this.stderr;
  }

  /** Waits until stdout+stderr matches; fails early if the process exits. */
  async waitForOutput(re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.match(re);
      if (m) return m;
      if (!this.running) throw new Error(`process exited before ${re} appeared:\n${this.output.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}:\n${this.output.slice(-3000)}`);
      await sleep(50);
    }
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, signal);
      } catch {
        /* already gone */
      }
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 8000): Promise<CliResult> {
    if (!this.running) return this.result!;
    this.kill('SIGTERM');
    const t = setTimeout(() => this.kill('SIGKILL'), graceMs);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  /** Only `env`, nothing inherited (a clean shell). */
  cleanEnv?: boolean;
  cwd?: string;
}

export function spawnCli(args: string[], opts: SpawnOptions = {}): CliProcess {
  const env = opts.cleanEnv ? { ...opts.env } : { ...process.env, ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  // Log lines as JSON (not a TTY) — the tests parse them where they need to.
  delete env.FORCE_COLOR;
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new CliProcess(child);
}

export async function runCli(args: string[], opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<CliResult> {
  const p = spawnCli(args, opts);
  const t = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  const r = await p.exited;
  clearTimeout(t);
  return r;
}

/** `confmgr simulate --port P` as its own process; resolves once it listens. */
export async function startSimulatorProcess(port: number, password = 'ClueCon'): Promise<CliProcess> {
  const p = spawnCli(['simulate', '--port', String(port), '--password', password]);
  await p.waitForOutput(/Ctrl-C to stop|listening|Event Socket on/i, 30_000);
  // Make sure the port really accepts connections.
  await eventually(async () => {
    const c = await EslClient.connect(port, password).catch(() => undefined);
    if (!c) return false;
    c.close();
    return true;
  }, 15_000, 'simulator port');
  return p;
}

// ---------------------------------------------------------------------------------------------------
// Config

export interface AccConfigOptions {
  eslPort: number;
  httpPort: number;
  exchange: string;
  commandQueue: string;
  dataDir: string;
  token: string;
  account: string;
  password?: string;
  /** undefined → key omitted (all events); otherwise the YAML list. */
  publish?: string[] | undefined;
  extra?: string;
  nodeName?: string;
  downGraceMs?: number;
  /** http.default_account_id (omitted when undefined). */
  defaultAccountId?: string;
}

export function configYaml(o: AccConfigOptions): string {
  const publish =
    o.publish === undefined ? '' : `publish_participant_event: [${o.publish.join(', ')}]\n`;
  return `# written by an acceptance test
app_name: confmgr
freeswitch:
  nodes:
    - name: ${o.nodeName ?? 'fs1'}
      host: 127.0.0.1
      port: ${o.eslPort}
      password: ${o.password ?? 'ClueCon'}
      command_connections: 2
  reconnect: {base_ms: 100, cap_ms: 1000}
  connect_timeout_ms: 3000
  api_timeout_ms: 5000
  liveness_interval_ms: 2000
${o.downGraceMs !== undefined ? `  down_grace_ms: ${o.downGraceMs}\n` : ''}amqp:
  url: ${AMQP_URL}
  exchange: ${o.exchange}
  command_queue: ${o.commandQueue}
  reconnect: {base_ms: 100, cap_ms: 1000}
${publish}http:
  listen: 127.0.0.1:${o.httpPort}
  tokens:
    - token: ${o.token}
      account_id: ${o.account}
${o.defaultAccountId !== undefined ? `  default_account_id: ${o.defaultAccountId}\n` : ''}storage:
  path: ${join(o.dataDir, 'confmgr.sqlite')}
log:
  level: info
${o.extra ?? ''}`;
}

export function writeConfig(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

// ---------------------------------------------------------------------------------------------------
// A minimal raw Event Socket client (what any operator's script would write)

export interface EslFrame {
  headers: Record<string, string>;
  body: string;
}

export class EslClient {
  private buf = Buffer.alloc(0);
  private waiters: Array<(f: EslFrame) => void> = [];
  readonly events: EslFrame[] = [];
  private closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => undefined);
    socket.on('close', () => (this.closed = true));
  }

  static async connect(port: number, password = 'ClueCon', host = '127.0.0.1'): Promise<EslClient> {
    const socket = new Socket();
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const c = new EslClient(socket);
    const greeting = await c.next();
    if (greeting.headers['Content-Type'] !== 'auth/request') throw new Error('no auth/request greeting');
    const reply = await c.send(`auth ${password}`);
    if (!reply.headers['Reply-Text']?.startsWith('+OK')) {
      c.close();
      throw new Error(`auth failed: ${reply.headers['Reply-Text']}`);
    }
    return c;
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const end = this.buf.indexOf('\n\n');
      if (end < 0) return;
      const headers: Record<string, string> = {};
      for (const line of this.buf.subarray(0, end).toString('utf8').split('\n')) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i)] = decodeURIComponent(line.slice(i + 1).trim());
      }
      const len = Number(headers['Content-Length'] ?? 0);
      if (this.buf.length < end + 2 + len) return;
      const body = this.buf.subarray(end + 2, end + 2 + len).toString('utf8');
      this.buf = this.buf.subarray(end + 2 + len);
      const frame = { headers, body };
      const ct = headers['Content-Type'] ?? '';
      if (ct.startsWith('text/event')) this.events.push(frame);
      else this.waiters.shift()?.(frame);
    }
  }

  private next(): Promise<EslFrame> {
    return new Promise((resolve, reject) => {
      if (this.closed) reject(new Error('ESL socket closed'));
      const t = setTimeout(() => reject(new Error('ESL reply timeout')), 15_000);
      this.waiters.push((f) => (clearTimeout(t), resolve(f)));
    });
  }

  /** Sends one command (may be several lines) and returns its reply frame. */
  async send(command: string): Promise<EslFrame> {
    const p = this.next();
    this.socket.write(`${command}\n\n`);
    return await p;
  }

  async api(command: string): Promise<string> {
    return (await this.send(`api ${command}`)).body;
  }

  /** Joins a loopback call to `conf` (moderator via mod-…); returns the member's channel uuid. */
  async originate(conf: string, number: string, name: string, opts: { moderator?: boolean; vars?: Record<string, string> } = {}): Promise<string> {
    const vars = { origination_caller_id_number: number, origination_caller_id_name: name, ...opts.vars };
    const v = Object.entries(vars)
      .map(([k, val]) => `${k}=${val}`)
      .join(',');
    const reply = await this.api(`originate {${v}}loopback/${opts.moderator ? 'mod' : 'conf'}-${conf}/default &park()`);
    if (!reply.startsWith('+OK')) throw new Error(`originate failed: ${reply}`);
    return reply.slice(4).trim();
  }

  close(): void {
    this.socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------
// RabbitMQ: a tap on the events and an RPC client for commands

export interface Delivery {
  routingKey: string;
  body: Record<string, unknown>;
  msg: ConsumeMessage;
}

export class EventTap {
  readonly received: Delivery[] = [];

  private constructor(
    readonly connection: ChannelModel,
    readonly channel: Channel,
    readonly queue: string,
  ) {}

  static async create(exchange: string, pattern = 'conference.event.#'): Promise<EventTap> {
    const connection = await amqp.connect(AMQP_URL);
    connection.on('error', () => undefined);
    const channel = await connection.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: true });
    const queue = uniq('acc-tap');
    await channel.assertQueue(queue, { durable: false, exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, exchange, pattern);
    const tap = new EventTap(connection, channel, queue);
    await channel.consume(
      queue,
      (msg) => {
        if (!msg) return;
        tap.received.push({
          routingKey: msg.fields.routingKey,
          body: JSON.parse(msg.content.toString('utf8')) as Record<string, unknown>,
          msg,
        });
      },
      { noAck: true },
    );
    return tap;
  }

  events(filter: (d: Delivery) => boolean = () => true): Delivery[] {
    return this.received.filter(filter);
  }

  async waitFor(filter: (d: Delivery) => boolean, what: string, timeoutMs = 20_000): Promise<Delivery> {
    return await eventually(() => this.received.find(filter), timeoutMs, `${what} (received: ${this.summary()})`);
  }

  summary(): string {
    return this.received.map((d) => `${String(d.body.event)}#${String(d.body.participant_id ?? '-')}`).join(' ');
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

export class RpcClient {
  private pending = new Map<string, (body: Record<string, unknown>) => void>();

  private constructor(
    readonly connection: ChannelModel,
    readonly channel: Channel,
    readonly exchange: string,
  ) {}

  static async create(exchange: string): Promise<RpcClient> {
    const connection = await amqp.connect(AMQP_URL);
    connection.on('error', () => undefined);
    const channel = await connection.createChannel();
    const c = new RpcClient(connection, channel, exchange);
    await channel.consume(
      'amq.rabbitmq.reply-to',
      (msg) => {
        if (!msg) return;
        const id = msg.properties.correlationId as string;
        c.pending.get(id)?.(JSON.parse(msg.content.toString('utf8')) as Record<string, unknown>);
        c.pending.delete(id);
      },
      { noAck: true },
    );
    return c;
  }

  /** Publishes a raw body (string or object) on conference.command.<conf> and awaits the reply. */
  async call(conference: string, body: unknown, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const correlationId = randomBytes(8).toString('hex');
    const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new Error(`no reply to ${typeof body === 'string' ? body : JSON.stringify(body)}`));
      }, timeoutMs);
      this.pending.set(correlationId, (b) => (clearTimeout(t), resolve(b)));
    });
    const content = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    this.channel.publish(this.exchange, `conference.command.${conference}`, content, {
      replyTo: 'amq.rabbitmq.reply-to',
      correlationId,
      contentType: 'application/json',
    });
    return await reply;
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

/** Deletes the exchange and queues a test created (the service's command queue is durable). */
export async function deleteBrokerObjects(exchange: string, queues: string[]): Promise<void> {
  const connection = await amqp.connect(AMQP_URL).catch(() => undefined);
  if (!connection) return;
  connection.on('error', () => undefined);
  try {
    const ch = await connection.createChannel();
    ch.on('error', () => undefined);
    for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
    // The command intake's routing exchanges (`<exchange>.<command_queue>` and its alternate exchange).
    for (const q of queues) {
      for (const x of [`${exchange}.${q}`, `${exchange}.${q}.unrouted`]) await ch.deleteExchange(x).catch(() => undefined);
    }
    await ch.deleteExchange(exchange).catch(() => undefined);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------------
// HTTP

export async function http(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown } = {},
): Promise<{ status: number; body: any; text: string }> {
  const headers: Record<string, string> = {};
  if (opts.token) headers['X-Auth-Token'] = opts.token;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + path, {
    method,
    headers,
    ...(opts.body !== undefined ? { body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text };
}

// ---------------------------------------------------------------------------------------------------
// Network plumbing: a TCP forwarder that can be cut (the service then sees FreeSWITCH unreachable)

export class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly port: number,
    readonly targetPort: number,
  ) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = new Socket();
      this.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      upstream.connect(this.targetPort, '127.0.0.1', () => {
        client.pipe(upstream);
        upstream.pipe(client);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Closes every forwarded connection and stops listening (connects are refused). */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * Local TCP ports of process `pid`'s established connections to `remotePort` (from /proc, so it needs
 * neither `ss` nor `netstat`). Linux only.
 */
export function localPortsTo(pid: number, remotePort: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      /* fd closed meanwhile */
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = f[1]!;
      const remote = f[2]!;
      const state = f[3];
      if (state !== '01' || !inodes.has(f[9]!)) continue; // 01 = ESTABLISHED
      if (parseInt(remote.split(':')[1]!, 16) !== remotePort) continue;
      ports.push(parseInt(local.split(':')[1]!, 16));
    }
  }
  return ports;
}
