/**
 * Secrets never leak: the service runs at log level trace with every line captured (the service's own
 * createLogger, so its redaction is what is tested), with a distinctive ESL password and a RabbitMQ
 * user created for this test. It goes through a normal run, a refused ESL password, a refused AMQP
 * password, an AMQP port where nothing listens, and invalid config files (`confmgr check-config`,
 * secrets in invalid values and in CONFMGR_* overrides). Every captured line, every error message and
 * every CLI output is scanned for each secret.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { runCli, type CliIo } from '../../src/cli/run.js';
import { startSimulator } from '../../src/simulator/index.js';
import { AMQP_URL, deleteAll, rabbitmqctl, uniqueName } from '../helpers/bus-amqp.js';
import { capturingLogger, startRelRig, waitUntil, type RelRig } from '../helpers/rel-service.js';
import { freePort } from '../helpers/ports.js';

const tag = randomBytes(4).toString('hex');
const ESL_SECRET = `EslPw-${tag}-Zq9`;
const AMQP_USER = `rel-secrets-${tag}`;
const AMQP_SECRET = `AmqpPw-${tag}-Xk7`;
const WRONG_AMQP_SECRET = `AmqpWrong-${tag}-Vb3`;
const TOKEN_SECRET = `Token-${tag}-0123456789abcdef`;
const PG_SECRET = `PgPw-${tag}-Mn4`;
/** A secret that is also a valid variable name (letters, digits, _): put under password_env by mistake. */
const NAME_LIKE_SECRET = `SuperSecretPw6x${tag}`;
const SECRETS = [ESL_SECRET, AMQP_SECRET, WRONG_AMQP_SECRET, TOKEN_SECRET, PG_SECRET, NAME_LIKE_SECRET];

const { logger, lines } = capturingLogger('trace');
const messages: string[] = []; // error messages and CLI output, scanned like the log lines
const rigs: RelRig[] = [];
let dir: string;

function amqpUrl(password: string, port?: number): string {
  const u = new URL(AMQP_URL);
  u.username = AMQP_USER;
  u.password = password;
  if (port !== undefined) u.port = String(port);
  return u.toString();
}

const BIN = join(__dirname, '..', '..', 'bin', 'confmgr.js');

/** `confmgr …` as its own process: exit code and stdout + stderr together. */
function runChild(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => resolve({ code, out }));
  });
}

function leaks(text: string): string[] {
  return SECRETS.filter((s) => text.includes(s) || text.includes(encodeURIComponent(s)));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rel-secrets-'));
  await rabbitmqctl('add_user', AMQP_USER, AMQP_SECRET);
  await rabbitmqctl('set_permissions', '-p', '/', AMQP_USER, '.*', '.*', '.*');
}, 60_000);

