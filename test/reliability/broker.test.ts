/**
 * Broker faults through the whole service: simulator → createService → RabbitMQ → consumer.
 *  - `rabbitmqctl close_connection` on the service's own publisher connection (found by the peer port
 *    of our proxy's upstream socket, so no other test's connection is touched), twice, under steady
 *    load → after dedupe by message_id nothing is missing and each conference's events arrive in the
 *    order the service produced them; duplicates are counted and printed.
 *  - overflow: the broker stalled, more events than `buffer_size` → dropped counted exactly.
 *  - the broker blocking publishing (connection.blocked) → /readyz 503 "broker blocked" until unblocked.
 *  - SIGTERM while the broker holds back confirms (`confmgr start` as a child process): events that were
 *    sent are reported `unconfirmed`, not dropped, the process exits 0, and the consumer gets them all.
 * The whole-broker stop/start is in test/bus/broker-restart.serial.test.ts (publisher alone), not repeated here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PROFILE, startSimulator } from '../../src/simulator/index.js';
import { AMQP_URL, TestConsumer, deleteAll, delay, rabbitmqctl, uniqueName } from '../helpers/bus-amqp.js';
import { freePort } from '../helpers/ports.js';
import { TcpProxy } from '../helpers/rel-proxy.js';
import { dedupeByConference, recordProduced, startRelRig, steadyLoad, waitUntil, type RelRig } from '../helpers/rel-service.js';

const rigs: RelRig[] = [];
const consumers: TestConsumer[] = [];

afterEach(async () => {
  for (const c of consumers.splice(0)) await c.close();
  for (const r of rigs.splice(0)) await r.close();
});

/**
 * Closes the broker connection named `name` (or `name (<instance>)`, as the service names them) whose
 * peer port is one of `ports`. Returns how many.
 */
async function closeOurConnection(name: string, ports: number[]): Promise<number> {
  const { stdout } = await rabbitmqctl('list_connections', '-q', 'pid', 'peer_port', 'client_properties');
  let closed = 0;
  for (const line of stdout.split('\n')) {
    const [pid, port, props] = line.split('\t');
    if (!pid?.startsWith('<') || !ports.includes(Number(port))) continue;
    if (!props?.includes(`{"connection_name","${name}"}`) && !props?.includes(`{"connection_name","${name} (`)) continue;
    await rabbitmqctl('close_connection', pid, 'reliability test: forced close');
    closed++;
  }
  return closed;
}

describe('the service publisher connection force-closed under steady load', () => {
  it('loses nothing (after dedupe by message_id) and keeps per-conference order', async () => {
    const rig = await startRelRig({ amqpProxy: true, amqpReconnect: { baseMs: 100, capMs: 500 } });
    rigs.push(rig);
    const consumer = await TestConsumer.create(rig.exchange, 'conference.event.#');
    consumers.push(consumer);
    const { sim, service } = rig;

    const conferences = new Map<string, number[]>();
    for (const conf of ['rel-bk-1', 'rel-bk-2', 'rel-bk-3']) {
      conferences.set(conf, [1, 2, 3].map((i) => sim.engine.originate({ conference: conf, callerIdNumber: `${conf}-${i}` }).member.id));
    }
    // What the service produced, per conference, in order (the reference for "lost" and "order").
    const produced = recordProduced(service);
    await waitUntil('9 members in the registry', () => service.registry.stats().participants === 9);

    const load = steadyLoad(rig, conferences, 150); // 450 events/s in all
    const closes: number[] = [];
    for (let i = 0; i < 2; i++) {
      await delay(1200);
      await waitUntil('publisher connected', () => service.publisher.connected, 15_000);
      closes.push(await closeOurConnection('confmgr-publisher', rig.amqpProxy!.upstreamLocalPorts()));
    }
    await delay(1000);
    const sent = await load.stop();
    expect(closes).toEqual([1, 1]); // each time exactly our connection was closed

    expect(await service.publisher.flush(30_000)).toBe(true);
    const stats = service.publisher.stats();
    expect(stats.connects).toBeGreaterThanOrEqual(3);
    expect(stats.dropped).toEqual({ overflow: 0, nacked: 0, shutdown: 0 });
    const talkingProduced = [...produced.values()].flat().length;
    expect(talkingProduced).toBeGreaterThanOrEqual(sent); // every simulator event became an outbound event

    const total = [...produced.values()].reduce((a, l) => a + l.length, 0);
    await waitUntil(
      'every produced event at the consumer',
      () => new Set(consumer.received.map((r) => String(r.msg.properties.messageId))).size >= total,
      30_000,
    );
    await delay(300);
    // Dedupe by message_id (at-least-once), keeping the first arrival; then compare with what was produced.
    const { got, unique: seen, duplicates } = dedupeByConference(consumer.received);
    for (const [conf, ids] of produced) expect(got.get(conf), conf).toEqual(ids);
    console.log(
      `broker close_connection x2: simulator fired ${sent} talking events, service produced ${total} events, ` +
        `consumer got ${consumer.received.length} deliveries = ${seen.size} unique + ${duplicates} duplicates; ` +
        `resent ${stats.resent}, connects ${stats.connects}`,
    );
  }, 60_000);
});

