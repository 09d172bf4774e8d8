/**
 * Keeps this instance's command queue bound to `conference.command.<conference>` for exactly the
 * conferences it serves (live on a node it serves), so RabbitMQ delivers a conference's commands to
 * the instance that controls it (Kazoo's per-conference routing).
 *
 * The wanted set is read from `desired()` (the registry, filtered by the served nodes) each time
 * `refresh()` is called; bindings are added and removed one at a time, never concurrently, and
 * several refreshes while one is running collapse into one more pass. `attach()` starts from nothing:
 * the queue is new after every reconnect (it is exclusive, its bindings died with the old connection),
 * so everything wanted is bound again.
 */
import { silentLogger, type Logger } from '../util/index.js';
import { commandRoutingKey } from './routing.js';

/** Binds and unbinds one routing key on the instance's queue (a channel, or a fake in tests). */
export interface BindingTarget {
  bind(routingKey: string): Promise<unknown>;
  unbind(routingKey: string): Promise<unknown>;
}

export interface CommandBindingsOptions {
  /** Names of the conferences this instance serves now. */
  desired: () => Iterable<string>;
  logger?: Logger;
}

export class CommandBindings {
  private readonly desired: () => Iterable<string>;
  private readonly log: Logger;
  private target: BindingTarget | undefined;
  /** Routing keys bound on the current target. */
  private readonly bound = new Set<string>();
  private dirty = false;
  private running: Promise<void> | undefined;

  constructor(options: CommandBindingsOptions) {
    this.desired = options.desired;
    this.log = (options.logger ?? silentLogger).child({ component: 'amqp-command-bindings' });
  }

  /** A fresh queue (no bindings yet): binds everything wanted; resolves when done (or the target is gone). */
  attach(target: BindingTarget): Promise<void> {
    this.target = target;
    this.bound.clear();
    this.refresh();
    return this.settled();
  }

  /** The queue is gone (connection lost, closing): stop; its bindings went with it. */
  detach(): void {
    this.target = undefined;
    this.bound.clear();
  }

  /**
   * Closing gracefully: stops reconciling and removes every binding from the queue, so that from now on
   * the commands of these conferences go to another instance or the shared queue. A key being bound
   * when this is called is removed too (unbinding a key that is not bound is harmless).
   */
  async unbindAll(): Promise<void> {
    const target = this.target;
    this.target = undefined;
    await this.settled();
    if (!target) return;
    const keys = new Set(this.bound);
    for (const name of this.desired()) keys.add(commandRoutingKey(name));
    this.bound.clear();
    for (const key of keys) await target.unbind(key);
  }

  /** The wanted set may have changed: reconcile soon (coalesced). */
  refresh(): void {
    this.dirty = true;
    if (!this.running && this.target) {
      const target = this.target;
      this.running = this.reconcile(target).finally(() => {
        this.running = undefined;
        // A refresh for another target (a reconnect) while this one ran: run for it.
        if (this.dirty && this.target && this.target !== target) this.refresh();
      });
    }
  }

  /** Resolves when no reconcile is running (tests; attach). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** The routing keys bound now. */
  keys(): string[] {
    return [...this.bound];
  }

  private async reconcile(target: BindingTarget): Promise<void> {
    try {
      while (this.dirty && this.target === target) {
        this.dirty = false;
        const want = new Set<string>();
        for (const name of this.desired()) want.add(commandRoutingKey(name));
        for (const key of want) {
          if (this.bound.has(key)) continue;
          await target.bind(key);
          if (this.target !== target) return;
          this.bound.add(key);
          this.log.debug({ routingKey: key }, 'command binding added');
        }
        for (const key of [...this.bound]) {
          if (want.has(key)) continue;
          await target.unbind(key);
          if (this.target !== target) return;
          this.bound.delete(key);
          this.log.debug({ routingKey: key }, 'command binding removed');
        }
      }
    } catch (err) {
      // The channel failed (it closes on a refused bind): the session reconnects and attach() rebinds.
      this.dirty = true;
      if (this.target === target) this.log.warn({ err }, 'command binding failed; rebinding after the intake reconnects');
    }
  }
}