afterAll(async () => {
  for (const r of rigs.splice(0)) await r.close();
  await rabbitmqctl('delete_user', AMQP_USER).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('secrets in logs (level trace) and error messages', () => {
  it('a normal run with the test user: connect, resync, a command, events, stop', async () => {
    const rig = await startRelRig({ password: ESL_SECRET, amqpUrl: amqpUrl(AMQP_SECRET), logger, http: true, commandIntake: true });
    rigs.push(rig);
    rig.sim.engine.originate({ conference: 'rel-sec', callerIdNumber: '100' });
    await waitUntil('member in registry', () => rig.service.registry.participants('rel-sec').length === 1);
    await rig.service.executor.execute({ kind: 'mute', conference: 'rel-sec', target: 1 });
    expect(await rig.service.publisher.flush(10_000)).toBe(true);
    // An HTTP request with a token (the API logs requests at debug).
    const res = await fetch(`${rig.service.http!.url}/v2/accounts/relacct/conferences`, { headers: { 'x-auth-token': TOKEN_SECRET } });
    messages.push(await res.text());
    await rig.close();
    expect(lines.length).toBeGreaterThan(10); // trace level really captured the run
  }, 45_000);

  it('FreeSWITCH refuses the ESL password', async () => {
    const rig = await startRelRig({
      password: ESL_SECRET,
      simPassword: `other-${tag}`,
      amqpUrl: amqpUrl(AMQP_SECRET),
      logger,
      waitReady: false,
    });
    rigs.push(rig);
    await waitUntil('an auth failure', () => rig.service.cluster.node('fs1').stats().connectAttempts >= 2, 15_000);
    const err = await rig.service.executor.execute({ kind: 'count', conference: 'rel-sec' }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeDefined();
    messages.push(err!.message, JSON.stringify(err), String(err!.stack));
    expect(rig.sim.receivedBytes().toString('latin1')).toContain(`auth ${ESL_SECRET}`); // the only place it belongs
    await rig.close();
  }, 45_000);

  it('RabbitMQ refuses the password, and a port where nothing listens', async () => {
    for (const url of [amqpUrl(WRONG_AMQP_SECRET), amqpUrl(AMQP_SECRET, await freePort())]) {
      const rig = await startRelRig({ password: ESL_SECRET, amqpUrl: url, logger, waitReady: false, commandIntake: true });
      rigs.push(rig);
      const before = lines.length;
      await waitUntil('the service to log broker failures', () => lines.slice(before).filter((l) => /amqp|broker|rabbit/i.test(l)).length >= 2, 15_000);
      expect(rig.service.publisher.connected).toBe(false);
      await rig.close();
    }
  }, 60_000);

  it('config errors (check-config) never echo a secret', async () => {
    const io = (): { io: CliIo; out: string[] } => {
      const out: string[] = [];
      return { io: { out: (t) => void out.push(t), err: (t) => void out.push(t), env: { REL_URL: `not-a-url-${AMQP_SECRET}` } }, out };
    };
    const files: Record<string, string> = {
      'bad-url.yaml': `freeswitch: {nodes: [{name: fs1, host: 127.0.0.1, password: ${ESL_SECRET}}]}\namqp: {url: "amqp//u:${AMQP_SECRET}@h"}\n`,
      'bad-url-space.yaml': `freeswitch: {nodes: [{name: fs1, host: 127.0.0.1, password: ${ESL_SECRET}}]}\namqp: {url: "amqp://u:${AMQP_SECRET}@h x"}\n`,
      'bad-url-env.yaml': `freeswitch: {nodes: [{name: fs1, host: 127.0.0.1, password: ${ESL_SECRET}}]}\namqp: {url_env: REL_URL}\n`,
      'short-token.yaml': `freeswitch: {nodes: [{name: fs1, host: 127.0.0.1, password: ${ESL_SECRET}}]}\nhttp: {tokens: [{token: "${ESL_SECRET.slice(0, 10)}", account_id: a}]}\n`,
      'bad-password-type.yaml': `freeswitch: {nodes: [{name: fs1, host: 127.0.0.1, password: [${ESL_SECRET}]}]}\n`,
      'both-password.yaml': `freeswitch: {nodes: [{name: fs1, host: 127.0.0.1, password: ${ESL_SECRET}, password_env: X}]}\n`,
      'unknown-key.yaml': `freeswitch: {nodes: [{name: fs1, host: 127.0.0.1, passwd: ${ESL_SECRET}}]}\namqp: {url: "amqp://u:${AMQP_SECRET}@h", buffer_size: -1}\n`,
      'yaml-syntax.yaml': `freeswitch: {nodes: [{name: fs1, host: 127.0.0.1, password: ${ESL_SECRET}}]\namqp: {url: "amqp://u:${AMQP_SECRET}@h"\n`,
      'valid.yaml': `freeswitch: {nodes: [{name: fs1, host: 127.0.0.1, password: ${ESL_SECRET}}]}\namqp: {url: "amqp://u:${AMQP_SECRET}@h:5672"}\nhttp: {tokens: [{token: ${TOKEN_SECRET}, account_id: a}]}\n`,
    };
    const codes: Record<string, number> = {};
    for (const [name, text] of Object.entries(files)) {
      const file = join(dir, name);
      writeFileSync(file, text);
      const { io: cliIo, out } = io();
      codes[name] = await runCli(['check-config', file], cliIo);
      messages.push(...out);
      expect(out.join(''), name).toMatch(/\S/);
    }
    // Overrides carrying secrets into invalid places.
    const { io: envIo, out: envOut } = io();
    envIo.env = { CONFMGR_AMQP__URL: `bogus-${AMQP_SECRET}`, CONFMGR_FREESWITCH__NODES__0__PASSWORD: '' };
    codes['env'] = await runCli(['check-config', join(dir, 'valid.yaml')], envIo);
    messages.push(...envOut);
    expect(codes).toEqual({
      'bad-url.yaml': 2,
      'bad-url-space.yaml': 2,
      'bad-url-env.yaml': 2,
      'short-token.yaml': 2,
      'bad-password-type.yaml': 2,
      'both-password.yaml': 2,
      'unknown-key.yaml': 2,
      'yaml-syntax.yaml': 2,
      'valid.yaml': 0,
      env: 2,
    });
  });

  it('a secret or URL where an environment variable NAME goes is refused by key, its value never shown', async () => {
    const node = (extra: string) => `freeswitch: {nodes: [{name: fs1, host: 127.0.0.1, ${extra}}]}\n`;
    // [file text, environment, expected key, expected message]
    const cases: Record<string, [string, NodeJS.ProcessEnv, RegExp, RegExp]> = {
      'amqp-url-in-url-env': [`${node(`password: ${ESL_SECRET}`)}amqp: {url_env: "amqp://u:${AMQP_SECRET}@h:5672"}\n`, {}, /amqp\.url_env/, /looks like a URL/],
      'pg-url-in-storage-url-env': [`${node(`password: ${ESL_SECRET}`)}storage: {url_env: "postgres://u:${PG_SECRET}@db/x"}\n`, {}, /storage\.url_env/, /looks like a URL/],
      'secret-in-password-env': [node(`password_env: "${ESL_SECRET}"`), {}, /freeswitch\.nodes\[0\]\.password_env/, /not the name of an environment variable/],
      'secret-in-token-env': [`${node(`password: x`)}http: {tokens: [{token_env: "${TOKEN_SECRET}", account_id: a}]}\n`, {}, /http\.tokens\[0\]\.token_env/, /not the name of an environment variable/],
      'name-like-secret-in-password-env': [node(`password_env: ${NAME_LIKE_SECRET}`), {}, /freeswitch\.nodes\[0\]\.password_env/, /is not set/],
      'number-in-password-env': [node(`password_env: 31415926`), {}, /freeswitch\.nodes\[0\]\.password_env/, /environment variable/],
      'url-in-url-env-override': [node('password: x'), { CONFMGR_AMQP__URL_ENV: `amqp://u:${AMQP_SECRET}@h` }, /amqp\.url_env/, /looks like a URL.*CONFMGR_AMQP__URL_ENV/],
      'secret-in-password-env-override': [node('password: x'), { CONFMGR_FREESWITCH__NODES__0__PASSWORD_ENV: NAME_LIKE_SECRET }, /password_env/, /is not set/],
    };
    for (const [name, [text, env, key, message]] of Object.entries(cases)) {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, text);
      const out: string[] = [];
      const code = await runCli(['check-config', file], { out: (t) => void out.push(t), err: (t) => void out.push(t), env });
      messages.push(...out);
      const all = out.join('');
      expect([name, code], all).toEqual([name, 2]);
      expect(all, name).toMatch(key);
      expect(all, name).toMatch(message);
      expect(leaks(all), name).toEqual([]);
      expect(all, name).not.toContain('31415926');
    }
  });

  it('`confmgr start` (a child process): exit 2 with the clear message; a SIGHUP reload of such a file logs no secret', async () => {
    const bad = join(dir, 'start-bad.yaml');
    writeFileSync(bad, `freeswitch: {nodes: [{name: fs1, host: 127.0.0.1, password_env: "${ESL_SECRET}"}]}\namqp: {url_env: "amqp://u:${AMQP_SECRET}@h"}\n`);
    const refused = await runChild(['start', '--config', bad], {});
    messages.push(refused.out);
    expect(refused.code).toBe(2);
    expect(refused.out).toMatch(/amqp\.url_env: .*looks like a URL/);
    expect(refused.out).toMatch(/freeswitch\.nodes\[0\]\.password_env: not the name of an environment variable/);
    expect(leaks(refused.out)).toEqual([]);

    // A running service re-reads its file on SIGHUP: the refusal it logs must not carry the secret either.
    const sim = await startSimulator({ host: '127.0.0.1', port: 0, password: ESL_SECRET, heartbeatMs: 0 });
    const exchange = uniqueName('t-rel-sec');
    const queue = uniqueName('t-rel-sec-cmd');
    const file = join(dir, 'start-good.yaml');
    const httpPort = await freePort();
    const write = (amqpSection: string) =>
      writeFileSync(
        file,
        [
          'freeswitch:',
          `  nodes: [{name: fs1, host: 127.0.0.1, port: ${sim.port}, password_env: REL_SEC_ESL_PASSWORD}]`,
          `amqp: {${amqpSection}, exchange: ${exchange}, command_queue: ${queue}}`,
          `http: {listen: "127.0.0.1:${httpPort}"}`,
          'storage: {path: ":memory:"}',
          'log: {level: trace, pretty: false}',
        ].join('\n'),
      );
    write('url_env: REL_SEC_AMQP_URL');
    const child = spawn(process.execPath, [BIN, 'start', '--config', file], {
      env: { ...process.env, REL_SEC_ESL_PASSWORD: ESL_SECRET, REL_SEC_AMQP_URL: amqpUrl(AMQP_SECRET) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await waitUntil('confmgr started', () => out.includes('"confmgr started"'), 30_000, 50);
      write(`url_env: "amqp://u:${WRONG_AMQP_SECRET}@h", url: "amqp://u:${WRONG_AMQP_SECRET}@h x"`);
      child.kill('SIGHUP');
      await waitUntil('the reload refused', () => out.includes('SIGHUP: config invalid'), 15_000, 50);
      const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await sim.close();
      await deleteAll([exchange], [queue]).catch(() => undefined);
    }
    lines.push(...out.split('\n'));
    expect(out.split('\n').find((l) => l.includes('SIGHUP: config invalid'))).toMatch(/amqp\.url_env: looks like a URL/);
    expect(leaks(out)).toEqual([]);
  }, 60_000);

  it('no captured line or message contains a secret', () => {
    const leaked = [...lines, ...messages].map((text) => ({ text, found: leaks(text) })).filter((x) => x.found.length > 0);
    expect(leaked.map((x) => `${x.found.join(',')} in: ${x.text.slice(0, 400)}`)).toEqual([]);
    // Sanity: the scan sees what it should — the user name (not a secret) does appear.
    expect(lines.some((l) => l.includes(AMQP_USER))).toBe(true);
    if (process.env.REL_DUMP) console.log(lines.join("\n"), messages.join("\n"));
    console.log(`secrets: scanned ${lines.length} log lines (trace) and ${messages.length} messages; 0 leaks`);
  });
});
