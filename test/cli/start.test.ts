// `confmgr start` as an operator runs it: a child process with a config file, against the simulator
// and the real RabbitMQ; /readyz, /metrics, SIGHUP reload of the publish filter, SIGTERM shutdown.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.js';
import { freePort } from '../helpers/ports.js';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const root = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'confmgr-start-'));
const suffix = randomBytes(4).toString('hex');
const exchange = `confmgr-start-test-${suffix}`;
const commandQueue = `confmgr-start-test-${suffix}.commands`;

let child: ChildProcess | undefined;
let sim: Awaited<ReturnType<typeof startSimulator>> | undefined;

afterEach(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
  }
  child = undefined;
  await sim?.close();
  sim = undefined;
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createChannel();
  await ch.deleteExchange(exchange).catch(() => undefined);
  await ch.deleteQueue(commandQueue).catch(() => undefined);
  await conn.close();
});

/** Collects the child's JSON log lines and resolves when one matches. */
function logWatcher(proc: ChildProcess) {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const waiters: Array<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  let buf = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      raw.push(line);
      try {
        const obj = JSON.parse(line) as Record<string, unknown>;
        lines.push(obj);
        for (const w of [...waiters]) if (w.pred(obj)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(obj);
        }
      } catch {
        /* not JSON */
      }
    }
  });
  return {
    lines,
    raw,
    waitFor(pred: (l: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> {
      const found = lines.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`log line not seen; got:\n${raw.slice(-20).join('\n')}`)), timeoutMs);
        waiters.push({ pred, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      });
    },
  };
}

async function waitHttp(url: string, status: number, timeoutMs = 20_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.status === status) return res;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer ${status}: ${last}`);
}

describe('confmgr start', () => {
  it('serves /readyz and /metrics, reloads the filter on SIGHUP, stops cleanly on SIGTERM', async () => {
    const password = `pw-${suffix}`;
    sim = await startSimulator({ host: '127.0.0.1', port: 0, password });
    const httpPort = await freePort();
    const file = join(dir, 'confmgr.yaml');
    const write = (publish: string) =>
      writeFileSync(
        file,
        [
          'freeswitch:',
          '  nodes:',
          `    - {name: fs1, host: 127.0.0.1, port: ${sim!.port}, password_env: TEST_FS_PASSWORD}`,
          'amqp:',
          `  exchange: ${exchange}`,
          `  command_queue: ${commandQueue}`,
          `publish_participant_event: ${publish}`,
          'http:',
          `  listen: 127.0.0.1:${httpPort}`,
          'storage:',
          `  path: ${JSON.stringify(join(dir, 'data', 'confmgr.sqlite'))}`,
          'log: {level: info, pretty: false}',
        ].join('\n'),
      );
    write('[add-member, del-member]');

    child = spawn(process.execPath, [join(root, 'bin', 'confmgr.js'), 'start', '--config', file], {
      cwd: root,
      env: { ...process.env, TEST_FS_PASSWORD: password, CONFMGR_AMQP__URL: AMQP_URL },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const logs = logWatcher(child);

    const ready = await waitHttp(`http://127.0.0.1:${httpPort}/readyz`, 200);
    expect(await ready.json()).toMatchObject({ ready: true, nodes: { fs1: { state: 'up', up: true } }, broker: { connected: true } });
    expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);

    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toContain('confmgr_freeswitch_node_state{node="fs1",state="up"} 1');
    expect(metrics).toContain('confmgr_amqp_connected 1');
    expect(metrics).toMatch(/confmgr_amqp_command_intake_connected [01]/);
    expect(metrics).toMatch(/confmgr_process_cpu_seconds_total/);

    // The password never reaches the logs.
    await logs.waitFor((l) => l.msg === 'confmgr started');
    expect(logs.raw.join('\n')).not.toContain(password);

    // SIGHUP: the new publish filter applies without a restart.
    write('[add-member, del-member, mute-member]');
    child.kill('SIGHUP');
    const reloaded = await logs.waitFor((l) => l.msg === 'publish_participant_event reloaded');
    expect(reloaded.publish).toEqual(['add-member', 'del-member', 'mute-member']);

    // An invalid file on SIGHUP is refused and the service keeps running.
    write('[add-member, no-such-event]');
    child.kill('SIGHUP');
    await logs.waitFor((l) => String(l.msg).startsWith('SIGHUP: config invalid'));
    expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);

    // SIGTERM: graceful stop, exit 0.
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(logs.lines.some((l) => l.msg === 'AMQP buffer flushed' && l.flushed === true)).toBe(true);
    expect(logs.lines.some((l) => l.msg === 'stopped')).toBe(true);
    expect(stderr).toBe('');
  }, 60_000);
});

describe('confmgr simulate', () => {
  it('serves the Event Socket on the asked port until SIGINT', async () => {
    child = spawn(process.execPath, [join(root, 'bin', 'confmgr.js'), 'simulate', '--port', '0', '--password', 'sim-secret'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const deadline = Date.now() + 20_000;
    while (!/Event Socket on 127\.0\.0\.1:(\d+)/.test(out)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`simulator did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(out).not.toContain('sim-secret');
    const port = Number(/Event Socket on 127\.0\.0\.1:(\d+)/.exec(out)![1]);
    const { connect } = await import('node:net');
    const sock = connect(port, '127.0.0.1');
    let data = '';
    sock.on('data', (c: Buffer) => (data += c.toString()));
    const seen = async (text: string) => {
      const until = Date.now() + 10_000;
      while (!data.includes(text)) {
        if (Date.now() > until) throw new Error(`not seen: ${text} in ${data}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await seen('Content-Type: auth/request');
    sock.write('auth sim-secret\n\napi conference list\n\n');
    await seen('Reply-Text: +OK accepted');
    await seen('Content-Type: api/response');
    sock.destroy();
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toMatch(/simulator stopped/);
  }, 40_000);
});
