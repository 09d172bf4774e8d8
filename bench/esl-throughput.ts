/**
 * ESL client throughput: real conference::maintenance event frames (demo-json.raw, demo-plain.raw),
 * repeated into a long stream by a small ESL server in a SEPARATE PROCESS (so the server's writes do not
 * share the client's event loop), sent over loopback TCP to, one after the other in this one run:
 *   - a bare socket + EslParser that only counts frames: the transport + framing ceiling of this machine
 *   - the same plus the least decoding any client must do (json: JSON.parse; plain: split header lines)
 *   - confmgr's EslConnection (src/esl/connection.ts): json events decoded whole (JSON.parse), plain events
 *     selectively (a header index over the body, a value URL-decoded when read: src/esl/header-index.ts);
 *     the handler reads them the way parseConferenceEvent does (headerLookup)
 *   - `esl` (npm, 11.x: FreeSwitchClient → FreeSwitchResponse, `call.on('CUSTOM', …)`)
 *   - `modesl` (npm: esl.Connection, `conn.on('esl::event::CUSTOM::**', …)`)
 * Whole client path: socket bytes → parsed event delivered to a handler. Every handler reads the same
 * fields a consumer routes on (Event-Name, Event-Subclass, Action, Member-ID). The clock runs from the
 * `api stream N` request (the server then streams N events) to the N-th event delivered. Each client gets
 * a warm-up run, then R measured rounds; the best round is printed (the machine is shared).
 *
 * Usage: npm run bench -- esl [--events N] [--rounds R] [--clients frames,decode,ours,esl,modesl] [--formats json,plain]
 *                              [--prof DIR]
 *   --prof DIR  run every client with `node --cpu-prof` (profiles in DIR, one per client process)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

import { EslParser, headerLookup, type EslFrame } from '../src/esl/codec.js';
import { readFixture } from '../test/helpers/fixtures.js';
import { EslConnection } from '../src/esl/connection.js';

type Format = 'json' | 'plain';

/** The exact bytes of every event frame in a capture. */
function eventFrames(file: string): Buffer[] {
  const raw = readFixture(file);
  const out: Buffer[] = [];
  let start = 0;
  for (const frame of new EslParser().push(raw)) {
    const headerEnd = raw.indexOf('\n\n', start) + 2;
    const end = headerEnd + Number(frame.headers['Content-Length'] ?? 0);
    if (frame.type.startsWith('text/event-')) out.push(raw.subarray(start, end));
    start = end;
  }
  return out;
}

// -------------------------------------------------------------------------------------------------
// Server (child process)

function frame(headers: string, body = ''): Buffer {
  return Buffer.from(`${headers}\n\n${body}`);
}

async function runServer(): Promise<void> {
  const blocks: Record<Format, { buf: Buffer; count: number; frames: Buffer[] }> = {
    json: makeBlock(eventFrames('demo-json.raw')),
    plain: makeBlock(eventFrames('demo-plain.raw')),
  };
  const ports: Record<string, number> = {};
  for (const format of ['json', 'plain'] as const) {
    const server = createServer((socket) => serveClient(socket, blocks[format]));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    ports[format] = (server.address() as { port: number }).port;
  }
  process.send!({ ports });
  process.on('message', (m) => {
    if (m === 'stop') process.exit(0);
  });
}

function makeBlock(frames: Buffer[]): { buf: Buffer; count: number; frames: Buffer[] } {
  // ~1 MiB of back-to-back frames: big writes, like a busy FreeSWITCH flushing its queue.
  const reps = Math.max(1, Math.round((1 << 20) / frames.reduce((n, f) => n + f.length, 0)));
  const all: Buffer[] = [];
  for (let i = 0; i < reps; i++) all.push(...frames);
  return { buf: Buffer.concat(all), count: all.length, frames };
}

function serveClient(socket: Socket, block: { buf: Buffer; count: number; frames: Buffer[] }): void {
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  socket.write(frame('Content-Type: auth/request'));
  let pending = '';
  socket.on('data', (chunk) => {
    pending += chunk.toString('latin1');
    for (let i = pending.indexOf('\n\n'); i >= 0; i = pending.indexOf('\n\n')) {
      const cmd = pending.slice(0, i);
      pending = pending.slice(i + 2);
      const [line = ''] = cmd.split('\n');
      if (line.startsWith('auth ')) socket.write(frame('Content-Type: command/reply\nReply-Text: +OK accepted'));
      else if (line.startsWith('event ')) {
        socket.write(frame(`Content-Type: command/reply\nReply-Text: +OK event listener enabled ${line.split(' ')[1]}`));
      } else if (line.startsWith('api stream ')) {
        socket.write(frame('Content-Type: api/response\nContent-Length: 4', '+OK\n'));
        void stream(socket, block, Number(line.slice('api stream '.length)));
      } else socket.write(frame('Content-Type: command/reply\nReply-Text: +OK'));
    }
  });
}

