/**
 * The fault scenarios with PostgreSQL storage (simulator → createService → RabbitMQ, records in a real
 * PostgreSQL server started for this file), checking the conferencecall records in PostgreSQL itself:
 *  - FreeSWITCH restarted mid-flood: every vanished call's record ends `leaved`, every call present
 *    after the restart has exactly one open `joined` record, nothing duplicated
 *  - the publisher's AMQP connection force-closed (`rabbitmqctl close_connection`) under load while
 *    calls join and leave: every event delivered, records intact
 *  - PostgreSQL itself stopped and started again on the same port and data directory while events flow:
 *    the service publishes every event all along; records whose writes failed while PostgreSQL was down
 *    are repaired once it is back (a call that left → `leaved`, a call that joined → one `joined`
 *    record), and the tracker's writes resume
 *  - PostgreSQL stalled (SIGSTOP: sockets open, no answers): reads and writes fail in bounded time
 *    instead of hanging, events flow, and the records are right after SIGCONT
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestConsumer, delay, rabbitmqctl } from '../helpers/bus-amqp.js';
import { freePort } from '../helpers/ports.js';
import { freshDatabase, startTempPostgres, type TempPostgres } from '../helpers/postgres.js';
import { dedupeByConference, recordProduced, registryMembers, simMembers, startRelRig, steadyLoad, waitUntil, type RelRig } from '../helpers/rel-service.js';

const rigs: RelRig[] = [];
const consumers: TestConsumer[] = [];
let shared: TempPostgres;

beforeAll(async () => {
  shared = await startTempPostgres();
}, 120_000);
afterAll(async () => {
  await shared?.stop();
}, 60_000);
afterEach(async () => {
  for (const c of consumers.splice(0)) await c.close();
  for (const r of rigs.splice(0)) await r.close();
});

async function rig(options: Parameters<typeof startRelRig>[0]): Promise<{ r: RelRig; consumer: TestConsumer }> {
  const r = await startRelRig(options);
  rigs.push(r);
  const consumer = await TestConsumer.create(r.exchange, 'conference.event.#');
  consumers.push(consumer);
  return { r, consumer };
}

interface Row {
  conference_id: string;
  reference_id: string;
  status: string;
  tm_delete: string;
}

/** The conferencecall rows as PostgreSQL holds them (read with a connection of its own). */
async function rows(url: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>('SELECT conference_id, reference_id, status, tm_delete FROM conferencecalls ORDER BY tm_create')).rows;
  } finally {
    await client.end();
  }
}

function rowsOf(all: Row[], callId: string): Row[] {
  return all.filter((r) => r.reference_id === callId);
}

function unique(consumer: TestConsumer, event?: string): Array<Record<string, unknown>> {
  const seen = new Set<string>();
  const out: Array<Record<string, unknown>> = [];
  for (const m of consumer.received) {
    const id = String(m.msg.properties.messageId);
    if (seen.has(id)) continue;
    seen.add(id);
    if (event === undefined || m.body.event === event) out.push(m.body);
  }
  return out;
}

/** start/stop-talking toggles at `perSecond` until a member is gone (the simulator restarted). */
function talkFlood(sim: RelRig['sim'], conference: string, ids: number[], perSecond: number): Promise<number> {
  let sent = 0;
  const started = Date.now();
  const talking = new Set<number>();
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const due = Math.floor(((Date.now() - started) * perSecond) / 1000);
      try {
        while (sent < due) {
          const id = ids[sent % ids.length]!;
          if (talking.delete(id)) sim.engine.stopTalking(conference, id);
          else {
            sim.engine.startTalking(conference, id);
            talking.add(id);
          }
          sent++;
        }
      } catch {
        clearInterval(timer);
        resolve(sent);
      }
    }, 5);
  });
}

/**
 * A PostgreSQL server this file may stop and start again (same data directory, same port), so the
 * service's pool sees the same server go away and come back. Separate from `shared`: nothing else uses it.
 */
class RestartablePostgres {
  private constructor(
    private readonly bin: string,
    private readonly dir: string,
    private readonly asRoot: boolean,
    readonly port: number,
  ) {}