describe('overflow beyond buffer_size', () => {
  it('drops exactly (sent − buffer) oldest events and counts them', async () => {
    const bufferSize = 50;
    // No entry/exit tones: their deferred play-file-done events would land in the buffer at a random time.
    const quiet = { ...DEFAULT_PROFILE, enterSound: undefined, exitSound: undefined };
    const rig = await startRelRig({ amqpProxy: true, bufferSize, sim: { profiles: [quiet] } });
    rigs.push(rig);
    const consumer = await TestConsumer.create(rig.exchange, 'conference.event.#');
    consumers.push(consumer);
    const { sim, service } = rig;
    sim.engine.originate({ conference: 'rel-ovf', callerIdNumber: '1' });
    sim.engine.originate({ conference: 'rel-ovf', callerIdNumber: '2' });
    await waitUntil('members in registry', () => service.registry.participants('rel-ovf').length === 2);
    expect(await service.publisher.flush(10_000)).toBe(true);
    const base = service.publisher.stats();
    const baseDelivered = consumer.received.length;

    // The broker stops reading; the connection stays up, so sends go into the window and socket until
    // nothing is confirmed: we drop the connection too, so everything new must wait in the buffer.
    rig.amqpProxy!.pause();
    rig.amqpProxy!.dropAll();
    await waitUntil('publisher disconnected', () => !service.publisher.connected, 10_000);
    // From here nothing can be sent: accepted events wait in the buffer (size 50).
    const afterDrop = service.publisher.stats();
    const waiting = afterDrop.buffered;
    const produced: string[] = [];
    let others = 0; // anything else the service publishes meanwhile (none expected) still takes buffer room
    const unsub = service.events.subscribe((e) => {
      if (e.conferenceId === 'rel-ovf' && (e.event === 'start-talking' || e.event === 'stop-talking')) produced.push(String(e.payload.msg_id));
      else others++;
    });
    const { sent } = await sim.engine.flood({ conference: 'rel-ovf', members: 2, eventsPerSecond: 2000, count: 300 });
    await waitUntil('the service to have produced every event', () => produced.length >= sent, 20_000);
    await delay(300); // anything late would show in `others`
    const s = service.publisher.stats();
    unsub();
    expect(produced).toHaveLength(sent);
    expect(others).toBe(0);
    const offered = waiting + sent;
    expect(s.buffered).toBe(bufferSize);
    expect(s.dropped.overflow - base.dropped.overflow).toBe(offered - bufferSize);

    rig.amqpProxy!.resume();
    expect(await service.publisher.flush(30_000)).toBe(true);
    // What arrives is the newest `bufferSize` (oldest dropped), in order.
    const newest = produced.slice(-bufferSize);
    const arrivedIds = () => new Set(consumer.received.slice(baseDelivered).map((r) => String(r.msg.properties.messageId)));
    await waitUntil('the buffered events at the consumer', () => newest.every((id) => arrivedIds().has(id)), 20_000).catch((e: Error) => {
      const have = arrivedIds();
      throw new Error(
        `${e.message}: ${newest.filter((id) => have.has(id)).length}/${newest.length} of the newest arrived, ` +
          `${produced.filter((id) => have.has(id)).length} of all produced; publisher ${JSON.stringify(service.publisher.stats())}`,
      );
    });
    const arrived = [...new Set(consumer.received.slice(baseDelivered).map((r) => String(r.msg.properties.messageId)))];
    expect(arrived.filter((id) => produced.includes(id))).toEqual(newest);
    console.log(`overflow: buffer ${bufferSize}, offered ${offered}, dropped ${s.dropped.overflow - base.dropped.overflow}`);
  }, 45_000);
});

/** An AMQP 0-9-1 method frame on channel 0 (what RabbitMQ sends on a resource alarm). */
function connectionFrame(methodId: 60 | 61, reason = ''): Buffer {
  const args = methodId === 60 ? Buffer.concat([Buffer.from([Buffer.byteLength(reason)]), Buffer.from(reason)]) : Buffer.alloc(0);
  const payload = Buffer.concat([Buffer.from([0, 10, 0, methodId]), args]);
  const header = Buffer.alloc(7);
  header.writeUInt8(1, 0);
  header.writeUInt32BE(payload.length, 3);
  return Buffer.concat([header, payload, Buffer.from([0xce])]);
}