async function stream(socket: Socket, block: { buf: Buffer; count: number; frames: Buffer[] }, total: number): Promise<void> {
  let sent = 0;
  while (sent < total && !socket.destroyed) {
    let buf: Buffer;
    let n: number;
    if (total - sent >= block.count) {
      buf = block.buf;
      n = block.count;
    } else {
      const parts: Buffer[] = [];
      for (let i = 0; i < total - sent; i++) parts.push(block.frames[i % block.frames.length]!);
      buf = Buffer.concat(parts);
      n = total - sent;
    }
    sent += n;
    if (!socket.write(buf)) {
      await new Promise<void>((r) => {
        const done = (): void => {
          socket.off('drain', done).off('close', done);
          r();
        };
        socket.on('drain', done).on('close', done);
      });
    }
  }
}

// -------------------------------------------------------------------------------------------------
// Clients

interface Result {
  eventsPerSec: number;
  ms: number;
  rssMb: number;
  checksum: number;
}

/** What every handler does with an event: read the fields a consumer routes on. */
function touch(name: unknown, subclass: unknown, action: unknown, member: unknown): number {
  return (typeof name === 'string' ? name.length : 0) + (typeof subclass === 'string' ? 1 : 0) + (typeof action === 'string' ? action.length : 0) + (member ? 1 : 0);
}

/**
 * Every client: connect, subscribe, then `api stream N` asks the server for N events. A control
 * command keeps the start of the clock identical for all three (measured when the request is sent).
 */
async function benchOurs(port: number, format: Format, total: number): Promise<Result> {
  const conn = await EslConnection.connect({ host: '127.0.0.1', port, password: 'ClueCon' });
  await conn.subscribe(['CUSTOM', 'conference::maintenance'], format);
  let count = 0;
  let checksum = 0;
  const done = new Promise<void>((resolve) => {
    conn.on('event', (e) => {
      const get = headerLookup(e);
      checksum += touch(e.name, e.subclass, get('Action'), get('Member-ID'));
      if (++count === total) resolve();
    });
  });
  const t0 = process.hrtime.bigint();
  await conn.api(`stream ${total}`);
  await done;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const rss = process.memoryUsage().rss;
  conn.close();
  return { eventsPerSec: (total / ms) * 1000, ms, rssMb: rss / 2 ** 20, checksum };
}

type FrameHandler = (frame: EslFrame) => number;

/**
 * Ceilings: a bare socket read the way EslConnection reads it (one reused `onread` buffer) and
 * EslParser framing, then `handle` per event frame. They show this machine's own limits in the same
 * run: `frames` does nothing with the event (transport + framing), `decode` does the least any client
 * must do to read an event (JSON.parse of a json body; a plain body split into its header lines).
 */
async function benchCeiling(port: number, format: Format, total: number, handle: FrameHandler): Promise<Result> {
  const { connect } = await import('node:net');
  const parser = new EslParser();
  const readBuffer = Buffer.allocUnsafeSlow(64 * 1024);
  let count = 0;
  let checksum = 0;
  let t0 = 0n;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const onFrame = (f: EslFrame): void => {
    if (f.type === 'auth/request') socket.write('auth ClueCon\n\n');
    else if (f.headers['Reply-Text'] === '+OK accepted') socket.write(`event ${format} CUSTOM conference::maintenance\n\n`);
    else if (f.type === 'command/reply') {
      t0 = process.hrtime.bigint();
      socket.write(`api stream ${total}\n\n`);
    } else if (f.type === 'text/event-json' || f.type === 'text/event-plain') {
      checksum += handle(f);
      if (++count === total) resolveDone();
    }
  };
  const socket = connect({
    host: '127.0.0.1',
    port,
    onread: {
      buffer: readBuffer,
      callback: (n: number) => {
        parser.feedTransient(readBuffer.subarray(0, n), onFrame);
        return true;
      },
    },
  });
  await done;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const rss = process.memoryUsage().rss;
  socket.destroy();
  return { eventsPerSec: (total / ms) * 1000, ms, rssMb: rss / 2 ** 20, checksum };
}

/** Transport + framing only: the event is not looked at. */
const benchFramesOnly = (port: number, format: Format, total: number): Promise<Result> => benchCeiling(port, format, total, () => NaN);

/**
 * Transport + framing + the least decoding: json → JSON.parse of the body; plain → every header line
 * split into name and raw value (no URL-decoding, no nested body). Then the same four fields are read.
 */
