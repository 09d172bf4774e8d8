/**
 * Conformance: every fixture's commands (X.sent.txt) replayed against the simulator give the frames
 * of X.raw, header order included, after normalizing only what sim-replay.ts lists:
 *   - UUIDs (each mapped to <uuid-N> by order of first appearance, so equal UUIDs must stay equal),
 *   - VOLATILE_HEADERS (event dates, Event-Sequence, channel timestamps, talking measurements,
 *     a recording's measured length), Content-Length values (their bodies are compared instead),
 *   - seconds-since values in json_list/xml_list (run_time, join_time, last_talking) and the
 *     uptime/session/cpu figures of `status`.
 * Talking is not normalized: the scenario's talking came from Bob's tone, so this test calls
 * engine.startTalking/stopTalking where the fixture's event stream shows them. Deferred events
 * (play-file-done after a tone) run on a ManualScheduler, before the next command is sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { EslFrame } from '../../src/esl/codec.js';
import { ManualScheduler, startSimulator, type Simulator } from '../../src/simulator/index.js';
import type { SimEvent } from '../../src/simulator/event.js';
import { readRaw, readSent, type SentLine } from '../helpers/fixtures.js';
import {
  FrameClient,
  UuidMap,
  framesOf,
  framesWithin,
  isTalkingEvent,
  normalizeFrame,
  waitFor,
} from '../helpers/sim-replay.js';

interface Conn {
  fixture: string;
  frames: EslFrame[];
  raw: Buffer;
  sent: SentLine[];
  client: FrameClient;
  expected: number;
  counting: boolean;
  names: Set<string>;
  subclasses: Set<string>;
}

const opened: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const o of opened.splice(0)) await o.close();
});

async function start(): Promise<{ sim: Simulator; scheduler: ManualScheduler }> {
  const scheduler = new ManualScheduler();
  const sim = await startSimulator({ port: 0, scheduler, heartbeatMs: 0 });
  opened.push(sim);
  return { sim, scheduler };
}

async function open(sim: Simulator, fixture: string): Promise<Conn> {
  const client = await FrameClient.connect(sim.port);
  opened.push({ close: () => client.close() });
  const raw = readRaw(fixture);
  return {
    fixture,
    raw,
    frames: framesOf(raw),
    sent: readSent(fixture),
    client,
    expected: 1,
    counting: false,
    names: new Set(),
    subclasses: new Set(),
  };
}

function wants(c: Conn, ev: SimEvent): boolean {
  if (!c.counting) return false;
  if (ev.name === 'CUSTOM') return ev.subclass !== undefined && c.subclasses.has(ev.subclass);
  return c.names.has(ev.name);
}

/** Replays the commands of `conns` in the given order, then waits for every fixture frame. */
async function replay(sim: Simulator, scheduler: ManualScheduler, conns: Conn[], conferenceName?: string): Promise<void> {
  const off = sim.engine.onEvent((ev) => {
    for (const c of conns) if (wants(c, ev)) c.expected++;
  });
  const inFlight = (): boolean => conns.some((c) => !c.client.closed && c.client.frames.length < c.expected);
  /** One step towards the fixture: a talking event it shows next, or the next deferred event. */
  const step = (): boolean => {
    if (inFlight()) return false;
    for (const c of conns) {
      const talk = isTalkingEvent(c.frames[c.client.frames.length]);
      if (talk && conferenceName) {
        const fn = talk.action === 'start-talking' ? sim.engine.startTalking : sim.engine.stopTalking;
        try {
          if (fn.call(sim.engine, conferenceName, talk.memberId)) return true;
        } catch {
          return false;
        }
      }
    }
    return scheduler.runNext();
  };
  const settle = async (): Promise<void> => {
    for (;;) {
      await waitFor(() => !inFlight(), 'frames in flight');
      if (!step()) return;
    }
  };
  try {
    for (const c of conns) {
      for (const line of c.sent) {
        await settle();
        const need = framesWithin(c.raw, line.rxOffset);
        await waitFor(() => c.client.frames.length >= need, `${c.fixture}: ${need} frames before ${line.bytes}`);
        const text = translateUuids(line.bytes.toString('utf8'), conns);
        const command = text.split('\n')[0]!;
        const ev = /^event\s+\S+\s+(.*)$/.exec(command);
        if (ev) {
          c.counting = true;
          let custom = false;
          for (const w of ev[1]!.split(/\s+/)) {
            if (custom) c.subclasses.add(w);
            else if (w === 'CUSTOM') custom = true;
            else c.names.add(w);
          }
        }
        if (command === 'noevents') c.counting = false;
        c.expected++;
        c.client.send(text);
      }
    }
    await waitFor(
      () => conns.every((c) => c.client.frames.length >= c.frames.length),
      'all fixture frames',
      15_000,
      () => void step(),
    );
  } finally {
    off();
  }
}

/** Fixture UUIDs in a command (uuid_kill <uuid>) become the simulator's UUID in the same position. */
function translateUuids(command: string, conns: Conn[]): string {
  const fixtureMap = new UuidMap();
  const simMap = new UuidMap();
  for (const c of conns) {
    const n = c.client.frames.length;
    for (const f of c.frames.slice(0, n)) normalizeFrame(f, fixtureMap);
    for (const f of c.client.frames.slice(0, n)) normalizeFrame(f, simMap);
  }
  return command.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (u) => {
    const p = fixtureMap.placeholderOf(u);
    return (p && simMap.uuidOf(p)) ?? u;
  });
}

function compare(conns: Conn[]): void {
  const fixtureMap = new UuidMap();
  const simMap = new UuidMap();
  for (const c of conns) {
    const want = c.frames.map((f) => normalizeFrame(f, fixtureMap));
    const got = c.client.frames.map((f) => normalizeFrame(f, simMap));
    expect(got, `${c.fixture}: frames`).toEqual(want);
  }
}

describe('simulator conformance with the FreeSWITCH fixtures', () => {
  for (const variant of ['plain', 'json'] as const) {
    it(`demo-${variant}: event connection + control connection`, async () => {
      const { sim, scheduler } = await start();
      const events = await open(sim, `demo-${variant}`);
      const control = await open(sim, `demo-${variant}-control`);
      await replay(sim, scheduler, [events, control], 'demo');
      compare([events, control]);
    }, 60_000);
  }

  for (const name of ['auth-ok-then-exit', 'auth-wrong-password', 'cmd-before-auth']) {
    it(`${name}`, async () => {
      const { sim, scheduler } = await start();
      const c = await open(sim, name);
      await replay(sim, scheduler, [c]);
      compare([c]);
      if (name !== 'cmd-before-auth') await waitFor(() => c.client.closed, 'server closes the socket');
    });
  }

  it('bgapi-plain, bgapi-json, mixed-events-and-api, shutdown: one FreeSWITCH process in recording order', async () => {
    const { sim, scheduler } = await start();
    for (const name of ['bgapi-plain', 'bgapi-json', 'mixed-events-and-api']) {
      const c = await open(sim, name);
      await replay(sim, scheduler, [c]);
      compare([c]);
    }
    const listener = await open(sim, 'shutdown-listener');
    const requester = await open(sim, 'shutdown-requester');
    await replay(sim, scheduler, [listener, requester]);
    compare([listener, requester]);
    await waitFor(() => listener.client.closed && requester.client.closed, 'both sockets closed at shutdown');
    expect(sim.listening).toBe(false);
  }, 60_000);
});
