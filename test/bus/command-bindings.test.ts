import { describe, expect, it } from 'vitest';
import { CommandBindings, type BindingTarget } from '../../src/bus/command-bindings.js';
import { commandRoutingKey } from '../../src/bus/routing.js';

/** A channel stand-in: records every bind/unbind, answers after a tick, can be made to fail. */
class FakeChannel implements BindingTarget {
  readonly ops: string[] = [];
  readonly keys = new Set<string>();
  inFlight = 0;
  maxInFlight = 0;
  failOn: string | undefined;

  private async op(kind: 'bind' | 'unbind', key: string): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, 1));
    this.inFlight--;
    if (this.failOn === key) throw new Error('channel closed');
    this.ops.push(`${kind} ${key}`);
    if (kind === 'bind') this.keys.add(key);
    else this.keys.delete(key);
  }
  bind(key: string): Promise<void> {
    return this.op('bind', key);
  }
  unbind(key: string): Promise<void> {
    return this.op('unbind', key);
  }
}

function setup(initial: string[]): { names: Set<string>; bindings: CommandBindings } {
  const names = new Set(initial);
  return { names, bindings: new CommandBindings({ desired: () => names }) };
}

describe('CommandBindings', () => {
  it('binds every served conference on attach, with encoded keys', async () => {
    const { bindings } = setup(['room.1', 'sales room', 'plain']);
    const ch = new FakeChannel();
    await bindings.attach(ch);
    expect([...ch.keys].sort()).toEqual(['conference.command.plain', 'conference.command.room%2E1', 'conference.command.sales+room']);
    expect(bindings.keys().sort()).toEqual([...ch.keys].sort());
  });

  it('follows the wanted set: binds newcomers, unbinds the gone, never twice, one operation at a time', async () => {
    const { names, bindings } = setup(['a']);
    const ch = new FakeChannel();
    await bindings.attach(ch);
    names.add('b');
    names.add('c');
    bindings.refresh();
    names.delete('a');
    bindings.refresh();
    bindings.refresh();
    await bindings.settled();
    expect([...ch.keys].sort()).toEqual([commandRoutingKey('b'), commandRoutingKey('c')]);
    expect(ch.ops.filter((o) => o === `bind ${commandRoutingKey('a')}`)).toHaveLength(1);
    expect(ch.ops.filter((o) => o === `unbind ${commandRoutingKey('a')}`)).toHaveLength(1);
    expect(ch.maxInFlight).toBe(1);
    // Nothing changed: nothing sent.
    const before = ch.ops.length;
    bindings.refresh();
    await bindings.settled();
    expect(ch.ops.length).toBe(before);
  });

  it('a new queue after a reconnect gets everything bound again; the old channel is left alone', async () => {
    const { names, bindings } = setup(['a', 'b']);
    const old = new FakeChannel();
    await bindings.attach(old);
    bindings.detach();
    names.add('c');
    bindings.refresh(); // no target: nothing to do until attach
    await bindings.settled();
    expect(old.ops).toHaveLength(2);
    const fresh = new FakeChannel();
    await bindings.attach(fresh);
    expect([...fresh.keys].sort()).toEqual(['a', 'b', 'c'].map((n) => commandRoutingKey(n)));
  });

  it('a detach while binding stops the pass; a failed bind waits for the next attach', async () => {
    const { names, bindings } = setup(['a', 'b', 'c']);
    const ch = new FakeChannel();
    const attached = bindings.attach(ch);
    bindings.detach();
    await attached;
    expect(ch.keys.size).toBeLessThanOrEqual(1);
    expect(bindings.keys()).toEqual([]);

    const failing = new FakeChannel();
    failing.failOn = commandRoutingKey('b');
    await bindings.attach(failing);
    expect(failing.keys.has(commandRoutingKey('c'))).toBe(false);
    names.delete('b');
    const next = new FakeChannel();
    await bindings.attach(next);
    expect([...next.keys].sort()).toEqual([commandRoutingKey('a'), commandRoutingKey('c')]);
  });
});
