import { afterEach, describe, expect, it } from 'vitest';
import { EslConnection, orderEventNames, type ConnectionOptions } from '../../src/esl/connection.js';
import type { EslEvent } from '../../src/esl/codec.js';
import {
  EslAuthError,
  EslCommandError,
  EslConnectionClosedError,
  EslInvalidArgumentError,
  EslProtocolError,
  EslTimeoutError,
} from '../../src/esl/errors.js';
import type { ConfmgrError } from '../../src/util/errors.js';
import { readRaw, readSent, readSummary } from '../helpers/fixtures.js';
import {
  apiResponse,
  commandReply,
  jsonEvent,
  startScriptedServer,
  type ScriptedConnection,
  type ScriptedEslServer,
  type ScriptedServerOptions,
} from '../helpers/scripted-esl-server.js';

let server: ScriptedEslServer | undefined;
const conns: EslConnection[] = [];

afterEach(async () => {
  for (const c of conns.splice(0)) c.close();
  await server?.close();
  server = undefined;
});

async function serve(options: ScriptedServerOptions = {}): Promise<ScriptedEslServer> {
  server = await startScriptedServer(options);
  return server;
}

async function open(extra: Partial<ConnectionOptions> = {}): Promise<EslConnection> {
  const conn = await EslConnection.connect({ host: '127.0.0.1', port: server!.port, password: 'ClueCon', ...extra });
  conns.push(conn);
  return conn;
}

