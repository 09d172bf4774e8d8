/**
 * A small typed EventEmitter: `on('up', (node) => …)` is checked against the event map.
 * Built on node:events; listeners that throw are not our business to hide, so no try/catch here.
 */
import { EventEmitter } from 'node:events';

/** Event name → listener argument tuple. Interfaces qualify too (no index signature needed). */
export type EventMap<E> = { [K in keyof E]: unknown[] };

export class TypedEmitter<E extends EventMap<E>> {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Pools and clusters are long-lived with many subscribers (one per layer); no spurious warnings.
    this.emitter.setMaxListeners(100);
  }

  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  removeAllListeners<K extends keyof E & string>(event?: K): this {
    if (event === undefined) this.emitter.removeAllListeners();
    else this.emitter.removeAllListeners(event);
    return this;
  }

  listenerCount<K extends keyof E & string>(event: K): number {
    return this.emitter.listenerCount(event);
  }

  protected emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    return this.emitter.emit(event, ...args);
  }
}
