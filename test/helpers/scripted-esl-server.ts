/**
 * A scripted Event Socket server for client tests: it replays bytes captured from a real FreeSWITCH
 * (api replies from api-replies.txt, BACKGROUND_JOB events from bgapi-json.raw, event frames from the
 * demo captures) and lets a test misbehave on purpose: split writes at awkward offsets, hang, close
 * mid-frame, answer out of turn. Not the product simulator (src/simulator): no conference engine here.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { EslParser, byteLength, encodeFrame, type EslFrame } from '../../src/esl/codec.js';
import { FIXTURE_DIR, readRaw, unPythonRepr } from './fixtures.js';

export const DISCONNECT_NOTICE_BODY = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n';

export function commandReply(text: string, extra: ReadonlyArray<readonly [string, string]> = []): Buffer {
  return encodeFrame([['Content-Type', 'command/reply'], ['Reply-Text', text], ...extra]);
}

export function apiResponse(body: string): Buffer {
  return encodeFrame([['Content-Type', 'api/response'], ['Content-Length', String(byteLength(body))]], body);
}

export function disconnectNotice(body = DISCONNECT_NOTICE_BODY): Buffer {
  return encodeFrame([['Content-Type', 'text/disconnect-notice'], ['Content-Length', String(byteLength(body))]], body);
}

export function jsonEvent(fields: Record<string, string>): Buffer {
  const body = JSON.stringify(fields);
  return encodeFrame([['Content-Length', String(byteLength(body))], ['Content-Type', 'text/event-json']], body);
}

/** The frames of a fixture, each as its exact original bytes (sliced by re-parsing). */
export function rawFrames(name: string): { frame: EslFrame; bytes: Buffer }[] {
  const raw = readRaw(name);
  const out: { frame: EslFrame; bytes: Buffer }[] = [];
  const parser = new EslParser();
  let start = 0;
  // Feed byte ranges that end exactly at frame boundaries: push one byte at a time would be slow,
  // so push everything and recompute each frame's length from its headers.
  for (const frame of parser.push(raw)) {
    const headerEnd = raw.indexOf('\n\n', start) + 2;
    const length = Number(frame.headers['Content-Length'] ?? 0);
    out.push({ frame, bytes: raw.subarray(start, headerEnd + length) });
    start = headerEnd + length;
  }
  return out;
}

/** Event frames (exact bytes) of a capture, e.g. demo-json → 85 conference::maintenance events. */
export function eventFrameBytes(name: string): Buffer[] {
  return rawFrames(name)
    .filter((f) => f.frame.type.startsWith('text/event-'))
    .map((f) => f.bytes);
}

/** api-replies.txt: command (without `api `) → its verbatim replies, in capture order. */
export function loadApiReplies(): Map<string, Buffer[]> {
  const text = readFileSync(join(FIXTURE_DIR, 'api-replies.txt'));
  const map = new Map<string, Buffer[]>();
  const re = /=== \[[^\]]*\] SENT \d+ bytes: b'(.*)'\n--- RAW REPLY (\d+) bytes \(verbatim between markers\) ---\n/g;
  const s = text.toString('latin1'); // byte offsets == string offsets
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const sent = unPythonRepr(m[1]!).toString('utf8');
    if (!sent.startsWith('api ')) continue;
    const start = m.index + m[0].length;
    const reply = text.subarray(start, start + Number(m[2]));
    const cmd = sent.slice(4).replace(/\n+$/, '');
    const list = map.get(cmd) ?? [];
    list.push(reply);
    map.set(cmd, list);
  }
  return map;
}

