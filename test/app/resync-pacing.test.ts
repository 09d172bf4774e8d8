/**
 * Resync pacing: every RESYNC_PACE_EVERY synthesized events the resync yields to the event loop (the
 * event hub's consumers run), then waits until the publisher's buffer is below RESYNC_PACE_BUFFERED or
 * RESYNC_PACE_MAX_WAIT_MS has passed — whichever the buffer says first; with several buffers, each.
 */
import { describe, expect, it } from 'vitest';
import { RESYNC_PACE_BUFFERED, RESYNC_PACE_EVERY, RESYNC_PACE_MAX_WAIT_MS, resyncPacing } from '../../src/app/resync-pacing.js';

describe('resyncPacing', () => {
  it('yields to queued callbacks first, then waits on the buffer with the named bounds', async () => {
    const order: string[] = [];
    let release!: () => void;
    const pacing = resyncPacing({
      whenBufferedBelow(n, maxWaitMs) {
        order.push(`buffer below ${n} within ${maxWaitMs} ms`);
        return new Promise<void>((resolve) => (release = resolve));
      },
    });
    expect(pacing.paceEvery).toBe(RESYNC_PACE_EVERY);
    setImmediate(() => order.push('queued callback'));
    let done = false;
    const paced = pacing.pace().then(() => (done = true));
    expect(order).toEqual([]); // nothing asked synchronously: the loop turns first
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual(['queued callback', `buffer below ${RESYNC_PACE_BUFFERED} within ${RESYNC_PACE_MAX_WAIT_MS} ms`]);
    expect(done).toBe(false); // still waiting on the buffer
    release();
    await paced;
    expect(done).toBe(true);
  });

  it('waits for every buffer it is given (the publisher and the conferencecall records)', async () => {
    const releases: Array<() => void> = [];
    const buffer = { whenBufferedBelow: () => new Promise<void>((resolve) => releases.push(resolve)) };
    let done = false;
    const paced = resyncPacing(buffer, buffer).pace().then(() => (done = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(releases).toHaveLength(2);
    releases[0]!();
    await new Promise((r) => setTimeout(r, 10));
    expect(done).toBe(false); // the second still holds it
    releases[1]!();
    await paced;
    expect(done).toBe(true);
  });
});
