/**
 * Reconcile after the first resync: once per node, judging only nodes already resynced and up, and
 * records without a node only once every configured node has resynced; the outcome is logged.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/util/log.js';
import { TypedEmitter } from '../../src/util/emitter.js';
import type { ResyncResult, StateSyncEvents } from '../../src/state/node-sync.js';
import { reconcileAfterFirstResync } from '../../src/app/reconcile.js';

/** The state sync's 'resynced' event, fired by hand. */
class FakeSync extends TypedEmitter<StateSyncEvents> {
  resynced(result: ResyncResult): void {
    this.emit('resynced', result);
  }
}

const resynced = (node: string) => ({ node, participants: 0, synthesized: 0 }) as ResyncResult;
const flush = () => new Promise((r) => setImmediate(r));

function rig(outcome: () => Promise<number>) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l));
        cb();
      },
    }),
  });
  const sync = new FakeSync();
  const up = new Set(['fs1', 'fs2']);
  const calls: Array<(node: string | null) => boolean> = [];
  reconcileAfterFirstResync({
    sync,
    nodes: ['fs1', 'fs2'],
    nodeUp: (n) => up.has(n),
    tracker: {
      reconcile(known) {
        calls.push(known);
        return outcome();
      },
    },
    logger,
  });
  return { sync, up, calls, lines };
}

describe('reconcileAfterFirstResync', () => {
  it("judges only resynced, connected nodes, unnamed records once all have resynced; once per node", async () => {
    const { sync, up, calls } = rig(async () => 0);
    sync.resynced(resynced('fs1'));
    expect(calls).toHaveLength(1);
    const first = calls[0]!;
    expect([first('fs1'), first('fs2'), first('fs9'), first(null)]).toEqual([true, false, false, false]);

    sync.resynced(resynced('fs1')); // a later resync of the same node: nothing
    expect(calls).toHaveLength(1);

    sync.resynced(resynced('fs2'));
    expect(calls).toHaveLength(2);
    const second = calls[1]!;
    expect([second('fs1'), second('fs2'), second(null)]).toEqual([true, true, true]);
    up.delete('fs1'); // asked while reconciling: a node that went down meanwhile is not judged
    expect(second('fs1')).toBe(false);
  });

  it('logs how many records it closed (none: no line) and a failure as a warning', async () => {
    let next: () => Promise<number> = async () => 3;
    const { sync, lines } = rig(() => next());
    sync.resynced(resynced('fs1'));
    await flush();
    expect(lines.map((l) => [l.msg, l.node, l.closed])).toEqual([['conferencecalls of calls gone while confmgr was away closed as leaved', 'fs1', 3]]);
    next = async () => 0;
    sync.resynced(resynced('fs2'));
    await flush();
    expect(lines).toHaveLength(1);

    const failing = rig(async () => {
      throw new Error('disk full');
    });
    failing.sync.resynced(resynced('fs1'));
    await flush();
    expect(failing.lines.map((l) => [l.level, l.msg, l.node])).toEqual([[40, 'conferencecall reconcile failed', 'fs1']]);
  });
});