describe('the broker blocks publishing (connection.blocked)', () => {
  it('/readyz answers 503 "broker blocked" while it lasts, and 200 again after', async () => {
    const rig = await startRelRig({ amqpProxy: true, http: true });
    rigs.push(rig);
    const { service, sim } = rig;
    const readyz = async () => {
      const res = await fetch(`${service.http!.url}/readyz`);
      return { status: res.status, body: (await res.json()) as { broker: Record<string, unknown> } };
    };
    expect((await readyz()).status).toBe(200);
    expect(await service.publisher.flush(10_000)).toBe(true); // idle: the injected frame lands between frames
    rig.amqpProxy!.toClients(connectionFrame(60, 'low on memory'));
    await waitUntil('publisher blocked', () => service.publisher.stats().blocked);
    sim.engine.originate({ conference: 'rel-blocked', callerIdNumber: '1' });
    await waitUntil('events held in the buffer', () => service.publisher.stats().buffered > 0);
    const blocked = await readyz();
    expect(blocked.status).toBe(503);
    expect(blocked.body.broker).toMatchObject({ connected: true, blocked: true, reason: 'broker blocked' });
    expect(blocked.body.broker['buffered']).toBeGreaterThan(0);
    rig.amqpProxy!.toClients(connectionFrame(61));
    expect(await service.publisher.flush(10_000)).toBe(true);
    const again = await readyz();
    expect(again.status).toBe(200);
    expect(again.body.broker).toMatchObject({ connected: true, blocked: false, buffered: 0 });
  }, 30_000);
});

describe('SIGTERM while the broker holds back confirms', () => {
  const root = join(__dirname, '..', '..');
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  it('sent-but-unconfirmed events are not counted as dropped: logged apart, exit 0, all of them delivered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'confmgr-rel-stop-'));
    const sim = await startSimulator({ host: '127.0.0.1', port: 0, password: 'pw', heartbeatMs: 0 });
    const u = new URL(AMQP_URL);
    const proxy = await TcpProxy.start(Number(u.port || 5672), u.hostname);
    u.hostname = '127.0.0.1';
    u.port = String(proxy.port);
    const exchange = uniqueName('t-rel-stop');
    const commandQueue = uniqueName('t-rel-stop-cmd');
    const consumer = await TestConsumer.create(exchange, 'conference.event.#');
    try {
      const httpPort = await freePort();
      const file = join(dir, 'confmgr.yaml');
      writeFileSync(
        file,
        [
          'freeswitch:',
          `  nodes: [{name: fs1, host: 127.0.0.1, port: ${sim.port}, password: pw}]`,
          `amqp: {exchange: ${exchange}, command_queue: ${commandQueue}, flush_timeout_ms: 1000}`,
          `http: {listen: "127.0.0.1:${httpPort}"}`,
          `storage: {path: ${JSON.stringify(join(dir, 'c.sqlite'))}}`,
          'log: {level: info, pretty: false}',
          'shutdown: {timeout_ms: 15000}',
        ].join('\n'),
      );
      child = spawn(process.execPath, [join(root, 'bin', 'confmgr.js'), 'start', '--config', file], {
        cwd: root,
        env: { ...process.env, CONFMGR_AMQP__URL: u.toString() },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const lines: Array<Record<string, unknown>> = [];
      let partial = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        partial += chunk.toString('utf8');
        let nl: number;
        while ((nl = partial.indexOf('\n')) >= 0) {
          const line = partial.slice(0, nl);
          partial = partial.slice(nl + 1);
          try {
            lines.push(JSON.parse(line) as Record<string, unknown>);
          } catch {
            /* not JSON */
          }
        }
      });
      const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
      await waitUntil('confmgr ready', () => lines.some((l) => l.msg === 'confmgr started'), 20_000);
      for (let i = 0; i < 100; i++) {
        const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined);
        if (res?.status === 200) break;
        await delay(100);
      }
      sim.engine.originate({ conference: 'rel-stop', callerIdNumber: '1' });
      sim.engine.originate({ conference: 'rel-stop', callerIdNumber: '2' });
      await consumer.waitFor(2);
      const before = consumer.received.length;

      // The broker stops reading: what confmgr sends from now on waits in the socket, unconfirmed.
      proxy.pause();
      const { sent } = await sim.engine.flood({ conference: 'rel-stop', members: 2, eventsPerSecond: 2000, count: 400 });
      await delay(500);
      child.kill('SIGTERM');
      // The broker reads again once confmgr has given up waiting for confirms (as in an alarm that clears).
      await waitUntil('the publisher to close', () => lines.some((l) => String(l.msg).startsWith('publisher closed')), 15_000);
      proxy.resume();
      const code = await exited;

      const flushed = lines.find((l) => l.msg === 'AMQP buffer flushed');
      expect(flushed).toMatchObject({ flushed: false, dropped: 0 });
      expect(flushed!['unconfirmed']).toBeGreaterThanOrEqual(sent);
      expect(code).toBe(0);
      // Every event that was sent reached the consumer.
      await consumer.waitFor(before + sent, 10_000);
      const talking = consumer.received.slice(before).filter((r) => r.body['event'] === 'start-talking' || r.body['event'] === 'stop-talking');
      expect(new Set(talking.map((r) => String(r.msg.properties.messageId))).size).toBe(sent);
    } finally {
      await consumer.close();
      await proxy.close();
      await sim.close();
      await deleteAll([exchange], [commandQueue, `${commandQueue}.dead`]);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