function benchDecodeOnly(port: number, format: Format, total: number): Promise<Result> {
  const handle: FrameHandler =
    format === 'json'
      ? (f) => {
          const h = JSON.parse(f.body) as Record<string, unknown>;
          return touch(h['Event-Name'], h['Event-Subclass'], h['Action'], h['Member-ID']);
        }
      : (f) => {
          const text = f.body;
          const h: Record<string, string> = {};
          const end = text.indexOf('\n\n');
          const stop = end < 0 ? text.length : end;
          for (let pos = 0; pos < stop; ) {
            let eol = text.indexOf('\n', pos);
            if (eol < 0 || eol > stop) eol = stop;
            const colon = text.indexOf(':', pos);
            if (colon > pos && colon < eol) h[text.slice(pos, colon)] = text.slice(colon + 2, eol);
            pos = eol + 1;
          }
          return touch(h['Event-Name'], h['Event-Subclass'], h['Action'], h['Member-ID']);
        };
  return benchCeiling(port, format, total, handle);
}

async function benchEsl(port: number, _format: Format, total: number): Promise<Result> {
  const { FreeSwitchClient } = (await import('esl')) as typeof import('esl');
  const quiet = { debug: () => undefined, info: () => undefined, error: () => undefined };
  const client = new FreeSwitchClient({ host: '127.0.0.1', port, password: 'ClueCon', logger: quiet });
  const call = await new Promise<import('esl').FreeSwitchResponse>((resolve) => {
    client.on('connect', (c) => resolve(c));
    client.connect();
  });
  await call.event_json('CUSTOM', 'conference::maintenance' as 'CUSTOM'); // esl's types know only event names
  let count = 0;
  let checksum = 0;
  const done = new Promise<void>((resolve) => {
    call.on('CUSTOM', (msg: { body: Record<string, unknown> }) => {
      const b = msg.body;
      checksum += touch(b['Event-Name'], b['Event-Subclass'], b['Action'], b['Member-ID']);
      if (++count === total) resolve();
    });
  });
  const t0 = process.hrtime.bigint();
  await call.api(`stream ${total}`);
  await done;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const rss = process.memoryUsage().rss;
  client.end();
  return { eventsPerSec: (total / ms) * 1000, ms, rssMb: rss / 2 ** 20, checksum };
}

interface ModeslEvent {
  getHeader(name: string): string | undefined;
}
interface ModeslConnection {
  events(type: string, events: string, cb: () => void): void;
  api(cmd: string, cb: () => void): void;
  on(event: string, handler: (e: ModeslEvent) => void): void;
  disconnect(): void;
}

async function benchModesl(port: number, format: Format, total: number): Promise<Result> {
  const require = createRequire(import.meta.url);
  const modesl = require('modesl') as { Connection: new (host: string, port: number, password: string, ready: () => void) => ModeslConnection };
  let conn!: ModeslConnection;
  await new Promise<void>((resolve) => {
    conn = new modesl.Connection('127.0.0.1', port, 'ClueCon', resolve);
  });
  await new Promise<void>((resolve) => conn.events(format, 'CUSTOM conference::maintenance', resolve));
  let count = 0;
  let checksum = 0;
  const done = new Promise<void>((resolve) => {
    conn.on('esl::event::CUSTOM::**', (e) => {
      checksum += touch(e.getHeader('Event-Name'), e.getHeader('Event-Subclass'), e.getHeader('Action'), e.getHeader('Member-ID'));
      if (++count === total) resolve();
    });
  });
  const t0 = process.hrtime.bigint();
  await new Promise<void>((resolve) => conn.api(`stream ${total}`, resolve));
  await done;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const rss = process.memoryUsage().rss;
  conn.disconnect();
  return { eventsPerSec: (total / ms) * 1000, ms, rssMb: rss / 2 ** 20, checksum };
}

// -------------------------------------------------------------------------------------------------

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const CLIENTS = {
  frames: ['(ceiling) socket+framing', benchFramesOnly],
  decode: ['(ceiling) +decode', benchDecodeOnly],
  ours: ['confmgr EslConnection', benchOurs],
  esl: ['esl 11.x', benchEsl],
  modesl: ['modesl', benchModesl],
} as const;
type ClientKey = keyof typeof CLIENTS;

/**
 * This process's peak RSS (VmHWM). Not process.resourceUsage().maxRSS: Linux carries ru_maxrss over
 * fork+exec, so every worker would report at least its parent's peak.
 */
function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** One client, one fresh process: a warm-up run, then the measured run; peak RSS is this process's. */
async function runWorker(key: ClientKey, format: Format, port: number, total: number): Promise<void> {
  const run = CLIENTS[key][1];
  await run(port, format, Math.min(5000, total)); // warm-up: JIT, sockets
  const res = await run(port, format, total);
  res.rssMb = peakRssMb();
  process.send!(res);
}

