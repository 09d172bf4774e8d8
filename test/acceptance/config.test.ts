/**
 * Black-box acceptance: what an operator meets first. Config files checked by `confmgr check-config`
 * and `confmgr start` (exit 2, every bad key named, nothing started), and `confmgr demo` run from a
 * clean environment.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { deleteBrokerObjects, runCli, tempDir, uniq, writeConfig } from '../helpers/acc-harness.js';

/** "Billion laughs": nine anchors, each a list of nine aliases to the one before (9^9 strings expanded). */
function aliasBomb(): string {
  const keys = 'abcdefghi';
  const lines = [`z_a: &a [${Array(9).fill('lol').join(', ')}]`];
  for (let i = 1; i < keys.length; i++) lines.push(`z_${keys[i]}: &${keys[i]} [${Array(9).fill(`*${keys[i - 1]}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

describe('configuration errors: exit 2, every bad key named, nothing started', () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());

  const node = (extra = '') => `freeswitch:\n  nodes:\n    - name: fs1\n      host: 127.0.0.1\n      password: ClueCon\n${extra}`;
  const cases: Array<[string, string, RegExp[]]> = [
    ['unknown key', `${node('      pasword: x\n')}amqp:\n  exchnage: foo\n`, [/freeswitch\.nodes\[0\]\.pasword/, /amqp\.exchnage/]],
    ['wrong type', `${node('      port: eighty\n      command_connections: two\n')}amqp:\n  buffer_size: -3\n`, [/freeswitch\.nodes\[0\]\.port/, /command_connections/, /amqp\.buffer_size/]],
    ['unknown event name', `${node()}publish_participant_event: [add-member, add-membr]\n`, [/publish_participant_event\[1\].*add-membr/]],
    ['missing password', 'freeswitch:\n  nodes:\n    - name: fs1\n      host: 127.0.0.1\n', [/freeswitch\.nodes\[0\]\.password/]],
    ['password_env not set', 'freeswitch:\n  nodes:\n    - name: fs1\n      host: 127.0.0.1\n      password_env: ACC_SURELY_UNSET_VAR\n', [/password_env.*ACC_SURELY_UNSET_VAR/]],
    ['no nodes', 'freeswitch:\n  nodes: []\n', [/freeswitch\.nodes/]],
    ['YAML syntax', 'freeswitch: [\n', [/YAML/i]],
    ['short token', `${node()}http:\n  tokens: [{token: short, account_id: a}]\n`, [/http\.tokens\[0\]\.token/]],
    ['YAML alias bomb', `${node()}${aliasBomb()}`, [/YAML: too many alias references/]],
    ['YAML alias to no anchor', 'freeswitch: {nodes: [*nosuch]}\n', [/YAML: .*nosuch/]],
  ];

  for (const [what, text, patterns] of cases) {
    it(`${what}: check-config and start both exit 2`, async () => {
      const file = writeConfig(tmp.dir, `${what.replace(/\W+/g, '-')}.yaml`, text);
      const runs = [['check-config', file], ['start', '--config', file]];
      const results = await Promise.all(runs.map((args) => runCli(args)));
      for (const [i, r] of results.entries()) {
        const args = runs[i]!;
        expect([args[0], r.code]).toEqual([args[0], 2]);
        for (const p of patterns) expect(r.stderr).toMatch(p);
        expect(r.stderr).not.toMatch(/at .*\.ts:\d+/); // a message, not a stack trace
        expect(r.stderr).not.toMatch(/^\s+at /m);
        expect(r.stderr).not.toMatch(/ReferenceError|TypeError|RangeError/);
      }
    });
  }

  it('an environment override with a bad value names the variable; a missing file is reported', async () => {
    const file = writeConfig(tmp.dir, 'ok.yaml', node());
    const ok = await runCli(['check-config', file]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/valid/);
    const bad = await runCli(['check-config', file], { env: { CONFMGR_LOG__LEVEL: 'loud' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/log\.level.*CONFMGR_LOG__LEVEL/);
    const missing = await runCli(['check-config', `${tmp.dir}/nope.yaml`]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.yaml/);
    const usage = await runCli(['frobnicate']);
    expect(usage.code).toBe(2);
  });

  it('a URL or secret where a variable name goes: check-config and start exit 2 naming the key, never the value', async () => {
    const file = writeConfig(
      tmp.dir,
      'secret-under-env.yaml',
      'freeswitch:\n  nodes:\n    - {name: fs1, host: 127.0.0.1, password_env: "SuperSecretPw6!"}\n' +
        'amqp:\n  url_env: amqp://u:SuperSecretPw7@127.0.0.1:5672\n' +
        'http:\n  tokens: [{token_env: "SuperSecretPw8-0123456789abcdef", account_id: a}]\n' +
        'storage:\n  url_env: postgres://u:SuperSecretPw9@db/confmgr\n',
    );
    for (const args of [['check-config', file], ['start', '--config', file]]) {
      const r = await runCli(args);
      expect([args[0], r.code]).toEqual([args[0], 2]);
      expect(r.stderr).toMatch(/freeswitch\.nodes\[0\]\.password_env: not the name of an environment variable/);
      expect(r.stderr).toMatch(/amqp\.url_env: looks like a URL/);
      expect(r.stderr).toMatch(/http\.tokens\[0\]\.token_env: not the name of an environment variable/);
      expect(r.stderr).toMatch(/storage\.url_env: looks like a URL/);
      expect(r.stdout + r.stderr).not.toMatch(/SuperSecretPw/);
    }
    // A valid-looking name that is not set: the message says so without repeating a mixed-case name.
    const unset = writeConfig(tmp.dir, 'secret-as-name.yaml', 'freeswitch:\n  nodes:\n    - {name: fs1, host: 127.0.0.1, password_env: SuperSecretPw6}\n');
    for (const args of [['check-config', unset], ['start', '--config', unset]]) {
      const r = await runCli(args);
      expect([args[0], r.code]).toEqual([args[0], 2]);
      expect(r.stderr).toMatch(/freeswitch\.nodes\[0\]\.password_env: the environment variable named here is not set/);
      expect(r.stdout + r.stderr).not.toMatch(/SuperSecretPw/);
    }
  });

  it('secrets are not echoed by check-config', async () => {
    const file = writeConfig(tmp.dir, 'secret.yaml', `${node()}amqp:\n  url: amqp://bob:S3cretPw@127.0.0.1:5672\n`);
    const r = await runCli(['check-config', file]);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('S3cretPw');
    expect(r.stdout + r.stderr).not.toContain('ClueCon');
  });
});

describe('confmgr demo from a clean environment', () => {
  it('runs by itself, prints the events from RabbitMQ and exits 0', async () => {
    const exchange = uniq('acc-demo');
    const home = tempDir();
    try {
      const r = await runCli(['demo', '--exchange', exchange], {
        env: { PATH: process.env.PATH, HOME: home.dir, AMQP_URL: process.env.AMQP_URL },
        cleanEnv: true,
        timeoutMs: 50_000,
      });
      expect([r.code, r.stderr.slice(-2000)]).toEqual([0, expect.any(String)]);
      expect(r.stdout).toMatch(/add-member\s+demo\s+#1\s+Moderator <1001>/);
      expect(r.stdout).toMatch(/conference-destroy/);
      expect(r.stdout).toMatch(/result: OK/);
    } finally {
      home.remove();
      await deleteBrokerObjects(exchange, []);
    }
  }, 55_000);
});