  static async start(): Promise<RestartablePostgres> {
    const bin = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'].find((d) => existsSync(join(d, 'initdb'))) ??
      execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    const dir = mkdtempSync(join(tmpdir(), 'confmgr-pgr-'));
    const asRoot = userInfo().uid === 0;
    if (asRoot) {
      chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })));
    }
    const server = new RestartablePostgres(bin, dir, asRoot, await freePort());
    server.run('initdb', ['-D', server.data, '-A', 'trust', '-U', 'confmgr', '-E', 'UTF8', '--locale=C', '--no-sync']);
    server.up();
    return server;
  }

  get url(): string {
    return `postgres://confmgr@127.0.0.1:${this.port}/postgres`;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  private run(cmd: string, args: string[]): void {
    const exe = join(this.bin, cmd);
    execFileSync(this.asRoot ? 'runuser' : exe, this.asRoot ? ['-u', 'postgres', '--', exe, ...args] : args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  }

  up(): void {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    this.run('pg_ctl', ['-D', this.data, '-o', opts, '-l', join(this.dir, 'log'), '-w', '-t', '60', 'start']);
  }

  /** The server's processes (postmaster and its children), by the postmaster pid in its data directory. */
  private pids(): number[] {
    const postmaster = Number(readFileSync(join(this.data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const children = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
    return [postmaster, ...children];
  }

  /** SIGSTOP / SIGCONT to every process of this server: it keeps its sockets open and answers nothing. */
  stall(stalled: boolean): void {
    for (const pid of this.pids()) process.kill(pid, stalled ? 'SIGSTOP' : 'SIGCONT');
  }

  /** `immediate`: the server dies without a goodbye to its clients, like a crash. */
  down(): void {
    this.run('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
  }

  remove(): void {
    try {
      this.stall(false);
    } catch {
      // not running
    }
    try {
      this.down();
    } catch {
      // already down
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('PostgreSQL storage: FreeSWITCH restarted in the middle of a flood', () => {
  it('vanished calls end leaved, calls after the restart have one joined record each, nothing duplicated', async () => {
    const url = await freshDatabase(shared.url);
    const { r, consumer } = await rig({ storageUrl: url, reconnect: { baseMs: 100, capMs: 1000 } });
    const { sim, service } = r;
    expect(service.storage.kind).toBe('postgres');
    const resyncs: number[] = [];
    service.sync.on('resynced', () => resyncs.push(Date.now()));

    const before = [
      ...Array.from({ length: 5 }, (_, i) => sim.engine.originate({ conference: 'pg-a', callerIdNumber: `10${i}` })),
      ...Array.from({ length: 2 }, (_, i) => sim.engine.originate({ conference: 'pg-b', callerIdNumber: `20${i}` })),
    ];
    await waitUntil('registry to hold the 7 members', () => registryMembers(service).length === 7);
    await consumer.waitFor(7);
    await service.records.idle();
    expect((await rows(url)).map((x) => x.status)).toEqual(Array(7).fill('joined'));

    const flood = talkFlood(sim, 'pg-a', before.slice(0, 5).map((b) => b.member.id), 400);
    await waitUntil('talking events to flow', () => unique(consumer, 'start-talking').length >= 20, 15_000);
    const resyncsBefore = resyncs.length;
    const restarting = sim.restart({ downMs: 800 });
    await waitUntil('the simulator to lose its state', () => !sim.listening && sim.engine.conferences().length === 0, 5_000, 5);
    const after = Array.from({ length: 3 }, (_, i) => sim.engine.originate({ conference: 'pg-a', callerIdNumber: `30${i}` }));
    await restarting;
    expect(await flood).toBeGreaterThan(0);
    await waitUntil('a resync after the restart', () => resyncs.length > resyncsBefore, 10_000);
    await waitUntil('registry to equal the simulator', () => registryMembers(service).join() === simMembers(sim).join(), 10_000);
    await waitUntil(
      'del-member of every vanished call on RabbitMQ',
      () => before.every((b) => unique(consumer, 'del-member').some((e) => e.call_id === b.member.callId)),
      10_000,
    );
    await service.records.idle();

    let all: Row[] = [];
    const deadline = Date.now() + 10_000;
    do {
      all = await rows(url);
      if (before.every((b) => rowsOf(all, b.member.callId)[0]?.status === 'leaved') && after.every((a) => rowsOf(all, a.member.callId).length === 1)) break;
      await delay(100);
    } while (Date.now() < deadline);
    for (const b of before) expect(rowsOf(all, b.member.callId).map((x) => x.status), b.member.callId).toEqual(['leaved']);
    for (const a of after) expect(rowsOf(all, a.member.callId).map((x) => x.status), a.member.callId).toEqual(['joined']);
    expect(all).toHaveLength(before.length + after.length);
    for (const x of all) expect(x.conference_id).toMatch(/^pg-[ab]$/);
    console.log(`postgres + FreeSWITCH restart: ${before.length} vanished calls leaved, ${after.length} new calls joined, ${all.length} records, none duplicated`);
  }, 60_000);
});

/** Closes the publisher connection of this rig (found by the peer port of its proxy's upstream socket). */
async function closePublisher(rigUnder: RelRig): Promise<number> {
  const ports = rigUnder.amqpProxy!.upstreamLocalPorts();
  const { stdout } = await rabbitmqctl('list_connections', '-q', 'pid', 'peer_port', 'client_properties');
  let closed = 0;
  for (const line of stdout.split('\n')) {
    const [pid, port, props] = line.split('\t');
    if (!pid?.startsWith('<') || !ports.includes(Number(port))) continue;
    if (!props?.includes('{"connection_name","confmgr-publisher')) continue;
    await rabbitmqctl('close_connection', pid, 'reliability test: forced close');
    closed++;
  }
  return closed;
}

describe('PostgreSQL storage: the publisher connection force-closed under load', () => {
  it('every event delivered in order, every call joining or leaving meanwhile recorded once, correctly', async () => {
    const url = await freshDatabase(shared.url);
    const { r, consumer } = await rig({ storageUrl: url, amqpProxy: true, amqpReconnect: { baseMs: 100, capMs: 500 } });
    const { sim, service } = r;
    const conferences = new Map<string, number[]>();
    for (const conf of ['pg-bk-1', 'pg-bk-2']) {
      conferences.set(conf, [1, 2, 3].map((i) => sim.engine.originate({ conference: conf, callerIdNumber: `${conf}-${i}` }).member.id));
    }
    const produced = recordProduced(service);
    await waitUntil('6 members in the registry', () => service.registry.stats().participants === 6);

    const load = steadyLoad(r, conferences, 150);
    const churn: Array<{ callId: string; left: boolean }> = [];
    const closes: number[] = [];
    for (let i = 0; i < 2; i++) {
      await delay(800);
      await waitUntil('publisher connected', () => service.publisher.connected, 15_000);
      closes.push(await closePublisher(r));
      // Calls join and leave a third conference while the publisher reconnects.
      for (let k = 0; k < 3; k++) churn.push({ callId: sim.engine.originate({ conference: 'pg-bk-3', callerIdNumber: `3${i}${k}` }).member.callId, left: false });
      const leaver = churn[churn.length - 3]!;
      sim.engine.hangup(leaver.callId);
      leaver.left = true;
    }
    await delay(800);
    await load.stop();
    expect(closes).toEqual([1, 1]);
    expect(await service.publisher.flush(30_000)).toBe(true);
    expect(service.publisher.stats().dropped).toEqual({ overflow: 0, nacked: 0, shutdown: 0 });
    const total = [...produced.values()].reduce((a, l) => a + l.length, 0);
    await waitUntil('every produced event at the consumer', () => new Set(consumer.received.map((m) => String(m.msg.properties.messageId))).size >= total, 30_000);
    const { got } = dedupeByConference(consumer.received);
    for (const [conf, ids] of produced) expect(got.get(conf), conf).toEqual(ids);

    await service.records.idle();
    const all = await rows(url);
    expect(all).toHaveLength(6 + churn.length);
    for (const c of churn) expect(rowsOf(all, c.callId).map((x) => x.status)).toEqual([c.left ? 'leaved' : 'joined']);
    expect(all.filter((x) => x.status === 'joined')).toHaveLength(6 + churn.filter((c) => !c.left).length);
    console.log(`postgres + close_connection x2: ${total} events produced and delivered, ${all.length} records, ${churn.length} calls joined during the closes`);
  }, 60_000);
});

describe('PostgreSQL stopped and started again while events flow', () => {
  let server: RestartablePostgres | undefined;
  afterEach(() => {
    server?.remove();
    server = undefined;
  });

  it('publishes every event while it is down; records repaired and writes resumed once it is back', async () => {
    server = await RestartablePostgres.start();
    const url = server.url;
    const { r, consumer } = await rig({ storageUrl: url });
    const { sim, service } = r;
    const calls = Array.from({ length: 3 }, (_, i) => sim.engine.originate({ conference: 'pg-down', callerIdNumber: `50${i}` }));
    await waitUntil('3 members', () => service.registry.participants('pg-down').length === 3);
    await service.records.idle();
    expect((await rows(url)).map((x) => x.status)).toEqual(['joined', 'joined', 'joined']);
    const produced = recordProduced(service);
    // Talking only by the call that stays to the end (the others leave during the test).
    const load = steadyLoad(r, new Map([['pg-down', [calls[2]!.member.id]]]), 100);

    const downAt = Date.now();
    server.down();
    // While PostgreSQL is down: one call leaves, one joins, talking continues.
    await delay(300);
    sim.engine.hangup(calls[0]!.member.callId);
    const joinedWhileDown = sim.engine.originate({ conference: 'pg-down', callerIdNumber: '599' });
    await delay(1500);
    server.up();
    const upAt = Date.now();
    await delay(500);
    await load.stop();

    // Every event was published, PostgreSQL or not.
    expect(await service.publisher.flush(30_000)).toBe(true);
    const total = [...produced.values()].reduce((a, l) => a + l.length, 0);
    await waitUntil('every produced event at the consumer', () => new Set(consumer.received.map((m) => String(m.msg.properties.messageId))).size >= total, 30_000);
    expect(unique(consumer, 'del-member').some((e) => e.call_id === calls[0]!.member.callId)).toBe(true);
    expect(unique(consumer, 'add-member').some((e) => e.call_id === joinedWhileDown.member.callId)).toBe(true);

    // The tracker's writes resume: a call joining and one leaving now are recorded.
    const joinedAfter = sim.engine.originate({ conference: 'pg-down', callerIdNumber: '600' });
    sim.engine.hangup(calls[1]!.member.callId);
    let all: Row[] = [];
    const expectOf = new Map([
      [calls[0]!.member.callId, ['leaved']],
      [calls[1]!.member.callId, ['leaved']],
      [calls[2]!.member.callId, ['joined']],
      [joinedWhileDown.member.callId, ['joined']],
      [joinedAfter.member.callId, ['joined']],
    ]);
    const matches = () => [...expectOf].every(([id, want]) => rowsOf(all, id).map((x) => x.status).join() === want.join());
    const deadline = Date.now() + 20_000;
    do {
      await service.records.idle();
      all = await rows(url).catch(() => []);
      if (matches()) break;
      await delay(200);
    } while (Date.now() < deadline);
    const repairedAt = Date.now();
    for (const [id, want] of expectOf) expect(rowsOf(all, id).map((x) => x.status), id).toEqual(want);
    expect(all).toHaveLength(5);
    const tracker = service.records.tracker.stats();
    expect(tracker.failedWrites).toBeGreaterThan(0); // the writes during the outage did fail ...
    expect(tracker.repairs).toBeGreaterThanOrEqual(1); // ... and a repair put the records right
    console.log(
      `postgres down ${upAt - downAt} ms under ${total} events: all published; records repaired ${repairedAt - upAt} ms after it was back; ${tracker.failedWrites} writes failed, ${tracker.repairs} repair(s)`,
    );
  }, 90_000);

  it('stalled (SIGSTOP: sockets open, no answers): records fail in bounded time, events flow, repaired after SIGCONT', async () => {
    server = await RestartablePostgres.start();
    const url = server.url;
    const { r, consumer } = await rig({ storageUrl: url });
    const { sim, service } = r;
    const calls = Array.from({ length: 2 }, (_, i) => sim.engine.originate({ conference: 'pg-stall', callerIdNumber: `65${i}` }));
    await waitUntil('2 members', () => service.registry.participants('pg-stall').length === 2);
    await service.records.idle();
    const produced = recordProduced(service);

    server.stall(true);
    const stalledAt = Date.now();
    sim.engine.hangup(calls[0]!.member.callId);
    const joinedWhileStalled = sim.engine.originate({ conference: 'pg-stall', callerIdNumber: '659' });
    // A read the API would make fails in bounded time instead of hanging its caller forever.
    const read = await service.storage.conferencecalls.list({ customerId: '', pageSize: 10 }).then(
      () => 'answered',
      (e: Error) => e.message,
    );
    const readMs = Date.now() - stalledAt;
    expect(read).not.toBe('answered');
    expect(readMs).toBeLessThan(20_000);
    await waitUntil('the stalled writes to fail', () => service.records.tracker.stats().failedWrites >= 1, 30_000);
    // Events flow all along.
    await waitUntil('del-member and add-member on RabbitMQ', () =>
      unique(consumer, 'del-member').some((e) => e.call_id === calls[0]!.member.callId) &&
      unique(consumer, 'add-member').some((e) => e.call_id === joinedWhileStalled.member.callId), 10_000);

    server.stall(false);
    let all: Row[] = [];
    const want = new Map([
      [calls[0]!.member.callId, 'leaved'],
      [calls[1]!.member.callId, 'joined'],
      [joinedWhileStalled.member.callId, 'joined'],
    ]);
    const deadline = Date.now() + 40_000;
    do {
      all = await rows(url).catch(() => []);
      if ([...want].every(([id, st]) => rowsOf(all, id).map((x) => x.status).join() === st)) break;
      await delay(200);
    } while (Date.now() < deadline);
    for (const [id, st] of want) expect(rowsOf(all, id).map((x) => x.status), id).toEqual([st]);
    expect(all).toHaveLength(3);
    expect([...produced.values()].flat().length).toBeGreaterThanOrEqual(2);
    console.log(`postgres stalled: a read failed after ${readMs} ms (${read}); records repaired after SIGCONT`);
  }, 120_000);
});