function closeReason(conn: EslConnection): Promise<ConfmgrError> {
  return conn.state === 'closed' ? Promise.resolve(conn.closeReason!) : new Promise((resolve) => conn.once('close', resolve));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('EslConnection: auth', () => {
  it('authenticates and sends exactly the bytes a real client sent', async () => {
    const s = await serve();
    const conn = await open();
    expect(conn.state).toBe('ready');
    await s.connections[0]!.waitForCommands(1);
    expect(s.connections[0]!.received.toString()).toBe(readSent('auth-ok-then-exit')[0]!.bytes.toString());
  });

  it('a wrong password rejects with EslAuthError and closes (auth-wrong-password.raw)', async () => {
    const s = await serve({ password: 'secret' });
    const err = await EslConnection.connect({ host: '127.0.0.1', port: s.port, password: 'WrongPassword' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EslAuthError);
    expect((err as EslAuthError).code).toBe('ESL_AUTH');
    expect((err as Error).message).toContain('-ERR invalid');
    expect((err as Error).message).not.toContain('WrongPassword');
  });

  it('replays auth-wrong-password.raw byte for byte', async () => {
    const raw = readRaw('auth-wrong-password');
    const s = await serve({
      onCommand: () => true, // the replay below answers
      onConnection: (c) => {
        void c.write(raw.subarray(0, 28));
        void c.waitForCommands(1).then(() => c.writeSplit(raw.subarray(28), [1, 30, 31, 60]).then(() => c.end()));
        return false;
      },
    });
    const err = await EslConnection.connect({ host: '127.0.0.1', port: s.port, password: 'WrongPassword' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EslAuthError);
    expect(s.connections[0]!.received.toString()).toBe(readSent('auth-wrong-password')[0]!.bytes.toString());
  });

  it('a server that never sends auth/request times out with EslTimeoutError', async () => {
    const s = await serve({ onConnection: () => false });
    const err = await EslConnection.connect({ host: '127.0.0.1', port: s.port, password: 'ClueCon', connectTimeoutMs: 150 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EslTimeoutError);
  });

  it('a refused TCP connect rejects with EslConnectionClosedError', async () => {
    const s = await serve();
    const port = s.port;
    await s.close();
    server = undefined;
    const err = await EslConnection.connect({ host: '127.0.0.1', port, password: 'ClueCon' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EslConnectionClosedError);
  });

  it('a password with a newline is refused before any connection is opened', async () => {
    const s = await serve();
    const err = await EslConnection.connect({ host: '127.0.0.1', port: s.port, password: 'ClueCon\n\napi fsctl shutdown' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EslInvalidArgumentError);
    await sleep(50);
    expect(s.connections.length).toBe(0);
  });
});

describe('EslConnection: api and FIFO', () => {
  it('answers api commands with the captured replies', async () => {
    await serve();
    const conn = await open();
    expect(await conn.api('conference list')).toBe('+OK No active conferences.\n');
    expect(await conn.api('conference nosuchconf list')).toBe('-ERR Conference nosuchconf not found\n');
    expect(await conn.api('nosuchcommand foo')).toMatch(/^-ERR nosuchcommand Command not found/);
  });

  it('replays mixed-events-and-api.raw: replies go to their callers in order, events interleave, split at awkward offsets', async () => {
    const raw = readRaw('mixed-events-and-api');
    const sent = readSent('mixed-events-and-api');
    const summary = readSummary('mixed-events-and-api');
    const noeventsAt = sent[5]!.rxOffset;
    const exitAt = sent[6]!.rxOffset;
    const s = await serve({
      onCommand: () => true, // the replay below answers
      onConnection: (c) => {
        void (async () => {
          await c.write(raw.subarray(0, sent[0]!.rxOffset));
          await c.waitForCommands(1); // auth
          await c.write(raw.subarray(sent[0]!.rxOffset, sent[1]!.rxOffset));
          await c.waitForCommands(6); // event, 3 api, noevents: all in flight at once
          const chunk = raw.subarray(sent[1]!.rxOffset, exitAt);
          // Offsets inside "\n\n", inside headers, inside bodies.
          const offsets: number[] = [];
          for (let o = 1; o < chunk.length; o += 211) offsets.push(o, o + 1);
          await c.writeSplit(chunk, offsets.filter((o) => o < chunk.length), 1);
          await c.waitForCommands(7); // exit
          await c.write(raw.subarray(exitAt));
          c.end();
        })();
        return false;
      },
    });
    const conn = await open();
    const events: EslEvent[] = [];
    conn.on('event', (e) => events.push(e));
    const notices: string[] = [];
    conn.on('disconnect-notice', (n) => notices.push(n.body));
    const results = await Promise.all([
      conn.subscribe(['CUSTOM', 'conference::maintenance'], 'plain'),
      conn.api('originate loopback/conf-mixdemo/default &park()'),
      conn.api('conference mixdemo mute all'),
      conn.api('conference mixdemo hup all'),
      conn.noevents(),
    ]);
    expect(results).toEqual([
      '+OK event listener enabled plain',
      '+OK 7690246d-bf93-49a2-93ea-4a23af6b1771\n',
      '+OK mute 3\n',
      '+OK hup 3\n',
      '+OK no longer listening for events',
    ]);
    const expectedEvents = summary.filter((l) => l.contentType.startsWith('text/event-'));
    expect(events.map((e) => e.headers['Action'])).toEqual(expectedEvents.map((l) => l.action));
    expect(noeventsAt).toBeLessThan(exitAt);
    await conn.exit();
    expect(conn.state).toBe('closed');
    expect(notices[0]).toMatch(/^Disconnected, goodbye/);
    // Our client wrote exactly what the real client wrote, command for command.
    expect(s.connections[0]!.received.toString()).toBe(Buffer.concat(sent.map((l) => l.bytes)).toString());
  });

  it('an api timeout rejects with EslTimeoutError, closes the connection, and fails every other pending request', async () => {
    await serve({ onCommand: (cmd) => cmd === 'api hang' || cmd === 'api status' });
    const conn = await open();
    const reason = closeReason(conn);
    const first = conn.api('hang', { timeoutMs: 100 }).catch((e: unknown) => e);
    const second = conn.api('status', { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(await first).toBeInstanceOf(EslTimeoutError);
    const err2 = await second;
    expect(err2).toBeInstanceOf(EslConnectionClosedError);
    expect((err2 as EslConnectionClosedError).details).toMatchObject({ sent: true, reason: 'ESL_TIMEOUT' });
    expect(await reason).toBeInstanceOf(EslTimeoutError);
    expect(conn.state).toBe('closed');
    // Nothing is sent on a closed connection.
    const err3 = await conn.api('status').catch((e: unknown) => e);
    expect(err3).toBeInstanceOf(EslConnectionClosedError);
    expect((err3 as EslConnectionClosedError).details).toMatchObject({ sent: false });
  });

  it('a close in the middle of a reply rejects every pending request at once', async () => {
    let victim: ScriptedConnection | undefined;
    await serve({
      onCommand: (cmd, c) => {
        if (cmd === 'api conference list') victim = c;
        return cmd.startsWith('api '); // all held: only a partial first reply will come
      },
    });
    const conn = await open();
    const p = [conn.api('conference list'), conn.api('status'), conn.api('version')].map((x) => x.catch((e: unknown) => e));
    await server!.connections[0]!.waitForCommands(4);
    while (!victim) await sleep(5);
    const reply = apiResponse('+OK No active conferences.\n');
    await victim!.write(reply.subarray(0, reply.length - 5)); // mid-body
    await sleep(20);
    victim!.destroy();
    const errors = await Promise.all(p);
    for (const e of errors) expect(e).toBeInstanceOf(EslConnectionClosedError);
    expect(conn.inFlight).toBe(0);
  });

  it('a protocol error closes the connection with EslProtocolError and rejects the pending api', async () => {
    await serve({
      onCommand: (cmd, c) => {
        if (cmd !== 'api status') return false;
        void c.write('Content-Type: api/response\nContent-Length: -5\n\n');
        return true;
      },
    });
    const conn = await open();
    const reason = closeReason(conn);
    const err = await conn.api('status').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EslConnectionClosedError);
    expect((err as EslConnectionClosedError).details).toMatchObject({ reason: 'ESL_PROTOCOL' });
    expect(await reason).toBeInstanceOf(EslProtocolError);
    await sleep(20);
    expect(server!.connections[0]!.closed).toBe(true);
  });

  it('an unsolicited reply is a protocol error', async () => {
    await serve();
    const conn = await open();
    const reason = closeReason(conn);
    await server!.connections[0]!.write(apiResponse('+OK surprise\n'));
    expect(await reason).toBeInstanceOf(EslProtocolError);
  });

  it('a reply of the wrong type (command/reply for an api) closes the connection', async () => {
    await serve({ onCommand: (cmd, c) => (cmd === 'api status' ? (void c.write(commandReply('+OK')), true) : false) });
    const conn = await open();
    const err = await conn.api('status').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EslProtocolError);
    expect(conn.state).toBe('closed');
  });

  it('a disconnect notice (FreeSWITCH shutting down) rejects pending requests and closes', async () => {
    await serve({
      onCommand: (cmd, c) => {
        if (cmd !== 'api fsctl shutdown') return false;
        const raw = readRaw('shutdown-requester');
        void c.write(raw.subarray(170)).then(() => c.end());
        return true;
      },
    });
    const conn = await open();
    const reason = closeReason(conn);
    expect(await conn.api('fsctl shutdown')).toBe('+OK\n');
    const r = await reason;
    expect(r).toBeInstanceOf(EslConnectionClosedError);
    expect(r.message).toContain('The system is being shut down');
  });

  it('refuses injection before any byte is written', async () => {
    const s = await serve();
    const conn = await open();
    const attempts = [
      conn.api('status\n\nexit'),
      conn.api('status\rexit'),
      conn.api('status\0'),
      conn.bgapi('originate x\nJob-UUID: y'),
      conn.subscribe(['CUSTOM\nfoo']),
      conn.filter('Unique-ID', 'x\n\napi fsctl shutdown'),
      conn.filter('Unique-ID\n', 'x'),
      conn.api(''),
    ];
    for (const a of attempts) expect(await a.catch((e: unknown) => e)).toBeInstanceOf(EslInvalidArgumentError);
    expect(await conn.api('status')).toContain('');
    await s.connections[0]!.waitForCommands(2);
    expect(s.connections[0]!.received.toString()).toBe('auth ClueCon\n\napi status\n\n');
    expect(conn.state).toBe('ready');
  });
});

describe('EslConnection: bgapi', () => {
  it('correlates bgapi replies with their BACKGROUND_JOB events, including a failing job', async () => {
    const s = await serve();
    const conn = await open();
    expect(await conn.subscribe(['BACKGROUND_JOB'])).toBe('+OK event listener enabled json');
    const [status, failing] = await Promise.all([conn.bgapi('status'), conn.bgapi('conference nosuchconf list')]);
    expect(status.body).toMatch(/^UP 0 years/);
    expect(failing.body).toBe('-ERR Conference nosuchconf not found\n');
    expect(status.jobUuid).not.toBe(failing.jobUuid);
    const sentText = s.connections[0]!.received.toString();
    expect(sentText).toContain(`bgapi status\nJob-UUID: ${status.jobUuid}\n\n`);
    expect(sentText).toContain(`bgapi conference nosuchconf list\nJob-UUID: ${failing.jobUuid}\n\n`);
    expect(conn.pendingJobs).toBe(0);
  });

  it('ignores other jobs, and a refused bgapi rejects with EslCommandError', async () => {
    await serve({
      onCommand: (cmd, c) => {
        if (!cmd.startsWith('bgapi refuse')) return false;
        void c.write(Buffer.concat([jsonEvent({ 'Event-Name': 'BACKGROUND_JOB', 'Job-UUID': 'someone-else', _body: '+OK\n' }), commandReply('-ERR no such command')]));
        return true;
      },
    });
    const conn = await open();
    await conn.subscribe(['BACKGROUND_JOB']);
    const seen: string[] = [];
    conn.on('event', (e) => seen.push(e.headers['Job-UUID'] ?? ''));
    const err = await conn.bgapi('refuse me').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EslCommandError);
    expect(seen).toEqual(['someone-else']);
    expect(conn.state).toBe('ready');
  });

  it('a job whose event never comes times out without closing the connection', async () => {
    await serve({ jobDelayMs: 60_000 });
    const conn = await open();
    await conn.subscribe(['BACKGROUND_JOB']);
    const err = await conn.bgapi('status', { jobTimeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EslTimeoutError);
    expect(conn.state).toBe('ready');
    expect(await conn.api('conference list')).toBe('+OK No active conferences.\n');
  });

  it('a close while a job runs rejects the job with EslConnectionClosedError', async () => {
    await serve({ jobDelayMs: 60_000 });
    const conn = await open();
    await conn.subscribe(['BACKGROUND_JOB']);
    const job = conn.bgapi('status').catch((e: unknown) => e);
    await server!.connections[0]!.waitForCommands(3);
    await sleep(20);
    server!.dropAll();
    expect(await job).toBeInstanceOf(EslConnectionClosedError);
  });
});

describe('orderEventNames', () => {
  it('puts CUSTOM and its subclasses last', () => {
    expect(orderEventNames(['conference::maintenance', 'BACKGROUND_JOB', 'CUSTOM', 'HEARTBEAT'])).toEqual([
      'BACKGROUND_JOB',
      'HEARTBEAT',
      'CUSTOM',
      'conference::maintenance',
    ]);
    expect(orderEventNames(['sofia::register', 'HEARTBEAT'])).toEqual(['HEARTBEAT', 'CUSTOM', 'sofia::register']);
    expect(orderEventNames(['HEARTBEAT', 'HEARTBEAT'])).toEqual(['HEARTBEAT']);
  });
});
