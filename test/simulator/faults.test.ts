/** The faults other issues' tests use: drop, hang, restart, shutdown, slow reader, floods, input capture. */
import { describe, expect, it } from 'vitest';
import { decodeEvent } from '../../src/esl/codec.js';
import { ManualScheduler, type Simulator } from '../../src/simulator/index.js';
import { FrameClient, waitFor } from '../helpers/sim-replay.js';
import { simScope } from '../helpers/sim-scope.js';

const { sim, track } = simScope();

async function client(s: Simulator, subscribe?: string): Promise<FrameClient> {
  const c = await FrameClient.connect(s.port);
  track({ close: () => c.close() });
  c.send('auth ClueCon\n\n');
  if (subscribe) c.send(`event ${subscribe}\n\n`);
  await waitFor(() => c.frames.length >= (subscribe ? 3 : 2), 'auth (and subscribe) replies');
  return c;
}

const eventCount = (c: FrameClient): number => c.frames.filter((f) => f.type.startsWith('text/event-')).length;

describe('simulator faults', () => {
  it('dropConnections closes every client abruptly and keeps listening', async () => {
    const s = await sim();
    const a = await client(s);
    const b = await client(s);
    s.dropConnections();
    await waitFor(() => a.closed && b.closed, 'both closed');
    expect(a.frames.some((f) => f.type === 'text/disconnect-notice')).toBe(false);
    const c = await client(s);
    expect(c.frames[1]!.headers['Reply-Text']).toBe('+OK accepted');
  });

  it('hang: commands wait unanswered, then are answered in order', async () => {
    const s = await sim();
    const c = await client(s);
    s.hang(true);
    c.send('api conference list\n\napi nosuch\n\n');
    await new Promise((r) => setTimeout(r, 150));
    expect(c.frames).toHaveLength(2);
    s.hang(false);
    await waitFor(() => c.frames.length >= 4, 'replies after unhang');
    expect(c.frames.slice(2).map((f) => f.body)).toEqual(['+OK No active conferences.\n', '-ERR nosuch Command not found!\n']);
  });

  it('restart: same port, every client gone, state lost, member ids from 1, no events while down', async () => {
    // Deferred events (the enter sound's play-file-done) fire only when this clock is advanced, so the
    // client can get exactly the events fired below, however slowly the test runs.
    const clock = new ManualScheduler();
    const s = await sim({ scheduler: clock });
    const port = s.port;
    const c = await client(s, 'plain CUSTOM conference::maintenance');
    let fired = 0;
    s.engine.onEvent(() => fired++);
    s.engine.originate({ conference: 'r', callerIdNumber: '1' });
    s.engine.originate({ conference: 'r', callerIdNumber: '2' });
    expect(fired).toBeGreaterThanOrEqual(4);
    await waitFor(() => eventCount(c) === fired, 'every event fired before the restart');
    const seen = eventCount(c);
    await s.restart({ downMs: 50 });
    await waitFor(() => c.closed, 'old client closed');
    expect(eventCount(c)).toBe(seen);
    clock.runAll(); // the lost conference's pending play-file-done went with it: nothing fires
    expect(fired).toBe(seen);
    expect(s.port).toBe(port);
    expect(s.engine.conferences()).toEqual([]);
    const d = await client(s);
    d.send('api originate loopback/conf-r/default &park()\n\napi conference r list\n\n');
    await waitFor(() => d.frames.length >= 4, 'replies');
    expect(d.frames[3]!.body).toMatch(/^1;loopback\/conf-r-b;/);
  });

  it('fsctl shutdown: +OK, SHUTDOWN and the member leaving to subscribers, a notice to all, then down until restart', async () => {
    const s = await sim();
    const listener = await client(s, 'plain SHUTDOWN CUSTOM conference::maintenance');
    const requester = await client(s);
    s.engine.originate({ conference: 'z', callerIdNumber: '1' });
    requester.send('api fsctl shutdown\n\n');
    await waitFor(() => listener.closed && requester.closed, 'both closed');
    expect(requester.frames.slice(2).map((f) => f.body)).toEqual(['+OK\n', 'The system is being shut down.\n']);
    const names = listener.frames
      .filter((f) => f.type === 'text/event-plain')
      .map((f) => decodeEvent(f))
      .map((e) => e.headers.Action ?? e.name);
    expect(names.slice(-4)).toEqual(['SHUTDOWN', 'floor-change', 'del-member', 'conference-destroy']);
    expect(s.listening).toBe(false);
    await s.restart();
    expect(s.listening).toBe(true);
    await client(s);
  });

  it('a slow reader loses events once its queue is full and is disconnected after consecutive drops', async () => {
    // Big events (a 20 KB channel variable) fill the kernel's socket buffers after a few hundred.
    // Deferred events never fire (manual clock): the readers get exactly the events fired here.
    const s = await sim({ maxEventQueue: 100, maxConsecutiveDrops: 50, verboseEvents: true, scheduler: new ManualScheduler() });
    const slow = await client(s, 'plain CUSTOM conference::maintenance');
    const fast = await client(s, 'plain CUSTOM conference::maintenance');
    const big = 'x'.repeat(20_000);
    for (let i = 0; i < 4; i++) s.engine.originate({ conference: 'slow', callerIdNumber: String(i), vars: { big } });
    await waitFor(() => eventCount(slow) === 6 && eventCount(fast) === 6, 'join events');
    slow.socket.pause();
    // Batches half the queue's size, each read by the fast reader before the next is fired: its queue
    // never fills, however late a timer fires under load, while the paused reader's does.
    const fastTalking = (): number => eventCount(fast) - 6;
    let sent = 0;
    while (sent < 2000) {
      sent += (await s.engine.flood({ conference: 'slow', members: 4, eventsPerSecond: 1_000_000, count: 50 })).sent;
      await waitFor(() => fastTalking() >= sent, 'the fast reader keeps up', 20_000);
    }
    expect(sent).toBe(2000);
    await waitFor(() => s.connectionCount() === 1, 'slow reader disconnected', 20_000);
    slow.socket.resume();
    await waitFor(() => slow.closed, 'slow socket closed', 15_000);
    expect(fastTalking()).toBe(2000);
    expect(eventCount(slow)).toBeLessThan(eventCount(fast));
  }, 60_000);

  it('floods talking events at the requested rate to every subscriber', async () => {
    const s = await sim();
    const plain = await client(s, 'plain CUSTOM conference::maintenance');
    const json = await client(s, 'json CUSTOM conference::maintenance');
    for (let i = 0; i < 5; i++) s.engine.originate({ conference: 'fl', callerIdNumber: String(1000 + i) });
    await waitFor(() => eventCount(plain) >= 10 && eventCount(json) >= 10, 'joins');
    const base = eventCount(plain);
    const t0 = Date.now();
    const r = await s.engine.flood({ conference: 'fl', members: 5, eventsPerSecond: 20_000, durationMs: 250 });
    expect(r.sent).toBe(5000);
    await waitFor(() => eventCount(plain) - base >= 5000 && eventCount(json) - base >= 5000, 'all flood events', 15_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    const last = decodeEvent(json.frames.at(-1)!);
    expect(['start-talking', 'stop-talking']).toContain(last.headers.Action);
  }, 30_000);

  it('receivedBytes returns every byte clients sent', async () => {
    const s = await sim();
    const c = await client(s);
    c.send('api conference xyz list\n\n');
    await waitFor(() => c.frames.length >= 3, 'reply');
    expect(s.receivedBytes().toString('utf8')).toBe('auth ClueCon\n\napi conference xyz list\n\n');
  });
});
