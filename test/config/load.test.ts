import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig, knownEventNames } from '../../src/config/index.js';
import { loadHttpSettings } from '../../src/config/http-settings.js';

const MIN = `
freeswitch:
  nodes:
    - name: fs1
      host: 127.0.0.1
      password: ClueCon
`;

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): { key: string; message: string }[] {
  try {
    parseConfig(text, 'test.yaml', { env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG_INVALID');
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

const dir = mkdtempSync(join(tmpdir(), 'confmgr-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('config: valid files', () => {
  it('fills defaults for a minimal file', () => {
    const c = parseConfig(MIN, 'min.yaml', { env: {} });
    expect(c.freeswitch.nodes).toEqual([{ name: 'fs1', host: '127.0.0.1', port: 8021, password: 'ClueCon', commandConnections: 2 }]);
    expect(c.amqp).toMatchObject({ url: 'amqp://guest:guest@127.0.0.1:5672', exchange: 'conference', bufferSize: 100_000 });
    expect(c.publishParticipantEvent).toBeUndefined(); // absent → all
    expect(c.http).toEqual({
      host: '127.0.0.1',
      port: 8000,
      tokens: [],
      console: true,
      focus: 'node_name',
      limits: {
        maxConnections: 1_000,
        maxConnectionsPerAddress: 100,
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
        keepAliveTimeoutMs: 5_000,
        bodyBytes: 128 * 1024,
        websocketAuthTimeoutMs: 5_000,
        websocketMessageBytes: 64 * 1024,
        websocketSubscriptions: 100,
        websocketWriteCoalesceMs: 16,
      },
    });
    expect(c.log.level).toBe('info');
    expect(c.appName).toBe('confmgr');
  });

  it('loads the shipped example file unchanged', () => {
    const c = loadConfigFile(join(__dirname, '..', '..', 'config', 'confmgr.example.yaml'), { env: {} });
    expect(c.freeswitch.nodes[0]).toMatchObject({ name: 'fs1', port: 8021, commandConnections: 2 });
    expect(c.publishParticipantEvent).toEqual([
      'add-member', 'del-member', 'start-talking', 'stop-talking', 'mute-member', 'unmute-member', 'deaf-member', 'undeaf-member',
    ]);
    expect(c.http.tokens).toEqual([{ token: 'change-me-to-a-long-random-token', accountId: 'demo' }]);
  });

  it('[] publishes nothing, null publishes everything', () => {
    expect(parseConfig(`${MIN}publish_participant_event: []\n`, 'x', { env: {} }).publishParticipantEvent).toEqual([]);
    expect(parseConfig(`${MIN}publish_participant_event: ~\n`, 'x', { env: {} }).publishParticipantEvent).toBeUndefined();
  });

  it('resolves password_env, url_env and token_env from the environment', () => {
    const c = parseConfig(
      `freeswitch:\n  nodes:\n    - {name: fs1, host: fs.example, password_env: FS_PW}\namqp: {url_env: RMQ}\nhttp:\n  tokens: [{token_env: TOK, account_id: acme}]\n`,
      'x',
      { env: { FS_PW: 's3cret', RMQ: 'amqp://u:p@rabbit:5672/vh', TOK: '0123456789abcdef0123' } },
    );
    expect(c.freeswitch.nodes[0]!.password).toBe('s3cret');
    expect(c.amqp.url).toBe('amqp://u:p@rabbit:5672/vh');
    expect(c.http.tokens).toEqual([{ token: '0123456789abcdef0123', accountId: 'acme' }]);
  });

  it('applies CONFMGR_* overrides, converting numbers, booleans and lists', () => {
    const c = parseConfig(MIN, 'x', {
      env: {
        CONFMGR_FREESWITCH__NODES__0__PORT: '8022',
        CONFMGR_FREESWITCH__NODES__0__PASSWORD_ENV: 'OTHER',
        OTHER: 'from-env',
        CONFMGR_LOG__LEVEL: 'debug',
        CONFMGR_LOG__PRETTY: 'false',
        CONFMGR_HTTP__LISTEN: '[::1]:9000',
        CONFMGR_PUBLISH_PARTICIPANT_EVENT: 'add-member, del-member',
        CONFMGR_AMQP__BUFFER_SIZE: '42',
      },
    });
    expect(c.freeswitch.nodes[0]).toMatchObject({ port: 8022, password: 'from-env' });
    expect(c.log).toEqual({ level: 'debug', pretty: false });
    expect(c.http).toMatchObject({ host: '::1', port: 9000 });
    expect(c.publishParticipantEvent).toEqual(['add-member', 'del-member']);
    expect(c.amqp.bufferSize).toBe(42);
  });

  it('an empty CONFMGR_PUBLISH_PARTICIPANT_EVENT publishes nothing', () => {
    expect(parseConfig(MIN, 'x', { env: { CONFMGR_PUBLISH_PARTICIPANT_EVENT: '' } }).publishParticipantEvent).toEqual([]);
  });
});

describe('config: resync listing', () => {
  it('whole by default, paged when asked (also from the environment); anything else is refused by key', () => {
    expect(parseConfig(MIN, 'min.yaml', { env: {} }).freeswitch.resyncListing).toBe('whole');
    expect(parseConfig(`${MIN}  resync_listing: paged\n`, 'p.yaml', { env: {} }).freeswitch.resyncListing).toBe('paged');
    expect(parseConfig(MIN, 'e.yaml', { env: { CONFMGR_FREESWITCH__RESYNC_LISTING: 'paged' } }).freeswitch.resyncListing).toBe('paged');
    const issues = issuesOf(`${MIN}  resync_listing: pages\n`);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.key).toBe('freeswitch.resync_listing');
    expect(issues[0]!.message).toContain('whole or paged');
  });
});

describe('config: http.focus', () => {
  it('node_name by default, switchname when asked (also from the environment); anything else is refused by key', () => {
    expect(parseConfig(MIN, 'min.yaml', { env: {} }).http.focus).toBe('node_name');
    expect(parseConfig(`${MIN}http: { focus: switchname }\n`, 'f.yaml', { env: {} }).http.focus).toBe('switchname');
    expect(parseConfig(MIN, 'e.yaml', { env: { CONFMGR_HTTP__FOCUS: 'switchname' } }).http.focus).toBe('switchname');
    const issues = issuesOf(`${MIN}http: { focus: hostname }\n`);
    expect(issues.map((i) => i.key)).toEqual(['http.focus']);
    expect(issues[0]!.message).toContain('node_name or switchname');
  });
});

describe('config: memory compaction', () => {
  it('on by default; off from the file or the environment; a non-boolean is refused by key', () => {
    expect(parseConfig(MIN, 'min.yaml', { env: {} }).memory.compact).toBe(true);
    expect(parseConfig(`${MIN}memory: { compact: false }\n`, 'f.yaml', { env: {} }).memory.compact).toBe(false);
    expect(parseConfig(MIN, 'e.yaml', { env: { CONFMGR_MEMORY__COMPACT: 'false' } }).memory.compact).toBe(false);
    const issues = issuesOf(`${MIN}memory: { compact: sometimes }\n`);
    expect(issues.map((i) => i.key)).toEqual(['memory.compact']);
    expect(issuesOf(`${MIN}memory: { compaction: true }\n`).map((i) => i.key)).toEqual(['memory.compaction']);
  });
});

describe('config: errors name the key and the problem', () => {
  it('rejects an unknown event name, naming it', () => {
    const issues = issuesOf(`${MIN}publish_participant_event: [add-member, add-membr]\n`);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.key).toBe('publish_participant_event[1]');
    expect(issues[0]!.message).toContain('"add-membr"');
  });

  it('reports every problem at once, each with its key', () => {
    const issues = issuesOf(`
freeswitch:
  nodes:
    - {name: fs1, host: 127.0.0.1, port: eighty, pasword: x}
    - {name: fs1, host: 127.0.0.1, password: y, command_connections: 0}
amqp: {url: http://nope, buffer_size: -1}
http: {listen: localhost}
log: {level: loud}
`);
    const keys = issues.map((i) => i.key);
    expect(keys).toEqual(
      expect.arrayContaining([
        'freeswitch.nodes[0].port',
        'freeswitch.nodes[0].pasword',
        'freeswitch.nodes[0].password',
        'freeswitch.nodes[1].command_connections',
        'freeswitch.nodes[1].name',
        'amqp.url',
        'amqp.buffer_size',
        'http.listen',
        'log.level',
      ]),
    );
    const byKey = Object.fromEntries(issues.map((i) => [i.key, i.message]));
    expect(byKey['freeswitch.nodes[0].port']).toMatch(/TCP port from 1 to 65535.*"eighty"/);
    expect(byKey['freeswitch.nodes[0].pasword']).toMatch(/unknown key/);
    expect(byKey['freeswitch.nodes[0].password']).toMatch(/missing/);
    expect(byKey['freeswitch.nodes[1].name']).toMatch(/duplicate node name "fs1"/);
    expect(byKey['log.level']).toMatch(/one of .*info.*"loud"/);
  });

  it('never echoes a secret value in an error', () => {
    const issues = issuesOf(`${MIN}amqp: {url: "http://user:topsecret@host"}\n`);
    expect(issues[0]!.key).toBe('amqp.url');
    expect(JSON.stringify(issues)).not.toContain('topsecret');
  });

  it('names the missing environment variable', () => {
    const issues = issuesOf(`freeswitch:\n  nodes:\n    - {name: fs1, host: h, password_env: NOPE_PW}\n`);
    expect(issues).toEqual([{ key: 'freeswitch.nodes[0].password_env', message: 'environment variable NOPE_PW is not set' }]);
  });

  it('never echoes a value under *_env: a URL or a secret where a variable name goes is refused by key', () => {
    const issues = issuesOf(
      `freeswitch:\n  nodes:\n    - {name: fs1, host: h, password_env: "pw:Hunter2!x"}\n` +
        `amqp: {url_env: "amqp://u:Hunter2a@h"}\nstorage: {url_env: "postgres://u:Hunter2b@db/x"}\n` +
        `http: {tokens: [{token_env: "tok-Hunter2c-0123456789", account_id: a}, {token_env: 1234567890123456, account_id: b}]}\n`,
    );
    expect(issues).toEqual([
      { key: 'freeswitch.nodes[0].password_env', message: expect.stringMatching(/^not the name of an environment variable/) },
      { key: 'amqp.url_env', message: expect.stringMatching(/^looks like a URL/) },
      { key: 'http.tokens[0].token_env', message: expect.stringMatching(/^not the name of an environment variable/) },
      { key: 'http.tokens[1].token_env', message: expect.stringMatching(/environment variable/) },
      { key: 'storage.url_env', message: expect.stringMatching(/^looks like a URL/) },
    ]);
    expect(JSON.stringify(issues)).not.toMatch(/Hunter2|1234567890123456/);
  });

  it('never echoes user:password@ credentials, whichever key they were put under', () => {
    const issues = issuesOf(`freeswitch:\n  nodes:\n    - {name: fs1, host: "u:Hunter2e@fs.example", password: x}\napp_name: 42\n`, {
      CONFMGR_LOG__LEVEL: 'amqp://u:Hunter2f@h',
    });
    expect(issues.map((i) => i.key).sort()).toEqual(['app_name', 'freeswitch.nodes[0].host', 'log.level']);
    expect(JSON.stringify(issues)).not.toMatch(/Hunter2/);
    expect(issues.find((i) => i.key === 'app_name')!.message).toContain('(got 42)'); // other values are still shown
  });

  it('names a missing variable only when its name has the UPPER_CASE form (anything else may be a pasted secret)', () => {
    const issues = issuesOf(`freeswitch:\n  nodes:\n    - {name: fs1, host: h, password_env: SuperSecretPw6}\namqp: {url_env: RMQ_URL}\n`, { RMQ_URL: 'nope' });
    expect(issues).toEqual([
      { key: 'freeswitch.nodes[0].password_env', message: expect.stringMatching(/^the environment variable named here is not set \(its name is not shown/) },
      { key: 'amqp.url_env', message: 'environment variable RMQ_URL is not an amqp:// or amqps:// URL' },
    ]);
    expect(JSON.stringify(issues)).not.toContain('SuperSecretPw6');
    const f = join(dir, 'tokens.yaml');
    writeFileSync(f, 'http: {tokens: [{token_env: TokenHunter2d, account_id: a}, {token_env: API_TOKEN_X, account_id: b}]}\n');
    expect(loadHttpSettings(f, {}).unresolvedTokenEnv).toEqual(['the variable named in http.tokens[0].token_env', 'API_TOKEN_X']);
  });

  it('refuses password together with password_env', () => {
    const issues = issuesOf(`freeswitch:\n  nodes:\n    - {name: fs1, host: h, password: a, password_env: B}\n`, { B: 'b' });
    expect(issues[0]).toMatchObject({ key: 'freeswitch.nodes[0].password', message: expect.stringContaining('not both') });
  });

  it('says which CONFMGR_ variable a bad value came from', () => {
    const issues = issuesOf(MIN, { CONFMGR_FREESWITCH__NODES__0__PORT: '99999', CONFMGR_LOG__LEVL: 'x' });
    expect(issues).toEqual(
      expect.arrayContaining([
        { key: 'freeswitch.nodes[0].port', message: expect.stringContaining('[from CONFMGR_FREESWITCH__NODES__0__PORT]') },
        { key: 'log.levl', message: expect.stringContaining('unknown key') },
      ]),
    );
  });

  it('reports a missing freeswitch section, YAML syntax errors and a missing file', () => {
    expect(issuesOf('log: {level: info}\n')[0]).toMatchObject({ key: 'freeswitch', message: expect.stringContaining('missing') });
    expect(issuesOf('freeswitch: [\n')[0]!.message).toMatch(/YAML syntax/);
    expect(issuesOf('- a\n- b\n')[0]!.message).toMatch(/mapping/);
    expect(() => loadConfigFile(join(dir, 'nope.yaml'), { env: {} })).toThrow(/file not found/);
  });

  it('loads from a file path', () => {
    const f = join(dir, 'ok.yaml');
    writeFileSync(f, MIN);
    expect(loadConfigFile(f, { env: {} }).freeswitch.nodes[0]!.name).toBe('fs1');
  });

  it('knows the participant events of the seed', () => {
    for (const e of ['add-member', 'del-member', 'start-talking', 'stop-talking', 'mute-member', 'unmute-member', 'deaf-member', 'undeaf-member']) {
      expect(knownEventNames()).toContain(e);
    }
  });
});

describe('config: which CONFMGR_ variables are overrides', () => {
  it('ignores CONFMGR_ variables that do not start with a config key (CLI settings)', () => {
    const c = parseConfig(MIN, 'x', { env: { CONFMGR_URL: 'http://x', CONFMGR_TOKEN: 't', CONFMGR_CONFIG: 'f.yaml', CONFMGR_APP_NAME: 'bridge' } });
    expect(c.appName).toBe('bridge');
  });
});

describe('config: storage', () => {
  it('SQLite by default, PostgreSQL with url or url_env', () => {
    expect(parseConfig(MIN, 'x', { env: {} }).storage).toEqual({ driver: 'sqlite', path: './data/confmgr.sqlite' });
    expect(parseConfig(`${MIN}storage: {path: ":memory:"}\n`, 'x', { env: {} }).storage).toEqual({ driver: 'sqlite', path: ':memory:' });
    expect(parseConfig(`${MIN}storage: {url_env: PG, pool_max: 5}\n`, 'x', { env: { PG: 'postgres://u:p@db/confmgr' } }).storage).toEqual({
      driver: 'postgres',
      url: 'postgres://u:p@db/confmgr',
      poolMax: 5,
    });
  });

  it('refuses path together with url, and a URL that is not postgres', () => {
    expect(issuesOf(`${MIN}storage: {path: a.db, url: "postgres://h/db"}\n`)).toEqual([
      { key: 'storage.path', message: expect.stringContaining('not both') },
    ]);
    const issues = issuesOf(`${MIN}storage: {url: "mysql://u:pw@h/db"}\n`);
    expect(issues[0]!.key).toBe('storage.url');
    expect(JSON.stringify(issues)).not.toContain('pw@');
  });
});

describe('config: hostile YAML is a config error, never a crash', () => {
  // "Billion laughs": nine levels of nine aliases each would expand to 9^9 strings.
  const BOMB = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]']
    .concat('bcdefghi'.split('').map((k, i) => {
      const prev = 'abcdefghi'[i]!;
      return `${k}: &${k} [${Array(9).fill(`*${prev}`).join(', ')}]`;
    }))
    .join('\n');

  it('an alias bomb is refused with a one-line message naming the limit', () => {
    const issues = issuesOf(`${MIN}${BOMB}\n`);
    expect(issues).toEqual([{ key: '', message: expect.stringMatching(/^YAML: too many alias references/) }]);
    expect(issues[0]!.message).not.toContain('\n');
  });

  it('an alias to an anchor that does not exist is refused, not thrown as a ReferenceError', () => {
    const issues = issuesOf('freeswitch: {nodes: [*nosuch]}\n');
    expect(issues).toEqual([{ key: '', message: expect.stringMatching(/^YAML: .*nosuch/) }]);
  });

  it('a few aliases (a shared setting) are still fine', () => {
    const c = parseConfig(`${MIN}  reconnect: &rc {base_ms: 200, cap_ms: 2000}\namqp: {reconnect: *rc}\n`, 'x', { env: {} });
    expect(c.amqp.reconnect).toEqual({ baseMs: 200, capMs: 2000 });
    expect(c.freeswitch.reconnect).toEqual({ baseMs: 200, capMs: 2000 });
  });

  it('the operator commands reading the http section refuse the same bomb with a ConfigError', () => {
    const f = join(dir, 'bomb.yaml');
    writeFileSync(f, `${MIN}${BOMB}\n`);
    expect(() => loadHttpSettings(f, {})).toThrow(ConfigError);
    expect(() => loadHttpSettings(f, {})).toThrow(/too many alias references/);
  });
});

describe('config: recordings.dirs', () => {
  it('FreeSWITCH’s recordings directory by default; a list from the file or the environment; [] allowed', () => {
    expect(parseConfig(MIN, 'x', { env: {} }).recordings).toEqual({ dirs: ['/var/lib/freeswitch/recordings'] });
    expect(parseConfig(`${MIN}recordings: {dirs: [/rec, /srv/rec/]}\n`, 'x', { env: {} }).recordings.dirs).toEqual(['/rec', '/srv/rec/']);
    expect(parseConfig(MIN, 'x', { env: { CONFMGR_RECORDINGS__DIRS: '/a, /b' } }).recordings.dirs).toEqual(['/a', '/b']);
    expect(parseConfig(`${MIN}recordings: {dirs: []}\n`, 'x', { env: {} }).recordings.dirs).toEqual([]);
  });

  it('refuses relative directories, traversal, / and too many, by key', () => {
    const issues = issuesOf(`${MIN}recordings: {dirs: [recordings, /rec/../etc, /, "/ok"]}\n`);
    expect(issues).toEqual([
      { key: 'recordings.dirs[0]', message: expect.stringMatching(/absolute/) },
      { key: 'recordings.dirs[1]', message: expect.stringMatching(/\.\./) },
      { key: 'recordings.dirs[2]', message: expect.stringMatching(/must not be \//) },
    ]);
    const many = Array.from({ length: 65 }, (_, i) => `/r${i}`).join(', ');
    expect(issuesOf(`${MIN}recordings: {dirs: [${many}]}\n`)).toEqual([{ key: 'recordings.dirs', message: 'at most 64 directories' }]);
  });
});
