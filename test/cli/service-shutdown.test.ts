// Graceful stop when the broker is away: events stay buffered (counted), the flush gives up at its
// deadline, the shortfall is reported, and nothing hangs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { createService } from '../../src/app/service.js';
import { silentLogger } from '../../src/util/log.js';
import { startSimulator } from '../../src/simulator/index.js';
import { freePort } from '../helpers/ports.js';

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
