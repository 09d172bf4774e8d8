// Graceful stop when the broker is away: events stay buffered (counted), the flush gives up at its
// deadline, the shortfall is reported, and nothing hangs. And `confmgr start` as a process against a
// broker that accepted the connection and then stalled: SIGTERM ends it within shutdown.timeout_ms,
// a second signal at once, exit code 1 both ways.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/wait.js';
import { parseConfig } from '../../src/config/index.js';
import { createService } from '../../src/app/service.js';
import { silentLogger } from '../../src/util/log.js';
import { startSimulator } from '../../src/simulator/index.js';
import { freePort } from '../helpers/ports.js';
import { spawnCli, type CliProcess } from '../helpers/acc-harness.js';
import { startStalledAmqp, type StalledAmqp } from '../helpers/stalled-amqp.js';

const dir = mkdtempSync(join(tmpdir(), 'confmgr-shutdown-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('service stop without a broker', () => {
  it('buffers events, reports them at stop, and stops within the flush deadline', async () => {
    const sim = await startSimulator({ host: '127.0.0.1', port: 0, password: 'pw' });
    const amqpPort = await freePort();
    const config = parseConfig(
      [
        'freeswitch:',
        `  nodes: [{name: fs1, host: 127.0.0.1, port: ${sim.port}, password: pw}]`,
        `amqp: {url: "amqp://guest:guest@127.0.0.1:${amqpPort}", flush_timeout_ms: 300, reconnect: {base_ms: 50, cap_ms: 200}}`,
        'http: {listen: "127.0.0.1:0"}',
        `storage: {path: ${JSON.stringify(join(dir, 'c.sqlite'))}}`,
      ].join('\n'),
      'test',
      { env: {} },
    );
    const service = await createService(config, { logger: silentLogger });
    try {
      await service.start();
      const deadline = Date.now() + 10_000;
      while (service.sync.state('fs1') !== 'synced') {
        if (Date.now() > deadline) throw new Error('node never synced');
        await new Promise((r) => setTimeout(r, 20));
      }
      // Not ready: the broker is missing. Still, commands and events work.
      expect(service.readiness()).toMatchObject({ ready: false, nodes: { fs1: { up: true } }, broker: { connected: false } });
      sim.engine.originate({ conference: 'room', callerIdNumber: '1', callerIdName: 'A' });
      sim.engine.originate({ conference: 'room', callerIdNumber: '2', callerIdName: 'B' });
      while (service.publisher.stats().buffered < 3) {
        if (Date.now() > deadline) throw new Error(`events not buffered: ${JSON.stringify(service.publisher.stats())}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const result = await service.executor.execute({ kind: 'mute', conference: 'room', target: 2 });
      expect(result.reply).toMatch(/^\+OK mute 2/);

      const buffered = service.publisher.stats().buffered;
      const t0 = Date.now();
      const stopped = await service.stop('test');
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(stopped.flushed).toBe(false);
      expect(stopped.dropped).toBeGreaterThanOrEqual(buffered);
      const metrics = await service.metrics.metrics();
      expect(metrics).toMatch(/confmgr_events_dropped_total\{event="add-member",reason="shutdown"\} 2/);
      expect(service.readiness().ready).toBe(false);
    } finally {
      await service.stop();
      await sim.close();
    }
  }, 30_000);
});

describe('confmgr start against a stalled broker', () => {
  const TIMEOUT_MS = 2_000;
  /** Process start-up and exit on a loaded machine; before the fix these processes never exited. */
  const MARGIN_MS = 3_000;
  let broker: StalledAmqp | undefined;
  let child: CliProcess | undefined;
  let sim: Awaited<ReturnType<typeof startSimulator>> | undefined;

  afterEach(async () => {
    child?.kill('SIGKILL');
    await child?.exited;
    child = undefined;
    await broker?.close();
    broker = undefined;
    await sim?.close();
    sim = undefined;
  });

  async function startBlocked(mode: 'silent' | 'blocked', timeoutMs: number): Promise<CliProcess> {
    broker = await startStalledAmqp(mode);
    sim = await startSimulator({ host: '127.0.0.1', port: 0, password: 'pw', heartbeatMs: 0 });
    for (const n of ['1', '2', '3']) sim.engine.originate({ conference: 'room', callerIdNumber: n, callerIdName: n });
    const file = join(dir, `stalled-${mode}-${timeoutMs}.yaml`);
    writeFileSync(
      file,
      [
        'freeswitch:',
        `  nodes: [{name: fs1, host: 127.0.0.1, port: ${sim.port}, password: pw}]`,
        `amqp: {url: "${broker.url}", flush_timeout_ms: 1000, reconnect: {base_ms: 50, cap_ms: 200}}`,
        'http: {listen: "127.0.0.1:0"}',
        `storage: {path: ${JSON.stringify(join(dir, `stalled-${mode}-${timeoutMs}.sqlite`))}}`,
        `shutdown: {timeout_ms: ${timeoutMs}}`,
        'log: {level: info}',
      ].join('\n'),
    );
    const p = spawnCli(['start', '--config', file]);
    child = p;
    await p.waitForOutput(/conference state resynced/, 30_000);
    if (mode === 'blocked') {
      // Both AMQP connections are open on the stalled broker: the publisher's confirm channel and the
      // command intake's consumer.
      const b = broker;
      await pollUntil('publisher and intake set up', () => b.seen.includes('confirm.select') && b.seen.includes('basic.consume'), 30_000);
    }
    return p;
  }

  it.each(['blocked', 'silent'] as const)('%s broker: SIGTERM ends the process within shutdown.timeout_ms, exit code 1', async (mode) => {
    const p = await startBlocked(mode, TIMEOUT_MS);
    const t0 = Date.now();
    p.kill('SIGTERM');
    const result = await Promise.race([p.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), TIMEOUT_MS + MARGIN_MS))]);
    const elapsed = Date.now() - t0;
    expect(result, `still running ${elapsed} ms after SIGTERM:\n${p.output.slice(-2000)}`).toBeDefined();
    expect(elapsed).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    expect(result!.code).toBe(1);
    // Says what it gave up on.
    expect(p.stdout).toMatch(/abandoned|shutdown deadline passed/);
  }, 60_000);

  it('blocked broker: a second signal ends the process at once', async () => {
    const p = await startBlocked('blocked', 60_000);
    p.kill('SIGTERM');
    await p.waitForOutput(/shutting down/, 10_000);
    const t0 = Date.now();
    p.kill('SIGINT');
    const result = await Promise.race([p.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), MARGIN_MS))]);
    expect(result, `still running ${Date.now() - t0} ms after the second signal:\n${p.output.slice(-2000)}`).toBeDefined();
    expect(result!.code).toBe(1);
    expect(p.stdout).toMatch(/second signal: exiting now/);
  }, 60_000);
});
