/**
 * Black-box: `confmgr start` with 256 open files (`ulimit -n 256`) and the default http.limits, flooded
 * with 300 authenticated WebSockets that never send a word. The connection cap is lowered to fit the
 * descriptors (and says so), the connections past it are refused, and /healthz and /readyz keep
 * answering. Nothing else runs: no FreeSWITCH and no broker at the configured ports (/readyz is 503).
 */
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { BIN, CliProcess, ROOT, freePort, tempDir, writeConfig } from '../helpers/acc-harness.js';

const TOKEN = 'descriptor-limit-token-0000';
const tmp = tempDir('confmgr-fd-');
let svc: CliProcess | undefined;
let port = 0;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  port = await freePort();
  const deadPort = await freePort();
  const config = writeConfig(
    tmp.dir,
    'confmgr.yaml',
    `freeswitch:
  nodes: [{name: fs1, host: 127.0.0.1, port: ${deadPort}, password: ClueCon}]
  reconnect: {base_ms: 1000, cap_ms: 5000}
amqp:
  url: amqp://guest:guest@127.0.0.1:${deadPort}
  reconnect: {base_ms: 1000, cap_ms: 5000}
http:
  listen: 127.0.0.1:${port}
  tokens: [{token: ${TOKEN}, account_id: acme}]
storage: {path: ':memory:'}
log: {level: info}
`,
  );
  const env = { ...process.env };
  delete env.FORCE_COLOR;
  const child = spawn('/bin/sh', ['-c', `ulimit -n 256 && exec "${process.execPath}" "${BIN}" start --config "${config}"`], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  svc = new CliProcess(child);
  await svc.waitForOutput(/HTTP listening/, 30_000);
}, 40_000);

afterAll(async () => {
  for (const s of sockets) s.terminate();
  await svc?.stop();
  tmp.remove();
}, 20_000);

async function get(path: string, from: string): Promise<{ status: number; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, localAddress: from, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

describe('a 256-descriptor process under a WebSocket flood', () => {
  it('lowers the cap to fit, refuses the excess, and keeps /healthz and /readyz answering', async () => {
    expect(svc!.output).toMatch(/max_connections lowered to fit the open-file limit/);
    const outcomes: Array<'open' | number | 'closed'> = [];
    for (let i = 0; i < 300; i++) {
      // From three addresses: the per-address cap (100) is not what stops them.
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v2/websocket`, { headers: { 'x-auth-token': TOKEN }, localAddress: `127.0.0.${10 + (i % 3)}` });
      sockets.push(ws);
      outcomes.push(
        await new Promise<'open' | number | 'closed'>((resolve) => {
          ws.once('open', () => resolve('open'));
          ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          ws.once('error', () => resolve('closed'));
        }),
      );
    }
    const opened = outcomes.filter((o) => o === 'open').length;
    // 256 − 64 kept for the rest of the process − 8 reserve − 16 refusals in flight.
    expect(opened).toBe(168);
    expect(outcomes.filter((o) => o !== 'open').every((o) => o === 503 || o === 'closed')).toBe(true);

    for (const [path, from, status] of [
      ['/healthz', '127.0.0.2', 200],
      ['/readyz', '127.0.0.3', 503],
      ['/healthz', '127.0.0.4', 200],
    ] as const) {
      const r = await get(path, from);
      expect(r.status, path).toBe(status);
      expect(r.ms, path).toBeLessThan(2000);
    }
    expect(svc!.running).toBe(true);
    expect(svc!.output).not.toMatch(/EMFILE/);
  }, 60_000);
});
