// The README's first command, end to end: simulator + service + the real RabbitMQ at AMQP_URL.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/demo/index.js';
import { BrokerUnreachableError } from '../../src/demo/broker.js';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const root = join(__dirname, '..', '..');
// Our own exchange and conference name: other test files share the broker.
const suffix = randomBytes(4).toString('hex');
const exchanges: string[] = [];

afterAll(async () => {
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createChannel();
  for (const e of exchanges) await ch.deleteExchange(e).catch(() => undefined);
  await conn.close();
});

const SEED_EVENTS = ['add-member', 'del-member', 'start-talking', 'stop-talking', 'mute-member', 'unmute-member', 'deaf-member', 'undeaf-member'];

describe('confmgr demo', () => {
  it('plays the scripted conference and reports every event and command', async () => {
    const exchange = `confmgr-demo-test-${suffix}`;
    exchanges.push(exchange);
    let output = '';
    const summary = await runDemo({ amqpUrl: AMQP_URL, exchange, conference: `demo-${suffix}`, out: (t) => (output += t), pauseMs: 0 });

    expect(summary.missing).toEqual([]);
    expect(summary.commands.filter((c) => !c.ok)).toEqual([]);
    expect(summary.ok).toBe(true);
    expect(summary.commandsOk).toBe(summary.commands.length);
    expect(summary.commands.length).toBeGreaterThanOrEqual(9);
    // 3 joins and 3 leaves (2 hang-ups and a kick), as the script plays them.
    expect(summary.eventsByType['add-member']).toBe(3);
    expect(summary.eventsByType['del-member']).toBe(3);
    expect(summary.eventsByType['kick-member']).toBe(1);
    expect(summary.eventsByType['lock']).toBe(1);
    expect(summary.eventsByType['unlock']).toBe(1);
    expect(summary.eventsByType['conference-create']).toBe(1);
    expect(summary.eventsByType['conference-destroy']).toBe(1);
    // Alice muted alone, then with Bob (non_moderator), and unmuted likewise.
    expect(summary.eventsByType['mute-member']).toBeGreaterThanOrEqual(3);
    expect(summary.eventsByType['unmute-member']).toBeGreaterThanOrEqual(3);
    for (const e of SEED_EVENTS) expect(summary.eventsByType[e], e).toBeGreaterThan(0);
    // Only what publish_participant_event lets through reached RabbitMQ (no floor-change, no play-file).
    expect(summary.eventsByType['floor-change']).toBeUndefined();
    expect(summary.eventsTotal).toBe(Object.values(summary.eventsByType).reduce((a, b) => a + b, 0));

    expect(output).toMatch(/consumer: queue \S+ bound to conference\.event\.#/);
    expect(output).toMatch(/add-member\s+demo-\w+\s+#\d+\s+Alice <1002>/);
    expect(output).toMatch(/Moderator <1001>\s+\(moderator\)/);
    expect(output).toMatch(/commands through the service: (\d+)\/\1 OK/);
    expect(output).toMatch(/result: OK in [\d.]+ s/);
    expect(summary.durationMs).toBeLessThan(30_000);
  }, 60_000);

  it('says how to start RabbitMQ when it cannot reach it (exit code 3 from the CLI)', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const url = `amqp://guest:secretpw@127.0.0.1:${port}`;

    await expect(runDemo({ amqpUrl: url, out: () => undefined })).rejects.toBeInstanceOf(BrokerUnreachableError);

    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(root, 'bin', 'confmgr.js'), 'demo'], { cwd: root, timeout: 30_000, env: { ...process.env, AMQP_URL: url } }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/RabbitMQ is not reachable at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    expect(result.stderr).toMatch(/bash scripts\/ensure-rabbitmq\.sh/);
    expect(result.stderr).not.toContain('secretpw');
  }, 40_000);

  it('`npx confmgr demo` (the README command) exits 0 with the summary', async () => {
    const exchange = `confmgr-demo-cli-${suffix}`;
    exchanges.push(exchange);
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(root, 'bin', 'confmgr.js'), 'demo', '--exchange', exchange, '--conference', `cli-${suffix}`],
        { cwd: root, timeout: 50_000, env: { ...process.env, AMQP_URL } },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Summary/);
    expect(result.stdout).toMatch(/add-member\s+3/);
    expect(result.stdout).toMatch(/result: OK/);
  }, 60_000);
});