function inWorker(key: ClientKey, format: Format, port: number, total: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const prof = process.argv.includes('--prof') ? ['--cpu-prof', `--cpu-prof-dir=${process.argv[process.argv.indexOf('--prof') + 1]!}`] : [];
    const child = fork(fileURLToPath(import.meta.url), ['--worker', key, format, String(port), String(total)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [...process.execArgv, ...prof],
    });
    let result: Result | undefined;
    child.once('message', (m) => (result = m as Result));
    child.once('exit', (code) => (result ? resolve(result) : reject(new Error(`${key} worker exited with ${code}`))));
    child.once('error', reject);
  });
}

async function main(): Promise<void> {
  const total = arg('events', 60_000);
  const rounds = arg('rounds', 3);
  const listArg = (name: string, all: string[]): string[] => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1]!.split(',') : all);
  const keys = listArg('clients', Object.keys(CLIENTS)) as ClientKey[];
  const formats = listArg('formats', ['json', 'plain']) as Format[];
  const server: ChildProcess = fork(fileURLToPath(import.meta.url), ['--server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { ports } = await new Promise<{ ports: Record<Format, number> }>((resolve) => server.once('message', (m) => resolve(m as { ports: Record<Format, number> })));
  console.log(`ESL event throughput, node ${process.version}: ${total} events per run; the server and each client run in their own`);
  console.log(`process (loopback TCP); best of ${rounds} rounds, clients interleaved; RSS = peak of the client's process.`);
  try {
    for (const format of formats) {
      const frameBytes = eventFrames(format === 'json' ? 'demo-json.raw' : 'demo-plain.raw');
      const avg = frameBytes.reduce((n, f) => n + f.length, 0) / frameBytes.length;
      console.log(`\n== text/event-${format} (${frameBytes.length} distinct real frames, avg ${avg.toFixed(0)} bytes) ==`);
      const best = new Map<ClientKey, Result>();
      for (let r = 0; r < rounds; r++) {
        for (const key of keys) {
          const res = await inWorker(key, format, ports[format], total);
          const prev = best.get(key);
          if (!prev || res.eventsPerSec > prev.eventsPerSec) best.set(key, res);
        }
      }
      const label = (key: ClientKey): string =>
        key === 'decode' ? (format === 'json' ? '(ceiling) +JSON.parse' : '(ceiling) +header split') : CLIENTS[key][0];
      for (const [key, res] of best) {
        console.log(`${label(key).padEnd(26)} ${res.eventsPerSec.toFixed(0).padStart(8)} events/s ${res.ms.toFixed(0).padStart(6)} ms  peak rss ${res.rssMb.toFixed(0)} MiB`);
      }
      const checksums = new Set([...best.values()].map((r) => r.checksum).filter((c) => c !== null && !Number.isNaN(c)));
      const ours = best.get('ours')?.eventsPerSec;
      const esl = best.get('esl')?.eventsPerSec;
      const modesl = best.get('modesl')?.eventsPerSec;
      if (ours !== undefined && esl !== undefined && modesl !== undefined) {
        console.log(`ratio: ${(ours / esl).toFixed(2)}x esl, ${(ours / modesl).toFixed(2)}x modesl, ${(ours / Math.max(esl, modesl)).toFixed(2)}x the faster of the two (goal 3.5x)`);
      }
      const ceiling = best.get('frames')?.eventsPerSec;
      const decodeCeiling = best.get('decode')?.eventsPerSec;
      if (ours !== undefined && (ceiling !== undefined || decodeCeiling !== undefined)) {
        const parts: string[] = [];
        if (ceiling !== undefined) parts.push(`${((ours / ceiling) * 100).toFixed(0)}% of socket+framing`);
        if (decodeCeiling !== undefined) parts.push(`${((ours / decodeCeiling) * 100).toFixed(0)}% of ${label('decode').replace('(ceiling) ', 'socket+framing')}`);
        console.log(`confmgr at ${parts.join(', ')} (the ceilings do nothing else; confmgr also decodes or indexes every header, builds the event, emits it)`);
        if (decodeCeiling !== undefined) {
          const faster = Math.max(esl ?? 0, modesl ?? 0);
          const what = label('decode').replace('(ceiling) +', 'socket+framing+');
          if (faster > 0) console.log(`${what} alone is ${(decodeCeiling / faster).toFixed(2)}x the faster of esl/modesl: no client that decodes every event can beat that ratio here`);
        }
      }
      if (checksums.size > 1) console.log(`note: handlers saw different field values (checksums ${[...checksums].join(', ')})`);
    }
  } finally {
    server.send('stop');
  }
}

const argv = process.argv;
if (argv.includes('--server')) void runServer();
else if (argv.includes('--worker')) {
  const i = argv.indexOf('--worker');
  runWorker(argv[i + 1] as ClientKey, argv[i + 2] as Format, Number(argv[i + 3]), Number(argv[i + 4])).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
