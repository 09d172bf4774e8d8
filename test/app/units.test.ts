/**
 * Quick unit checks of the seams between finished pieces: synthesized events marked on the way out,
 * log redaction (secrets and credential-bearing URLs only), error-code tables at every boundary
 * (HTTP, CLI exit, AMQP reply), the leave-marking executor, and the storage driver in the config.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EslParser, decodeEvent, isEventFrame } from '../../src/esl/codec.js';
import { EslOverloadError } from '../../src/esl/errors.js';
import { parseConferenceEvent } from '../../src/conference/events.js';
import { toOutboundEvent } from '../../src/conference/payload.js';
import { ConferenceAmbiguousError, ConferenceNotFoundError } from '../../src/conference/errors.js';
import type { CommandResult, ConferenceCommand } from '../../src/conference/types.js';
import { toReplyError } from '../../src/bus/command-message.js';
import { HTTP_STATUS_BY_CODE, RETRY_AFTER_S_BY_CODE } from '../../src/api/errors.js';
import { EXIT, EXIT_CODE_BY_ERROR_CODE, exitCodeFor } from '../../src/cli/exit-codes.js';
import { createLogger, redactUrl } from '../../src/util/log.js';
import { leaveMarkingExecutor } from '../../src/records/leave-marking-executor.js';
import { ConfigError, parseConfig } from '../../src/config/index.js';
import { readRaw } from '../helpers/fixtures.js';

describe('synthesized events on the way out', () => {
  const ctx = { appName: 'confmgr', appVersion: '0.1.0', nodeName: 'confmgr@test' };
  const events = new EslParser()
    .push(readRaw('demo-json'))
    .filter(isEventFrame)
    .map((f) => parseConferenceEvent(decodeEvent(f), 'fs1')!);
  const member = events.find((e) => e.action === 'add-member')!;
  const conference = events.find((e) => e.member === undefined)!;

  it('received events: synthesized false on the OutboundEvent, no payload key (the seed shape)', () => {
    for (const e of [member, conference]) {
      const out = toOutboundEvent(ctx, e);
      expect(out.synthesized).toBe(false);
      expect(out.payload).not.toHaveProperty('synthesized');
    }
  });

  it('synthesized events: synthesized true on the OutboundEvent and in the payload', () => {
    for (const e of [member, conference]) {
      const out = toOutboundEvent(ctx, { ...e, synthesized: true });
      expect(out.synthesized).toBe(true);
      expect(out.payload['synthesized']).toBe(true);
    }
  });
});

describe('log redaction', () => {
  function capture(): { lines: Array<Record<string, any>>; log: ReturnType<typeof createLogger> } {
    const lines: Array<Record<string, any>> = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l));
        cb();
      },
    });
    return { lines, log: createLogger({ level: 'info', destination }) };
  }

  it('request URLs stay readable; AMQP / storage URLs lose their password; secrets are replaced', () => {
    const { lines, log } = capture();
    log.info({ url: '/v2/accounts/acme/conferences/room?page_size=5' }, 'request');
    log.info({ url: 'amqp://bob:hunter2@rabbit:5672/vh' }, 'raw amqp url under url');
    log.info({ amqp: { url: 'amqp://bob:hunter2@rabbit:5672' }, storage: { url: 'postgres://pg:s3cret@db:5432/confmgr' } }, 'config parts');
    log.info({ config: { amqp: { url: 'amqps://bob:hunter2@rabbit' }, amqpUrl: 'amqp://x:hunter2@h' } }, 'config object');
    log.info({ password: 'pw1', node: { password: 'pw2' }, token: 'tok', tokens: ['a'], headers: { 'x-auth-token': 'tok2' } }, 'secrets');
    const text = lines.map((l) => JSON.stringify(l)).join('\n');
    for (const secret of ['hunter2', 's3cret', 'pw1', 'pw2', '"tok"', 'tok2']) expect(text).not.toContain(secret);
    expect(lines[0]!.url).toBe('/v2/accounts/acme/conferences/room?page_size=5');
    expect(lines[1]!.url).toBe('amqp://bob:***@rabbit:5672/vh');
    expect(lines[2]!.amqp.url).toBe('amqp://bob:***@rabbit:5672');
    expect(lines[2]!.storage.url).toBe('postgres://pg:***@db:5432/confmgr');
    expect(lines[3]!.config.amqp.url).toBe('amqps://bob:***@rabbit');
    expect(lines[4]).toMatchObject({ password: '[redacted]', node: { password: '[redacted]' }, token: '[redacted]', headers: { 'x-auth-token': '[redacted]' } });
  });

  it('redactUrl masks a password and secret-looking query parameters, nothing else', () => {
    expect(redactUrl('amqp://guest:guest@127.0.0.1:5672')).toBe('amqp://guest:***@127.0.0.1:5672');
    expect(redactUrl('postgres://u@db/x?sslmode=require&password=pw')).toBe('postgres://u@db/x?sslmode=require&password=***');
    expect(redactUrl('/v2/websocket?auth_token=abc&x=1')).toBe('/v2/websocket?auth_token=***&x=1');
    expect(redactUrl('/v2/accounts/a/conferences')).toBe('/v2/accounts/a/conferences');
  });
});

describe('error codes at every boundary', () => {
  it('CONFERENCE_AMBIGUOUS: HTTP 409, CLI exit 1, AMQP reply keeps code and nodes', () => {
    expect(HTTP_STATUS_BY_CODE.CONFERENCE_AMBIGUOUS).toBe(409);
    expect(EXIT_CODE_BY_ERROR_CODE.CONFERENCE_AMBIGUOUS).toBe(EXIT.FAILED);
    expect(exitCodeFor('CONFERENCE_AMBIGUOUS')).toBe(EXIT.FAILED);
    expect(toReplyError(new ConferenceAmbiguousError('room', ['fs2', 'fs1']))).toMatchObject({
      code: 'CONFERENCE_AMBIGUOUS',
      details: { nodes: ['fs2', 'fs1'] },
    });
  });

  it('ESL_OVERLOAD: HTTP 503 with Retry-After, CLI exit 1, AMQP reply keeps the code', () => {
    expect(HTTP_STATUS_BY_CODE.ESL_OVERLOAD).toBe(503);
    expect(RETRY_AFTER_S_BY_CODE.ESL_OVERLOAD).toBeGreaterThan(0);
    expect(exitCodeFor('ESL_OVERLOAD')).toBe(EXIT.FAILED);
    expect(toReplyError(new EslOverloadError('node fs1: 5 commands already waiting (max 5)')).code).toBe('ESL_OVERLOAD');
  });
});

describe('leaveMarkingExecutor', () => {
  function rig(nodeFor: (c: string) => Promise<string>) {
    const order: string[] = [];
    const inner = {
      async execute(c: ConferenceCommand): Promise<CommandResult> {
        order.push(`exec ${c.kind}`);
        return { command: c.kind, node: 'fs1', reply: '+OK' };
      },
    };
    let marker: (c: string, t: number | string, n: string) => Promise<unknown> = async (c, t, n) => {
      order.push(`mark ${c} ${t} ${n}`);
    };
    const exec = leaveMarkingExecutor(inner, { locator: { nodeFor }, marker: (c, t, n) => marker(c, t, n) });
    return { order, exec, setMarker: (m: typeof marker) => (marker = m) };
  }

  it('marks before a kick/hup is sent, for member ids and keywords; other commands pass straight', async () => {
    const { order, exec } = rig(async () => 'fs1');
    await exec.execute({ kind: 'kick', conference: 'room', target: 3 });
    await exec.execute({ kind: 'hup', conference: 'room', target: 'all' });
    await exec.execute({ kind: 'mute', conference: 'room', target: 3 });
    expect(order).toEqual(['mark room 3 fs1', 'exec kick', 'mark room all fs1', 'exec hup', 'exec mute']);
  });

  it('an invalid or unlocatable command marks nothing and fails as it would; a marking failure still kicks', async () => {
    const { order, exec, setMarker } = rig(async (c) => {
      if (c === 'dup') throw new ConferenceAmbiguousError('dup', ['fs1', 'fs2']);
      if (c === 'nosuch') throw new ConferenceNotFoundError('nosuch');
      return 'fs1';
    });
    await expect(exec.execute({ kind: 'kick', conference: 'dup', target: 1 })).rejects.toMatchObject({ code: 'CONFERENCE_AMBIGUOUS' });
    await expect(exec.execute({ kind: 'kick', conference: 'nosuch', target: 1 })).rejects.toMatchObject({ code: 'CONFERENCE_NOT_FOUND' });
    await expect(exec.execute({ kind: 'kick', conference: 'room', target: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(order).toEqual([]);
    setMarker(async () => {
      throw new Error('disk full');
    });
    await exec.execute({ kind: 'kick', conference: 'room', target: 1 });
    expect(order).toEqual(['exec kick']);
  });
});

describe('storage driver in the config', () => {
  const base = 'freeswitch:\n  nodes: [{name: fs1, host: 127.0.0.1, password: x}]\n';
  const parse = (storage: string, env: NodeJS.ProcessEnv = {}) => parseConfig(`${base}storage: ${storage}\n`, 'test.yaml', { env });

  it('driver postgres with url or url_env opens PostgreSQL; driver sqlite with path SQLite', () => {
    expect(parse('{driver: postgres, url: "postgres://u:pw@db:5432/c", pool_max: 3}').storage).toEqual({
      driver: 'postgres',
      url: 'postgres://u:pw@db:5432/c',
      poolMax: 3,
    });
    expect(parse('{driver: postgres, url_env: PG}', { PG: 'postgresql://db/c' }).storage).toEqual({ driver: 'postgres', url: 'postgresql://db/c' });
    expect(parse('{driver: sqlite, path: /tmp/x.sqlite}').storage).toEqual({ driver: 'sqlite', path: '/tmp/x.sqlite' });
    expect(parse('{url: "postgres://db/c"}').storage.driver).toBe('postgres');
  });

  it('inconsistent driver settings are config errors naming the key', () => {
    for (const [storage, key] of [
      ['{driver: postgres}', 'storage.url'],
      ['{driver: postgres, path: /tmp/x.sqlite}', 'storage.url'],
      ['{driver: sqlite, url: "postgres://db/c"}', 'storage.url'],
      ['{driver: mysql}', 'storage.driver'],
    ] as const) {
      let err: unknown;
      try {
        parse(storage);
      } catch (e) {
        err = e;
      }
      expect(err, storage).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.map((i) => i.key), storage).toContain(key);
    }
  });
});
