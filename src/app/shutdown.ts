/**
 * The service's stop, in order, within one deadline (config `shutdown.timeout_ms`):
 *   1. no new work: the command intake (its in-flight commands finish) and HTTP (in-flight requests);
 *   2. nothing more from FreeSWITCH into the AMQP buffer, then the buffer flushed and the publisher closed;
 *   3. ESL, then the records (their last writes) and their storage.
 * Every close is bounded by what is left of the deadline: one that has not finished by then is
 * abandoned (logged) and the next step runs. A stalled broker answers neither a flush nor a
 * connection close, so the broker's steps (1 and 2) leave the last part of the deadline to the closes
 * that need no broker (3).
 */
import type { Logger } from '../util/index.js';

/** How long the command intake's in-flight commands may take to finish, at most. */
export const INTAKE_DRAIN_MAX_MS = 5_000;
/** The part of the deadline kept for ESL and storage (at most a quarter of it)… */
export const LOCAL_CLOSE_RESERVE_MS = 1_000;
const LOCAL_CLOSE_RESERVE_SHARE = 0.25;

export interface StopResult {
  /** Everything buffered reached the broker. */
  flushed: boolean;
  /** Events never sent: lost. */
  dropped: number;
  /** Events sent with no confirm by the deadline: the broker normally has them. */
  unconfirmed: number;
  /** Every close finished within the deadline (none was abandoned). */
  complete: boolean;
}

export interface StoppableParts {
  intake?: { close(drainMs: number): Promise<unknown> } | undefined;
  http?: { close(): Promise<unknown> } | undefined;
  /** Cuts the events off the publisher (listeners removed, the state sync closed). Synchronous. */
  stopEvents(): void;
  publisher: {
    close(flushMs: number): Promise<Omit<StopResult, 'complete'>>;
    /** What it has left so far: the result when its close is abandoned. */
    leftover(): { dropped: number; unconfirmed: number };
  };
  esl: { close(): Promise<unknown> };
  records: { close(): Promise<unknown> };
  storage: { close(): Promise<unknown> };
}

/** The remaining time of one deadline. */
export class Deadline {
  private readonly at: number;

  constructor(
    ms: number,
    private readonly now: () => number = Date.now,
  ) {
    this.at = now() + ms;
  }

  /** Milliseconds left, keeping `reserveMs` back; never negative. */
  remaining(reserveMs = 0): number {
    return Math.max(0, this.at - reserveMs - this.now());
  }
}

/**
 * Waits at most `ms` for `closing`; resolves whether it finished in time. A failure is logged and
 * counts as finished (there is nothing more to wait for); a close still running is left to itself.
 */
export async function closeWithin(what: string, closing: Promise<unknown>, ms: number, log: Logger): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  try {
    const outcome = await Promise.race([
      closing.then(
        () => 'done' as const,
        (err: unknown) => {
          log.warn({ err: (err as Error)?.message ?? String(err) }, `closing ${what} failed`);
          return 'done' as const;
        },
      ),
      timedOut,
    ]);
    if (outcome === 'timeout') log.error({ waitedMs: ms }, `closing ${what} did not finish within its share of the shutdown deadline; abandoned`);
    return outcome === 'done';
  } finally {
    clearTimeout(timer);
  }
}

export async function stopInOrder(parts: StoppableParts, o: { timeoutMs: number; flushTimeoutMs: number; logger: Logger }): Promise<StopResult> {
  const log = o.logger;
  const deadline = new Deadline(o.timeoutMs);
  const reserve = Math.min(LOCAL_CLOSE_RESERVE_MS, o.timeoutMs * LOCAL_CLOSE_RESERVE_SHARE);

  // 1. No new work.
  const drainMs = Math.min(INTAKE_DRAIN_MAX_MS, deadline.remaining(reserve));
  const done: boolean[] = await Promise.all([
    parts.intake ? closeWithin('the command intake', parts.intake.close(drainMs), drainMs, log) : true,
    parts.http ? closeWithin('HTTP', parts.http.close(), deadline.remaining(reserve), log) : true,
  ]);

  // 2. The buffer out to the broker. (A shutdown is not a node failure: no down/grace-period handling.)
  parts.stopEvents();
  let published: Omit<StopResult, 'complete'> | undefined;
  const flushMs = Math.min(o.flushTimeoutMs, deadline.remaining(reserve));
  const closed = parts.publisher.close(flushMs).then((r) => (published = r));
  done.push(await closeWithin('the AMQP publisher', closed, deadline.remaining(reserve), log));
  published ??= { flushed: false, ...parts.publisher.leftover() };
  log.info({ flushed: published.flushed, dropped: published.dropped, unconfirmed: published.unconfirmed }, 'AMQP buffer flushed');

  // 3. ESL, then the records' last writes, then their storage.
  done.push(await closeWithin('the FreeSWITCH connections', parts.esl.close(), deadline.remaining(), log));
  done.push(await closeWithin('the records', parts.records.close(), deadline.remaining(), log));
  done.push(await closeWithin('the storage', parts.storage.close(), deadline.remaining(), log));
  return { ...published, complete: done.every(Boolean) };
}