/** BACKGROUND_JOB event frames from bgapi-json.raw keyed by Job-Command (+ arg), with their original Job-UUID. */
export function loadBackgroundJobs(): Map<string, { uuid: string; bytes: Buffer }> {
  const map = new Map<string, { uuid: string; bytes: Buffer }>();
  for (const { frame, bytes } of rawFrames('bgapi-json')) {
    if (frame.type !== 'text/event-json') continue;
    const body = JSON.parse(frame.body) as Record<string, string>;
    const key = body['Job-Command-Arg'] ? `${body['Job-Command']} ${body['Job-Command-Arg']}` : body['Job-Command']!;
    map.set(key, { uuid: body['Job-UUID']!, bytes });
  }
  return map;
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ScriptedConnection {
  readonly socket: Socket;
  /** Every byte the client sent, in order. */
  private readonly chunks: Buffer[] = [];
  /** Every complete command (text before the blank line). */
  readonly commands: string[] = [];
  private buffered = '';
  private waiters: { n: number; resolve: () => void }[] = [];
  /** Write pieces of at most this size, one per macrotask (0 = whole). */
  chunkSize = 0;
  closed = false;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** @internal */
  feed(chunk: Buffer): string[] {
    this.chunks.push(chunk);
    this.buffered += chunk.toString('latin1');
    const complete: string[] = [];
    for (let i = this.buffered.indexOf('\n\n'); i >= 0; i = this.buffered.indexOf('\n\n')) {
      const cmd = Buffer.from(this.buffered.slice(0, i), 'latin1').toString('utf8');
      this.buffered = this.buffered.slice(i + 2);
      this.commands.push(cmd);
      complete.push(cmd);
    }
    this.waiters = this.waiters.filter((w) => (this.commands.length >= w.n ? (w.resolve(), false) : true));
    return complete;
  }

  /** Resolves once `n` commands (auth included) have arrived. */
  waitForCommands(n: number): Promise<void> {
    if (this.commands.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  /** Writes bytes, split into `chunkSize` pieces (each in its own macrotask) when set. */
  async write(bytes: Buffer | string): Promise<void> {
    const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    if (this.closed) return;
    if (this.chunkSize <= 0) {
      this.socket.write(buf);
      return;
    }
    for (let i = 0; i < buf.length && !this.closed; i += this.chunkSize) {
      this.socket.write(buf.subarray(i, i + this.chunkSize));
      await delay(0);
    }
  }

  /** Writes bytes split exactly at the given offsets, pausing between pieces so they arrive as separate reads. */
  async writeSplit(bytes: Buffer, offsets: number[], pauseMs = 5): Promise<void> {
    let prev = 0;
    for (const o of [...offsets, bytes.length]) {
      if (this.closed) return;
      this.socket.write(bytes.subarray(prev, o));
      prev = o;
      await delay(pauseMs);
    }
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export type CommandHandler = (command: string, conn: ScriptedConnection, server: ScriptedEslServer) => boolean | void | Promise<boolean | void>;

export interface ScriptedServerOptions {
  password?: string;
  /** Runs first for every command; return true when it answered (the default behaviour is skipped). */
  onCommand?: CommandHandler;
  /** Called for each new connection before auth/request is sent; return false to send nothing. */
  onConnection?: (conn: ScriptedConnection) => boolean | void;
  /** api command → raw reply; default: api-replies.txt. */
  apiReplies?: Map<string, Buffer[]>;
  /** Delay before a BACKGROUND_JOB event is sent (default 5 ms). */
  jobDelayMs?: number;
}

export class ScriptedEslServer {
  readonly connections: ScriptedConnection[] = [];
  private readonly server: Server;
  private readonly options: ScriptedServerOptions;
  private readonly apiReplies: Map<string, Buffer[]>;
  private readonly jobs = loadBackgroundJobs();
  private connWaiters: { n: number; resolve: () => void }[] = [];
  /** Connections that get the `event` subscription reply, with their event list. */
  readonly subscriptions = new Map<ScriptedConnection, string>();
  port = 0;

  constructor(options: ScriptedServerOptions = {}) {
    this.options = options;
    this.apiReplies = options.apiReplies ?? loadApiReplies();
    this.server = createServer((socket) => this.accept(socket));
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this;
  }

  waitForConnections(n: number): Promise<void> {
    if (this.connections.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.connWaiters.push({ n, resolve }));
  }

  /** Sends bytes to every connection subscribed with `event …` (the event connections). */
  async broadcast(bytes: Buffer): Promise<void> {
    await Promise.all([...this.subscriptions.keys()].filter((c) => !c.closed).map((c) => c.write(bytes)));
  }

  /** Closes every client socket (like a FreeSWITCH restart), keeps listening. */
  dropAll(): void {
    for (const c of this.connections) c.destroy();
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const conn = new ScriptedConnection(socket);
    this.connections.push(conn);
    this.connWaiters = this.connWaiters.filter((w) => (this.connections.length >= w.n ? (w.resolve(), false) : true));
    // Commands are handled one at a time, in order, like FreeSWITCH's listener thread.
    let chain = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      for (const cmd of conn.feed(chunk)) chain = chain.then(() => this.handle(cmd, conn)).catch(() => undefined);
    });
    if (this.options.onConnection?.(conn) === false) return;
    void conn.write(encodeFrame([['Content-Type', 'auth/request']]));
  }

  private async handle(command: string, conn: ScriptedConnection): Promise<void> {
    if (conn.closed) return;
    if (this.options.onCommand && (await this.options.onCommand(command, conn, this)) === true) return;
    const [line = '', ...headerLines] = command.split('\n');
    const password = this.options.password ?? 'ClueCon';
    if (line.startsWith('auth ')) {
      if (line.slice(5) === password) {
        await conn.write(commandReply('+OK accepted'));
      } else {
        // Exactly what auth-wrong-password.raw shows.
        await conn.write(Buffer.concat([commandReply('-ERR invalid'), disconnectNotice()]));
        conn.end();
      }
    } else if (line.startsWith('event ')) {
      const [, format = 'plain', ...events] = line.split(' ');
      this.subscriptions.set(conn, events.join(' '));
      await conn.write(commandReply(`+OK event listener enabled ${format}`));
    } else if (line.startsWith('filter ')) {
      const [, header = '', ...value] = line.split(' ');
      await conn.write(commandReply(`+OK filter added. [${header}]=[${value.join(' ')}]`));
    } else if (line === 'noevents') {
      this.subscriptions.delete(conn);
      await conn.write(commandReply('+OK no longer listening for events'));
    } else if (line === 'exit') {
      await conn.write(Buffer.concat([commandReply('+OK bye'), disconnectNotice()]));
      conn.end();
    } else if (line.startsWith('api ')) {
      const cmd = line.slice(4);
      const reply = this.apiReplies.get(cmd)?.[0] ?? apiResponse(`-ERR ${cmd.split(' ')[0]} Command not found!\n`);
      await conn.write(reply);
    } else if (line.startsWith('bgapi ')) {
      const cmd = line.slice(6);
      const uuidHeader = headerLines.find((h) => h.startsWith('Job-UUID: '));
      const uuid = uuidHeader ? uuidHeader.slice('Job-UUID: '.length) : '00000000-0000-4000-8000-000000000000';
      await conn.write(commandReply(`+OK Job-UUID: ${uuid}`, [['Job-UUID', uuid]]));
      const job = this.jobs.get(cmd);
      setTimeout(() => {
        if (conn.closed) return;
        // The captured event with the captured Job-UUID replaced by ours (same length: Content-Length holds).
        const bytes = job && uuid.length === job.uuid.length
          ? Buffer.from(job.bytes.toString('utf8').split(job.uuid).join(uuid), 'utf8')
          : jsonEvent({ 'Event-Name': 'BACKGROUND_JOB', 'Job-UUID': uuid, 'Job-Command': cmd, _body: `-ERR ${cmd} Command not found!\n` });
        // Like FreeSWITCH, the job's event goes to every connection subscribed to BACKGROUND_JOB.
        for (const [c, events] of this.subscriptions) if (!c.closed && /BACKGROUND_JOB|ALL/.test(events)) void c.write(bytes);
      }, this.options.jobDelayMs ?? 5);
    } else {
      await conn.write(commandReply('-ERR command not found'));
    }
  }
}

export async function startScriptedServer(options: ScriptedServerOptions = {}): Promise<ScriptedEslServer> {
  return new ScriptedEslServer(options).listen();
}
