import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../src/cli/run.js';

const root = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'confmgr-cli-'));

function io(env: NodeJS.ProcessEnv = {}): CliIo & { stdout: string; stderr: string } {
  const o = {
    stdout: '',
    stderr: '',
    env,
    out: (t: string) => void (o.stdout += t),
    err: (t: string) => void (o.stderr += t),
  };
  return o;
}

const VALID = `freeswitch:\n  nodes:\n    - {name: fs1, host: 127.0.0.1, password: SuperSecretPw}\namqp: {url: "amqp://bob:hunter2@rabbit:5672"}\n`;
const INVALID = `freeswitch:\n  nodes:\n    - {name: fs1, host: 127.0.0.1, port: 0, password: x}\npublish_participant_event: [add-member, nope-member]\n`;
writeFileSync(join(dir, 'valid.yaml'), VALID);
writeFileSync(join(dir, 'invalid.yaml'), INVALID);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cli: usage and check-config', () => {
  it('prints usage with --help (exit 0) and on no command (exit 2)', async () => {
    const a = io();
    expect(await runCli(['--help'], a)).toBe(0);
    expect(a.stdout).toMatch(/Usage: confmgr/);
    const b = io();
    expect(await runCli([], b)).toBe(2);
    expect(b.stderr).toMatch(/Usage: confmgr/);
  });

  it("--version prints package.json's version (exit 0)", async () => {
    const a = io();
    expect(await runCli(['--version'], a)).toBe(0);
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(a.stdout).toBe(`confmgr ${version}\n`);
  });

  it('rejects an unknown command or option with exit 2', async () => {
    const a = io();
    expect(await runCli(['frobnicate'], a)).toBe(2);
    expect(a.stderr).toMatch(/unknown command "frobnicate"/);
    const b = io();
    expect(await runCli(['conferences', '--bogus'], b)).toBe(2);
    expect(b.stderr).toMatch(/bogus/);
  });

  it('check-config: valid file → exit 0 and a summary without secrets', async () => {
    const a = io();
    expect(await runCli(['check-config', join(dir, 'valid.yaml')], a)).toBe(0);
    expect(a.stdout).toMatch(/OK: .*valid\.yaml is valid/);
    expect(a.stdout).toMatch(/fs1 \(127\.0\.0\.1:8021/);
    expect(a.stdout).toMatch(/publish_participant_event: all events/);
    expect(a.stdout).not.toContain('SuperSecretPw');
    expect(a.stdout).not.toContain('hunter2');
  });

  it('check-config: invalid file → exit 2, every problem with its key', async () => {
    const a = io();
    expect(await runCli(['check-config', join(dir, 'invalid.yaml')], a)).toBe(2);
    expect(a.stderr).toMatch(/freeswitch\.nodes\[0\]\.port: expected a TCP port/);
    expect(a.stderr).toMatch(/publish_participant_event\[1\]: unknown event "nope-member"/);
    expect(a.stdout).toBe('');
  });

  it('check-config: missing file → exit 2; missing argument → exit 2 with usage', async () => {
    const a = io();
    expect(await runCli(['check-config', join(dir, 'nope.yaml')], a)).toBe(2);
    expect(a.stderr).toMatch(/file not found/);
    const b = io();
    expect(await runCli(['check-config'], b)).toBe(2);
    expect(b.stderr).toMatch(/check-config takes one FILE/);
  });

  it('start: an invalid config exits 2 before starting anything', async () => {
    const a = io();
    expect(await runCli(['start', '--config', join(dir, 'invalid.yaml')], a)).toBe(2);
    expect(a.stderr).toMatch(/Invalid configuration/);
    const b = io();
    expect(await runCli(['start'], b)).toBe(2);
    expect(b.stderr).toMatch(/--config FILE/);
  });

  it('the bin script runs the CLI (exit codes reach the shell)', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [join(root, 'bin', 'confmgr.js'), ...args], { cwd: root, timeout: 30_000 }, (err, stdout, stderr) => {
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
        });
      });
    const ok = await run(['check-config', join(root, 'config', 'confmgr.example.yaml')]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/is valid/);
    const bad = await run(['check-config', join(dir, 'invalid.yaml')]);
    expect(bad.code).toBe(2);
  });
});

