/**
 * An EslEvent whose headers are decoded on demand from a HeaderIndex over the frame's body. `headers`
 * stays the full contract for every reader: a read-only view that looks a header up in the index, and
 * that decodes the event whole (the full decoder, so the same object) the first time someone lists,
 * copies or writes it. `headerLookup` / `eachHeaderWithPrefix` read through the index with no view at all.
 */
import type { EslEvent } from './event.js';
import type { HeaderIndex } from './header-index.js';

const INDEX: unique symbol = Symbol('esl.headerIndex');

/** The reference decoder of the body the index was made from (module-level: no closure per event). */
type Whole = (text: string) => Record<string, string>;

export class LazyEslEvent implements EslEvent {
  private view: Record<string, string> | undefined;
  constructor(
    readonly name: string,
    readonly subclass: string | undefined,
    readonly body: string,
    readonly index: HeaderIndex,
    private readonly whole: Whole,
  ) {}

  get headers(): Readonly<Record<string, string>> {
    return (this.view ??= headerView(this.index, this.whole));
  }
}

/** A view's state; the Proxy's target, so one handler serves every view (no closures per event). */
class ViewState {
  full: Record<string, string> | undefined;
  constructor(
    readonly index: HeaderIndex,
    readonly whole: Whole,
  ) {}
}

function all(t: ViewState): Record<string, string> {
  return (t.full ??= t.whole(t.index.text));
}

/**
 * `view[name]` is an index lookup until the view is listed, copied or written; from then on every
 * operation goes to the whole decoded object (a plain object's semantics). The state object is the
 * Proxy's target: its own keys are never shown (ownKeys and descriptors come from the whole object).
 */
const VIEW: ProxyHandler<ViewState> = {
  get(t, key) {
    if (t.full !== undefined) return Reflect.get(t.full, key);
    if (key === INDEX) return t.index;
    if (typeof key === 'string') {
      const value = t.index.get(key);
      if (value !== undefined) return value;
    }
    return Reflect.get(Object.prototype, key, {});
  },
  has: (t, key) => Reflect.has(all(t), key),
  ownKeys: (t) => Reflect.ownKeys(all(t)),
  getOwnPropertyDescriptor(t, key) {
    const d = Reflect.getOwnPropertyDescriptor(all(t), key);
    if (d !== undefined) d.configurable = true;
    return d;
  },
  getPrototypeOf: () => Object.prototype,
  set: (t, key, value) => Reflect.set(all(t), key, value),
  defineProperty: (t, key, d) => Reflect.defineProperty(all(t), key, d),
  deleteProperty: (t, key) => Reflect.deleteProperty(all(t), key),
};

function headerView(index: HeaderIndex, whole: Whole): Record<string, string> {
  return new Proxy(new ViewState(index, whole), VIEW) as unknown as Record<string, string>;
}

function indexOf(headers: Readonly<Record<string, string>>): HeaderIndex | undefined {
  return (headers as unknown as { [INDEX]?: HeaderIndex })[INDEX];
}

/** A function reading an event's headers by name, through the index when the event has one. */
export function headerLookup(event: EslEvent): (name: string) => string | undefined {
  if (event instanceof LazyEslEvent) {
    const index = event.index;
    return (name) => index.get(name);
  }
  const headers = event.headers;
  return (name) => headers[name];
}

/**
 * Calls `fn` for every header whose name starts with `prefix`, in the body's order (a name given twice:
 * each value at its place, the last one last), so an object built from the calls equals the whole
 * decode's; only those names and values are decoded.
 */
export function eachHeaderWithPrefix(headers: Readonly<Record<string, string>>, prefix: string, fn: (name: string, value: string) => void): void {
  const index = indexOf(headers);
  if (index === undefined) {
    for (const name in headers) if (name.startsWith(prefix)) fn(name, headers[name]!);
    return;
  }
  if (prefix === 'variable_') {
    // Channel variables: flagged by the scan, so an event without any skips the walk.
    for (let i = 0, left = index.variables; left > 0; i++) {
      if (index.isVariable(i)) {
        left--;
        fn(index.nameAt(i), index.valueAt(i));
      }
    }
    return;
  }
  for (let i = 0; i < index.count; i++) {
    if (index.nameStartsWith(i, prefix)) fn(index.nameAt(i), index.valueAt(i));
  }
}
