import { describe, expect, it } from 'vitest';
import type { ConferenceEvent, OutboundEvent } from '../../src/conference/types.js';
import { CORE_HEADER, NODE_HEADER, NodeGate, SEQUENCE_HEADER, type GateHeaders } from '../../src/bus/node-gate.js';

function ev(node: string, sequence: number, core = 'core-1', synthesized = false): ConferenceEvent {
  return {
    action: 'start-talking',
    known: true,
    node,
    switchname: node,
    coreUuid: core,
    conferenceName: 'room',
    conferenceUuid: 'u',
    timestampUs: 0,
    sequence,
    details: {},
    synthesized,
    headers: {},
  };
}
const out = (e: ConferenceEvent): OutboundEvent => ({ event: e.action, conferenceId: 'room', timestampUs: 0, payload: { seq: e.sequence, core: e.coreUuid } });

function rig(servedNodes: string[] = []) {
  const served = new Set(servedNodes);
  const published: Array<{ seq: unknown; headers: GateHeaders }> = [];
  const gate = new NodeGate({ served: { isServing: (n) => served.has(n) }, publish: (o, headers) => published.push({ seq: o.payload.seq, headers }), holdSize: 5 });
  const offer = (e: ConferenceEvent): void => gate.offer(e, out(e));
  return { gate, published, served, offer, seqs: () => published.map((p) => p.seq) };
}

describe('NodeGate', () => {
  it('publishes the events of a served node at once, with their identity as headers', () => {
    const r = rig(['A']);
    r.offer(ev('A', 7));
    expect(r.published).toEqual([{ seq: 7, headers: { [NODE_HEADER]: 'A', [CORE_HEADER]: 'core-1', [SEQUENCE_HEADER]: 7 } }]);
  });

  it('holds the events of an unserved node and releases on takeover only those not seen published', () => {
    const r = rig();
    for (let s = 1; s <= 4; s++) r.offer(ev('A', s));
    r.gate.observe('A', 'core-1', 2);
    expect(r.published).toEqual([]);
    expect(r.gate.stats().held).toBe(2);
    r.gate.observe('A', 'core-1', 3); // seen after it arrived here
    expect(r.gate.takeOver('A')).toEqual({ released: 1 });
    expect(r.seqs()).toEqual([4]);
  });

  it('drops at once an event the active was already seen publishing (read-back ahead of the ESL stream)', () => {
    const r = rig();
    r.gate.observe('A', 'core-1', 5);
    r.offer(ev('A', 4));
    r.offer(ev('A', 5));
    r.offer(ev('A', 6));
    expect(r.gate.stats()).toMatchObject({ held: 1, alreadyPublished: 2 });
    r.gate.takeOver('A');
    expect(r.seqs()).toEqual([6]);
  });

  it('tells FreeSWITCH restarts apart by Core-UUID', () => {
    const r = rig();
    r.gate.observe('A', 'old', 100);
    r.offer(ev('A', 3, 'new'));
    r.gate.takeOver('A');
    expect(r.seqs()).toEqual([3]);
  });

  it('keeps synthesized events that follow the last published one, drops those before it', () => {
    const r = rig();
    r.offer(ev('A', 0, 'core-1', true));
    r.offer(ev('A', 1));
    r.offer(ev('A', 0, 'core-1', true));
    r.gate.observe('A', 'core-1', 1);
    expect(r.gate.stats().held).toBe(1);
    r.gate.takeOver('A');
    expect(r.seqs()).toEqual([0]);
  });

  it('bounds what it holds per node, oldest first, and counts it', () => {
    const r = rig();
    for (let s = 1; s <= 8; s++) r.offer(ev('A', s));
    expect(r.gate.stats()).toMatchObject({ held: 5, overflow: 3 });
    r.gate.takeOver('A');
    expect(r.seqs()).toEqual([4, 5, 6, 7, 8]);
  });

  it('after a takeover publishes directly; other nodes stay held', () => {
    const r = rig();
    r.offer(ev('B', 1));
    r.gate.takeOver('A');
    r.served.add('A');
    r.offer(ev('A', 9));
    expect(r.seqs()).toEqual([9]);
    expect(r.gate.stats().held).toBe(1);
  });

  it('does not hold what the publisher would filter out (the active never publishes it)', () => {
    const published: unknown[] = [];
    const gate = new NodeGate({ served: { isServing: () => false }, publish: (o) => published.push(o), accepts: (name) => name !== 'start-talking' });
    const e = ev('A', 1);
    gate.offer(e, out(e));
    expect(gate.stats().held).toBe(0);
    gate.takeOver('A');
    expect(published).toEqual([]);
  });

  it('tells how far back its hold reaches: the first event since the connection, moved on by an overflow, reset by a disconnect', () => {
    const r = rig();
    expect(r.gate.reach('A')).toBeUndefined();
    r.offer(ev('A', 0, 'core-1', true)); // synthesized: no identity, no reach
    expect(r.gate.reach('A')).toBeUndefined();
    r.offer(ev('A', 10));
    r.offer(ev('A', 12));
    expect(r.gate.reach('A')).toEqual({ core: 'core-1', from: 10 });
    for (let s = 13; s <= 16; s++) r.offer(ev('A', s)); // six held, one over: 10 dropped
    expect(r.gate.reach('A')).toEqual({ core: 'core-1', from: 10 });
    r.offer(ev('A', 17)); // 12 dropped: the hold has what came after 12
    expect(r.gate.reach('A')).toEqual({ core: 'core-1', from: 12 });
    r.offer(ev('A', 3, 'core-2')); // FreeSWITCH restarted
    expect(r.gate.reach('A')).toEqual({ core: 'core-2', from: 3 });
    r.gate.disconnected('A');
    expect(r.gate.reach('A')).toBeUndefined();
    r.offer(ev('A', 40, 'core-2'));
    expect(r.gate.reach('A')).toEqual({ core: 'core-2', from: 40 });
  });

  it('counts the events of a served node in its reach too', () => {
    const r = rig(['A']);
    r.offer(ev('A', 7));
    expect(r.gate.reach('A')).toEqual({ core: 'core-1', from: 7 });
  });

  it('tells the last event seen published, on the newest FreeSWITCH run', () => {
    const r = rig();
    expect(r.gate.published('A')).toBeUndefined();
    r.gate.observe('A', 'core-1', 5);
    r.gate.observe('A', 'core-1', 4); // read back out of order: the highest stays
    expect(r.gate.published('A')).toEqual({ core: 'core-1', sequence: 5 });
    r.gate.observe('A', 'core-2', 2);
    expect(r.gate.published('A')).toEqual({ core: 'core-2', sequence: 2 });
    expect(r.gate.published('B')).toBeUndefined();
  });
});
