/**
 * The reconnect policy of every connection that reconnects (the ESL pool's, the AMQP publisher's and
 * command intake's): exponential backoff with full jitter, delay = random(0, min(cap, base·2^attempt)).
 * Full jitter spreads the reconnects of many confmgr instances after a FreeSWITCH or broker restart.
 */
export interface BackoffOptions {
  /** First ceiling in ms (default 250); `*.reconnect.base_ms` in the config. */
  baseMs?: number;
  /** Largest ceiling in ms (default 30000); `*.reconnect.cap_ms` in the config. */
  capMs?: number;
  /**
   * After connected(), the attempts start over only once the connection has stayed up this long
   * (default 0: at once). A peer that accepts a connection and then breaks it at once (hostile or
   * broken) then keeps backing off instead of being reconnected at the first delay forever.
   */
  resetAfterMs?: number;
  /** Injectable for tests; must return [0, 1). */
  random?: () => number;
}

export class Backoff {
  readonly baseMs: number;
  readonly capMs: number;
  readonly resetAfterMs: number;
  private readonly random: () => number;
  private attempt = 0;
  /** When the current connection came up (connected()), until the next delay is asked for. */
  private upSince: number | undefined;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = Math.max(1, options.baseMs ?? 250);
    this.capMs = Math.max(this.baseMs, options.capMs ?? 30_000);
    this.resetAfterMs = Math.max(0, options.resetAfterMs ?? 0);
    this.random = options.random ?? Math.random;
  }

  /** Attempts since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The ceiling for the current attempt, without jitter. */
  ceiling(): number {
    // 2^31 is already past any sane cap; avoid Infinity on long outages.
    return Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.attempt, 31));
  }

  /** A connection is up: the attempts start over now, or once it has stayed up `resetAfterMs` (see next()). */
  connected(): void {
    if (this.resetAfterMs <= 0) this.reset();
    else this.upSince = Date.now();
  }

  /**
   * The delay before the next attempt; advances the attempt counter. After connected(), the counter
   * first starts over if the connection stayed up at least `resetAfterMs`.
   */
  next(): number {
    if (this.upSince !== undefined) {
      if (Date.now() - this.upSince >= this.resetAfterMs) this.attempt = 0;
      this.upSince = undefined;
    }
    const delay = Math.floor(this.random() * this.ceiling());
    this.attempt++;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
    this.upSince = undefined;
  }
}
