/**
 * The config intake is bounded: the file's size (refused before it is read whole or parsed), every list
 * and every string, in the file and in CONFMGR_* overrides. Each limit is accepted at its value and
 * refused one above it, by key, with a message that does not quote the oversized value back.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../src/config/index.js';
import { loadHttpSettings } from '../../src/config/http-settings.js';
import { CONFIG_LIMITS } from '../../src/config/limits.js';

const NODE = '{name: fs1, host: 127.0.0.1, password: ClueCon}';
const MIN = `freeswitch:\n  nodes: [${NODE}]\n`;

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): { key: string; message: string }[] {
  try {
    parseConfig(text, 'test.yaml', { env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

function nodes(n: number): string {
  return Array.from({ length: n }, (_, i) => `{name: fs${i}, host: 127.0.0.1, password: p}`).join(', ');
}

function tokens(n: number): string {
  return Array.from({ length: n }, (_, i) => `{token: token-0123456789-${i}, account_id: a}`).join(', ');
}

const dir = mkdtempSync(join(tmpdir(), 'confmgr-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('config limits: the file', () => {
  it('a file above the size limit is refused before parsing, naming the limit', () => {
    const f = join(dir, 'big.yaml');
    writeFileSync(f, `${MIN}# ${'x'.repeat(CONFIG_LIMITS.fileBytes)}\n`);
    for (const load of [() => loadConfigFile(f, { env: {} }), () => loadHttpSettings(f, {})]) {
      let err: unknown;
      try {
        load();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues).toEqual([{ key: '', message: `the file is larger than ${CONFIG_LIMITS.fileBytes} bytes` }]);
    }
    expect(() => parseConfig(`${MIN}# ${'x'.repeat(CONFIG_LIMITS.fileBytes)}\n`, 'text', { env: {} })).toThrow(/larger than 1048576 bytes/);
  });

  it('a file at the size limit is read', () => {
    const f = join(dir, 'at-limit.yaml');
    const head = `${MIN}# `;
    writeFileSync(f, `${head}${'x'.repeat(CONFIG_LIMITS.fileBytes - head.length - 1)}\n`);
    expect(loadConfigFile(f, { env: {} }).freeswitch.nodes).toHaveLength(1);
  });

  it('an endless source (a device that never ends) is refused, not read until memory runs out', () => {
    expect(() => loadConfigFile('/dev/zero', { env: {} })).toThrow(/larger than 1048576 bytes/);
  });
});

describe('config limits: lists', () => {
  it(`freeswitch.nodes: ${CONFIG_LIMITS.nodes} accepted, one more refused`, () => {
    expect(parseConfig(`freeswitch:\n  nodes: [${nodes(CONFIG_LIMITS.nodes)}]\n`, 'x', { env: {} }).freeswitch.nodes).toHaveLength(CONFIG_LIMITS.nodes);
    expect(issuesOf(`freeswitch:\n  nodes: [${nodes(CONFIG_LIMITS.nodes + 1)}]\n`)).toEqual([
      { key: 'freeswitch.nodes', message: `at most ${CONFIG_LIMITS.nodes} FreeSWITCH nodes` },
    ]);
  });

  it(`http.tokens: ${CONFIG_LIMITS.tokens} accepted, one more refused`, () => {
    expect(parseConfig(`${MIN}http:\n  tokens: [${tokens(CONFIG_LIMITS.tokens)}]\n`, 'x', { env: {} }).http.tokens).toHaveLength(CONFIG_LIMITS.tokens);
    expect(issuesOf(`${MIN}http:\n  tokens: [${tokens(CONFIG_LIMITS.tokens + 1)}]\n`)).toEqual([
      { key: 'http.tokens', message: `at most ${CONFIG_LIMITS.tokens} tokens` },
    ]);
  });

  it('publish_participant_event: bounded in the file and in the override; an oversized name is not quoted back', () => {
    const many = Array(CONFIG_LIMITS.publishParticipantEvent + 1).fill('add-member');
    expect(issuesOf(`${MIN}publish_participant_event: [${many.join(', ')}]\n`)).toEqual([
      { key: 'publish_participant_event', message: `at most ${CONFIG_LIMITS.publishParticipantEvent} event names` },
    ]);
    expect(issuesOf(MIN, { CONFMGR_PUBLISH_PARTICIPANT_EVENT: many.join(',') })).toEqual([
      { key: 'publish_participant_event', message: expect.stringMatching(/^at most 256 event names \[from CONFMGR_PUBLISH_PARTICIPANT_EVENT\]$/) },
    ]);
    const long = 'x'.repeat(10_000);
    const issues = issuesOf(`${MIN}publish_participant_event: [add-member, ${long}]\n`);
    expect(issues).toEqual([{ key: 'publish_participant_event[1]', message: `an event name has at most ${CONFIG_LIMITS.eventNameLength} characters` }]);
  });
});

describe('config limits: strings', () => {
  const cases: Array<[string, string, string, number]> = [
    // [key, YAML placing the value, the value's filler, limit]
    ['app_name', `${MIN}app_name: "%"\n`, 'a', CONFIG_LIMITS.appNameLength],
    ['amqp.exchange', `${MIN}amqp: {exchange: "%"}\n`, 'e', CONFIG_LIMITS.amqpNameLength],
    ['amqp.command_queue', `${MIN}amqp: {command_queue: "%"}\n`, 'q', CONFIG_LIMITS.amqpNameLength],
    ['freeswitch.nodes[0].password', 'freeswitch:\n  nodes: [{name: fs1, host: h, password: "%"}]\n', 'p', CONFIG_LIMITS.secretLength],
    ['http.tokens[0].token', `${MIN}http: {tokens: [{token: "%", account_id: a}]}\n`, 't', CONFIG_LIMITS.secretLength],
    ['storage.path', `${MIN}storage: {path: "/%"}\n`, 'd', CONFIG_LIMITS.pathLength - 1],
    ['amqp.url', `${MIN}amqp: {url: "amqp://h/%"}\n`, 'v', CONFIG_LIMITS.urlLength - 'amqp://h/'.length],
    ['storage.url', `${MIN}storage: {url: "postgres://h/%"}\n`, 'v', CONFIG_LIMITS.urlLength - 'postgres://h/'.length],
    ['freeswitch.nodes[0].host', 'freeswitch:\n  nodes: [{name: fs1, host: "%", password: p}]\n', 'h', CONFIG_LIMITS.hostLength],
  ];
  for (const [key, template, filler, limit] of cases) {
    it(`${key}: ${limit} characters of value accepted, one more refused without quoting it`, () => {
      expect(() => parseConfig(template.replace('%', filler.repeat(limit)), 'x', { env: {} })).not.toThrow();
      const issues = issuesOf(template.replace('%', filler.repeat(limit + 1)));
      expect(issues.map((i) => i.key)).toEqual([key]);
      expect(issues[0]!.message).toMatch(/at most \d+ characters/);
      expect(issues[0]!.message).not.toContain(filler.repeat(CONFIG_LIMITS.quotedLength + 1));
    });
  }

  it('IPv6 literals and http.listen are bounded too', () => {
    expect(issuesOf(`freeswitch:\n  nodes: [{name: fs1, host: "${':'.repeat(300)}", password: p}]\n`).map((i) => i.key)).toEqual(['freeswitch.nodes[0].host']);
    const listen = issuesOf(`${MIN}http: {listen: "${'a'.repeat(5_000)}:8000"}\n`);
    expect(listen.map((i) => i.key)).toEqual(['http.listen']);
    expect(listen[0]!.message).not.toContain('a'.repeat(CONFIG_LIMITS.quotedLength + 1));
  });

  it('a password or token with a control character is refused (it would end the ESL auth line / HTTP header)', () => {
    expect(issuesOf('freeswitch:\n  nodes: [{name: fs1, host: h, password: "Clue\\nCon"}]\n')).toEqual([
      { key: 'freeswitch.nodes[0].password', message: 'must not contain control characters' },
    ]);
    expect(issuesOf(`${MIN}http: {tokens: [{token: "0123456789abcdef\\r\\nX: y", account_id: a}]}\n`)).toEqual([
      { key: 'http.tokens[0].token', message: 'must not contain control characters' },
    ]);
  });

  it('ports stay in range (node 1-65535, listen 0-65535), the number shown', () => {
    expect(issuesOf(`freeswitch:\n  nodes: [{name: fs1, host: h, password: p, port: 0}]\n`).map((i) => i.key)).toEqual(['freeswitch.nodes[0].port']);
    expect(issuesOf(`freeswitch:\n  nodes: [{name: fs1, host: h, password: p, port: 65536}]\n`)).toEqual([
      { key: 'freeswitch.nodes[0].port', message: 'expected a TCP port from 1 to 65535 (got 65536)' },
    ]);
    expect(issuesOf(`${MIN}http: {listen: "127.0.0.1:65536"}\n`).map((i) => i.key)).toEqual(['http.listen']);
  });
});

describe('config limits: the error itself', () => {
  it(`lists at most ${CONFIG_LIMITS.reportedIssues} problems and counts the rest`, () => {
    const bad = Array.from({ length: 120 }, (_, i) => `{name: fs${i}, host: h, password: p, port: 0}`).join(', ');
    let err: ConfigError | undefined;
    try {
      parseConfig(`freeswitch:\n  nodes: [${bad}]\n`, 'x', { env: {} });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.issues).toHaveLength(120);
    const lines = err!.message.split('\n');
    expect(lines).toHaveLength(1 + CONFIG_LIMITS.reportedIssues + 1);
    expect(lines.at(-1)).toBe(`  - … and ${120 - CONFIG_LIMITS.reportedIssues} more problems`);
  });

  it('an oversized unknown key is shortened in the message', () => {
    const key = 'k'.repeat(5_000);
    const issues = issuesOf(`${MIN}? ${key}\n: 1\n`); // an explicit key: YAML caps implicit ones at 1024
    expect(issues).toHaveLength(1);
    expect(issues[0]!.key.length).toBeLessThanOrEqual(CONFIG_LIMITS.quotedLength + 1);
    expect(issues[0]!.key).toMatch(/^k+…$/);
  });
});
