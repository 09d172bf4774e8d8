/**
 * Where the operator commands find the service: flags, CONFMGR_* variables, --config / CONFMGR_CONFIG,
 * or — with none of these — a config file in the current directory (./confmgr.yaml, ./config/confmgr.yaml,
 * ./config/confmgr.example.yaml). Only the file's `http` section is needed, so a shell without the
 * service's other secrets can use it. Errors say what is missing and where the CLI looked.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIG_CANDIDATES, clientSettingsFrom } from '../../src/cli/operator.js';
import { runCli } from '../../src/cli/run.js';
import { loadHttpSettings } from '../../src/config/http-settings.js';
import { loadConfigFile } from '../../src/config/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'confmgr-ops-cli-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

// The FreeSWITCH password comes from a variable this shell does not have: the CLI must not care.
const SERVICE_YAML = `freeswitch:
  nodes: [{name: fs1, host: 127.0.0.1, password_env: FS1_PASSWORD_NOT_SET_HERE}]
amqp: {url_env: AMQP_URL_NOT_SET_HERE}
http:
  listen: 0.0.0.0:8123
  tokens:
    - {token: first-token-0123456789, account_id: first}
    - {token: operator-token-0123456789, account_id: ops}
  default_account_id: ops
`;

describe('operator commands: connection settings', () => {
  it('the example config works as is: URL from http.listen, the token of http.default_account_id', () => {
    const example = loadConfigFile(join(ROOT, 'config', 'confmgr.example.yaml'), { env: {} });
    expect(example.http.defaultAccountId).toBe('demo');
    expect(example.freeswitch.heartbeatTimeoutMs).toBe(65_000);
    // A checkout as shipped (a copy, so that an operator's own ./confmgr.yaml here cannot interfere).
    const dir = tempDir({ 'config/confmgr.example.yaml': readFileSync(join(ROOT, 'config', 'confmgr.example.yaml'), 'utf8') });
    const s = clientSettingsFrom({}, {}, dir);
    expect(s).toMatchObject({ url: 'http://127.0.0.1:8000', accountId: 'demo', file: 'config/confmgr.example.yaml', discovered: true });
  });

  it('finds ./confmgr.yaml before config/…, reading only its http section; prefers the default account\'s token', () => {
    const dir = tempDir({ 'confmgr.yaml': SERVICE_YAML, 'config/confmgr.example.yaml': 'not: [valid' });
    const s = clientSettingsFrom({}, {}, dir);
    expect(s).toMatchObject({ url: 'http://127.0.0.1:8123', accountId: 'ops', file: 'confmgr.yaml', discovered: true });
    // --account picks that account's token from the file
    expect(clientSettingsFrom({ account: 'first', config: join(dir, 'confmgr.yaml') }, {}, dir)).toMatchObject({ accountId: 'first', discovered: false });
    // CONFMGR_CONFIG names the file like --config does
    expect(clientSettingsFrom({}, { CONFMGR_CONFIG: join(dir, 'confmgr.yaml') }, '/')).toMatchObject({ accountId: 'ops', url: 'http://127.0.0.1:8123' });
  });

  it('explicit settings are not mixed with a file found by looking', () => {
    const dir = tempDir({ 'confmgr.yaml': SERVICE_YAML });
    expect(() => clientSettingsFrom({ url: 'http://127.0.0.1:9' }, {}, dir)).toThrow(/no account/);
    const s = clientSettingsFrom({}, { CONFMGR_URL: 'http://10.0.0.1:8000', CONFMGR_TOKEN: 'x-token-0123456789', CONFMGR_ACCOUNT: 'acme' }, dir);
    expect(s).toMatchObject({ url: 'http://10.0.0.1:8000', accountId: 'acme', file: undefined });
  });

  it('nothing found: usage error (exit 2) naming the options and the files looked for', async () => {
    const dir = tempDir();
    expect(() => clientSettingsFrom({}, {}, dir)).toThrow(new RegExp(`looked for ${CONFIG_CANDIDATES.join(', ').replace(/\./g, '\\.')}`));
    const io = { stdout: '', stderr: '', env: {}, cwd: dir, out(t: string) { this.stdout += t; }, err(t: string) { this.stderr += t; } };
    expect(await runCli(['conferences'], io)).toBe(2);
    expect(io.stderr).toMatch(/--config FILE/);
  });

  it('a token_env not set in this shell is named', () => {
    const dir = tempDir({ 'c.yaml': 'freeswitch: {nodes: [{name: fs1, host: h, password: x}]}\nhttp: {tokens: [{token_env: OPS_API_TOKEN, account_id: ops}]}\n' });
    expect(() => clientSettingsFrom({ config: 'c.yaml' }, {}, dir)).toThrow(/no API token.*OPS_API_TOKEN not set in this shell/);
    expect(clientSettingsFrom({ config: 'c.yaml' }, { OPS_API_TOKEN: 'from-env-0123456789' }, dir).accountId).toBe('ops');
  });

  it('loadHttpSettings: overrides apply; an invalid http section is a config error naming the key', () => {
    const dir = tempDir({ 'c.yaml': SERVICE_YAML, 'bad.yaml': 'http: {listen: nowhere}\n' });
    expect(loadHttpSettings(join(dir, 'c.yaml'), { CONFMGR_HTTP__LISTEN: '[::1]:9000' })).toMatchObject({ host: '::1', port: 9000 });
    expect(() => loadHttpSettings(join(dir, 'bad.yaml'), {})).toThrow(/http\.listen: expected host:port/);
  });

  it('an unreachable service found through a discovered file says where the settings came from', async () => {
    const dir = tempDir({ 'config/confmgr.yaml': 'http: {listen: "127.0.0.1:1", tokens: [{token: tok-0123456789abcdef, account_id: a}]}\n' });
    const io = { stdout: '', stderr: '', env: {}, cwd: dir, out(t: string) { this.stdout += t; }, err(t: string) { this.stderr += t; } };
    expect(await runCli(['participants', 'room1'], io)).toBe(3);
    expect(io.stderr).toMatch(/from the config file found, config\/confmgr\.yaml/);
  });
});