// A stand-in for the service's HTTP API: Kazoo envelopes, X-Auth-Token, the seed's paths.
interface Seen {
  method: string;
  url: string;
  token: string | undefined;
  body: unknown;
}
let server: Server;
let base: string;
const seen: Seen[] = [];

async function readBody(req: IncomingMessage): Promise<unknown> {
  let s = '';
  for await (const c of req) s += c;
  return s === '' ? undefined : JSON.parse(s);
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = await readBody(req);
    seen.push({ method: req.method!, url: req.url!, token: req.headers['x-auth-token'] as string | undefined, body });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (req.headers['x-auth-token'] !== 'tok-0123456789abcdef') return send(401, { status: 'error', error: '401', message: 'invalid credentials', data: {} });
    const url = req.url!;
    if (req.method === 'GET' && url === '/v2/accounts/acme/conferences') {
      return send(200, {
        status: 'success',
        data: [
          { id: 'demo', name: 'Demo room', members: 2, admins: 1, duration: 125, is_locked: false },
          { id: 'standup', members: 0, admins: 0, duration: 0, is_locked: true },
        ],
      });
    }
    if (req.method === 'GET' && url === '/v2/accounts/acme/conferences/demo/participants') {
      return send(200, {
        status: 'success',
        data: [
          { participant_id: 3, call_id: 'c3', caller_id_name: 'Bob', caller_id_number: '1003', is_moderator: false, speak: true, hear: true, talking: true, floor: true, duration: 61 },
          { participant_id: 1, call_id: 'c1', caller_id_name: 'Moderator', caller_id_number: '1001', is_moderator: true, speak: true, hear: true, talking: false, floor: false, duration: 65 },
        ],
      });
    }
    if (req.method === 'GET' && url === '/v2/accounts/acme/conferences/empty/participants') return send(200, { status: 'success', data: [] });
    if (req.method === 'PUT' && url.startsWith('/v2/accounts/acme/conferences/demo')) {
      return send(200, { status: 'success', data: { ...(body as { data: object }).data, conference_id: 'demo' } });
    }
    if (url.startsWith('/v2/accounts/acme/conferences/nosuch')) {
      return send(404, { status: 'error', error: '404', message: 'Conference nosuch not found', data: { code: 'CONFERENCE_NOT_FOUND', message: 'Conference nosuch not found' } });
    }
    return send(404, { status: 'error', error: '404', message: 'not found', data: {} });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('cli: operator commands against the HTTP API', () => {
  const opts = () => ['--url', base, '--token', 'tok-0123456789abcdef', '--account', 'acme'];

  it('conferences prints a table', async () => {
    const a = io();
    expect(await runCli(['conferences', ...opts()], a)).toBe(0);
    const lines = a.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^CONFERENCE\s+NAME\s+MEMBERS\s+MODERATORS\s+LOCKED\s+DURATION$/);
    expect(lines[1]).toMatch(/^demo\s+Demo room\s+2\s+1\s+no\s+2m05s$/);
    expect(lines[2]).toMatch(/^standup\s+-\s+0\s+0\s+yes\s+0s$/);
    expect(seen.at(-1)).toMatchObject({ method: 'GET', token: 'tok-0123456789abcdef' });
  });

  it('participants prints a table sorted by member id; --json prints the data', async () => {
    const a = io();
    expect(await runCli(['participants', 'demo', ...opts()], a)).toBe(0);
    const lines = a.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+CALLER\s+MODERATOR/);
    expect(lines[1]).toMatch(/^1\s+Moderator <1001>\s+yes/);
    expect(lines[2]).toMatch(/^3\s+Bob <1003>\s+no/);
    const b = io();
    expect(await runCli(['participants', 'empty', ...opts()], b)).toBe(0);
    expect(b.stdout).toBe('No participants.\n');
    const c = io();
    expect(await runCli(['participants', 'demo', '--json', ...opts()], c)).toBe(0);
    expect(JSON.parse(c.stdout)).toHaveLength(2);
  });

  it('member and conference actions send the seed\'s bodies to the seed\'s paths', async () => {
    const cases: Array<[string[], string, unknown]> = [
      [['mute', 'demo', '2'], '/v2/accounts/acme/conferences/demo/participants/2', { data: { action: 'mute' } }],
      [['kick', 'demo', '3'], '/v2/accounts/acme/conferences/demo/participants/3', { data: { action: 'kick' } }],
      [['undeaf', 'demo', 'non_moderator'], '/v2/accounts/acme/conferences/demo/participants', { data: { action: 'undeaf', target: 'non_moderator' } }],
      [['unmute', 'demo', 'all'], '/v2/accounts/acme/conferences/demo/participants', { data: { action: 'unmute', target: 'all' } }],
      [['lock', 'demo'], '/v2/accounts/acme/conferences/demo', { data: { action: 'lock' } }],
      [['unlock', 'demo'], '/v2/accounts/acme/conferences/demo', { data: { action: 'unlock' } }],
    ];
    for (const [args, url, body] of cases) {
      const a = io();
      expect(await runCli([...args, ...opts()], a)).toBe(0);
      expect(a.stdout).toMatch(new RegExp(`^OK: ${args.join(' ')}`));
      expect(seen.at(-1)).toMatchObject({ method: 'PUT', url, body });
    }
  });

  it('a service error exits 1 with its message and code', async () => {
    const a = io();
    expect(await runCli(['mute', 'nosuch', '1', ...opts()], a)).toBe(1);
    expect(a.stderr).toMatch(/Conference nosuch not found \[CONFERENCE_NOT_FOUND\]/);
    const b = io();
    expect(await runCli(['conferences', '--url', base, '--token', 'wrong-token-000000', '--account', 'acme'], b)).toBe(1);
    expect(b.stderr).toMatch(/invalid credentials \[UNAUTHORIZED\]/);
  });

  it('bad arguments exit 2 without a request', async () => {
    const before = seen.length;
    for (const args of [['mute', 'demo'], ['mute', 'demo', 'everyone'], ['lock'], ['participants'], ['conferences', 'extra']]) {
      const a = io();
      expect(await runCli([...args, ...opts()], a)).toBe(2);
      expect(a.stderr).toMatch(/usage|member: expected/);
    }
    const b = io();
    expect(await runCli(['conferences', '--url', base], b)).toBe(2);
    expect(b.stderr).toMatch(/no account/);
    expect(seen.length).toBe(before);
  });

  it('takes url, token and account from the environment or a config file', async () => {
    const a = io({ CONFMGR_URL: base, CONFMGR_TOKEN: 'tok-0123456789abcdef', CONFMGR_ACCOUNT: 'acme' });
    expect(await runCli(['conferences'], a)).toBe(0);
    const port = new URL(base).port;
    const file = join(dir, 'ops.yaml');
    writeFileSync(
      file,
      `freeswitch:\n  nodes: [{name: fs1, host: 127.0.0.1, password: x}]\nhttp:\n  listen: 127.0.0.1:${port}\n  tokens: [{token: tok-0123456789abcdef, account_id: acme}]\n`,
    );
    const b = io();
    expect(await runCli(['conferences', '--config', file], b)).toBe(0);
    expect(b.stdout).toMatch(/Demo room/);
  });

  it('an unreachable service exits 3 with a hint', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const a = io();
    expect(await runCli(['conferences', '--url', `http://127.0.0.1:${port}`, '--account', 'acme'], a)).toBe(3);
    expect(a.stderr).toMatch(/cannot reach confmgr at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED.*Is it running/);
  });
});
