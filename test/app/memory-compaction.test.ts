/**
 * memory.compact in the running service (createService over real simulators and the real RabbitMQ):
 * one compaction at start-up, one after a big node's resync once its events have left, none for a
 * small node's resync; none at all when switched off. Observed through the service's own log lines.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { createService, type ServiceHandle } from '../../src/app/service.js';
import { parseConfig } from '../../src/config/index.js';
import { AMQP_URL, deleteAll, uniqueName } from '../helpers/bus-amqp.js';
import { pollUntil } from '../helpers/wait.js';

interface Line {
  msg: string;
  reasons?: string[];
  ms?: number;
  heapMb?: number[];
}

let sims: Simulator[] = [];
let service: ServiceHandle | undefined;
let names: { exchange: string; queue: string } | undefined;

afterEach(async () => {
  await service?.stop('test');
  service = undefined;
  for (const s of sims) await s.close();
  sims = [];
  if (names) await deleteAll([names.exchange], [names.queue]);
  names = undefined;
});

async function simWith(conferences: number, perConference: number): Promise<Simulator> {
  const sim = await startSimulator({ port: 0, heartbeatMs: 0 });
  sims.push(sim);
  for (let c = 0; c < conferences; c++) {
    for (let i = 0; i < perConference; i++) sim.engine.originate({ conference: `room-${c}`, callerIdNumber: String(1000 + i), callerIdName: `Caller ${i}` });
  }
  return sim;
}

async function start(nodes: Array<[string, Simulator]>, compact: boolean): Promise<Line[]> {
  names = { exchange: uniqueName('compact-x'), queue: uniqueName('compact-cmd') };
  const config = parseConfig(
    [
      'freeswitch:',
      '  nodes:',
      ...nodes.map(([name, sim]) => `    - {name: ${name}, host: 127.0.0.1, port: ${sim.port}, password: ClueCon}`),
      `amqp: {url: "${AMQP_URL}", exchange: ${names.exchange}, command_queue: ${names.queue}, flush_timeout_ms: 2000}`,
      `memory: {compact: ${compact}}`,
      "storage: {path: ':memory:'}",
    ].join('\n'),
    'test.yaml',
    { env: {} },
  );
  const lines: Line[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  service = await createService(config, { http: false, commandIntake: false, logger });
  await service.start();
  await pollUntil('nodes synced', () => nodes.every(([n]) => service!.sync.state(n) === 'synced'), 30_000);
  return lines;
}

const compactions = (lines: Line[]): Line[] => lines.filter((l) => l.msg === 'memory compacted after a burst');

describe('memory.compact in the service', () => {
  it("compacts at start-up and after the big node's resync, not after the small one's", async () => {
    const big = await simWith(100, 10); // 1,000 participants: 1,100 synthesized events
    const small = await simWith(2, 2);
    const lines = await start([['big', big], ['small', small]], true);
    expect(compactions(lines).map((l) => l.reasons)).toEqual([['startup']]); // before anything connected
    await pollUntil('the resync compaction', () => compactions(lines).length >= 2, 20_000);
    await new Promise((r) => setTimeout(r, 1_500)); // a second one, if any, would have come by now
    const all = compactions(lines);
    expect(all.map((l) => l.reasons)).toEqual([['startup'], ['resync big']]);
    for (const l of all) {
      expect(l.ms).toBeGreaterThanOrEqual(0);
      expect(l.heapMb).toHaveLength(2);
    }
    // After the resync, not during it.
    const resyncedAt = lines.findIndex((l) => l.msg === 'conference state resynced' && (l as { node?: string }).node === 'big');
    expect(resyncedAt).toBeGreaterThanOrEqual(0);
    expect(lines.indexOf(all[1]!)).toBeGreaterThan(resyncedAt);
  });

  it('memory.compact: false never compacts', async () => {
    const big = await simWith(100, 10);
    const lines = await start([['big', big]], false);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(compactions(lines)).toEqual([]);
  });
});
