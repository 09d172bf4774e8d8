/**
 * Conference entry: calls per second the entry service admits on the PIN path, and the time from a
 * call's socket connect to its add-member (p50/p99).
 *
 *   simulator  (this process) FreeSWITCH on both sockets: inbound ESL for confmgr's events, and the
 *              outbound Event Socket for the calls its dialplan hands to confmgr's entry listener
 *   confmgr    (this process) createService (no HTTP, no command intake, SQLite in memory) with
 *              `entry.listen`; one document per conference, each with a member PIN
 *   calls      `--calls` calls, `--concurrency` at a time, spread over `--conferences` conferences;
 *              each keys the right PIN, joins, and hangs up once its add-member is seen
 *
 * Prompts and digit waits take no time in the simulator here: what is measured is confmgr's work
 * (document lookup, record writes, the outbound socket's round trips), not audio.
 *
 * Usage: npm run bench -- entry [--calls 1000] [--concurrency 50] [--conferences 10]
 */
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { createService } from '../src/app/service.js';
import { parseConfig } from '../src/config/index.js';
import { prepareDocument } from '../src/records/index.js';
import { OutboundDialer, startSimulator } from '../src/simulator/index.js';
import { silentLogger } from '../src/util/log.js';
import { AMQP_URL, arg, percentile } from './_bus-common.js';

const CALLS = arg('calls', 1000);
const CONCURRENCY = arg('concurrency', 50);
const CONFERENCES = arg('conferences', 10);

async function main(): Promise<void> {
  const sim = await startSimulator({ port: 0, heartbeatMs: 0, fileDurationMs: 1 });
  const exchange = `confmgr-bench-entry-${randomBytes(4).toString('hex')}`;
  const config = parseConfig(
    `
freeswitch:
  nodes:
    - { name: fs1, host: 127.0.0.1, port: ${sim.port}, password: ClueCon }
amqp: { url: ${AMQP_URL}, exchange: ${exchange} }
entry: { listen: 127.0.0.1:0 }
storage: { path: ':memory:' }
log: { level: silent }
`,
    'bench.yaml',
    { env: {} },
  );
  const service = await createService(config, { logger: silentLogger, http: false, commandIntake: false, instanceName: 'confmgr@bench-entry' });
  await service.start();
  for (let c = 0; c < CONFERENCES; c++) {
    await service.records.documents.create(`bench_${c}`, 'acc_bench', prepareDocument({ conference_numbers: [`9${c}`], member: { pins: ['1234'] } }));
  }
  const socket = `127.0.0.1:${service.entry!.port} async full`;
  const dialer = new OutboundDialer(sim.engine, {
    dialplan: Object.fromEntries(Array.from({ length: CONFERENCES }, (_, c) => [`9${c}`, socket])),
    playMs: 0,
    digitTimeoutMs: 0,
  });

  const started = new Map<string, number>();
  const joined = new Map<string, () => void>();
  const latencies: number[] = [];
  sim.engine.onEvent((e) => {
    if (e.header('Action') !== 'add-member') return;
    const uuid = e.header('Unique-ID') ?? '';
    const t0 = started.get(uuid);
    if (t0 === undefined) return;
    latencies.push(performance.now() - t0);
    joined.get(uuid)?.();
  });

  let next = 0;
  let failed = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < CALLS) {
      const i = next++;
      const call = dialer.dial(`9${i % CONFERENCES}`, { callerIdNumber: String(1000 + (i % 9000)), digits: ['1234'] });
      started.set(call.uuid, performance.now());
      const inConference = new Promise<boolean>((resolve) => {
        joined.set(call.uuid, () => resolve(true));
        void call.ended.then(() => resolve(false));
      });
      if (!(await inConference)) failed++;
      call.hangup();
      await call.ended;
      started.delete(call.uuid);
      joined.delete(call.uuid);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, () => worker()));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(
    JSON.stringify(
      {
        calls: CALLS,
        concurrency: CONCURRENCY,
        conferences: CONFERENCES,
        failed,
        admitted_per_second: Math.round((CALLS - failed) / seconds),
        connect_to_add_member_ms: { p50: +percentile(latencies, 0.5).toFixed(2), p99: +percentile(latencies, 0.99).toFixed(2), max: +(latencies.at(-1) ?? 0).toFixed(2) },
      },
      null,
      2,
    ),
  );
  await dialer.close();
  await service.stop('bench done');
  await sim.close();
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createChannel();
  await ch.deleteExchange(exchange).catch(() => undefined);
  await conn.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
