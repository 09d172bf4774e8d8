/**
 * How `confmgr start` answers signals: SIGTERM / SIGINT stop the service within the shutdown
 * deadline (exit code 0 when everything buffered reached the broker, 1 otherwise); SIGHUP calls the
 * caller's reload. The deadline is a hard one: when it passes the process exits with code 1, whatever
 * still holds the event loop (a stalled broker's sockets); a second SIGTERM / SIGINT exits at once.
 */
import type { Logger } from '../util/index.js';

/** Where signals come from: the process, or a test's emitter. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface SignalHandling {
  /** The exit code, once a signal has stopped the service in time. */
  readonly done: Promise<number>;
  /** Removes the handlers. */
  dispose(): void;
}

export function handleSignals(o: {
  /** A graceful stop; resolves with how many events were never sent (lost) and whether every close finished. */
  stop(signal: NodeJS.Signals): Promise<{ dropped: number; complete: boolean }>;
  /** config `shutdown.timeout_ms`. */
  timeoutMs: number;
  logger: Logger;
  /** SIGHUP. */
  reload?: () => void;
  signals?: SignalSource;
  /** Ends the process now (default: the logger flushed, then process.exit). */
  exit?: (code: number) => void;
}): SignalHandling {
  const signals = o.signals ?? process;
  const log = o.logger;
  const exit =
    o.exit ??
    ((code: number) => {
      log.flush();
      process.exit(code);
    });
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  let stopRequested = false;

  const onStop = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'signal received');
    // A second signal while stopping: the operator does not want to wait.
    if (stopRequested) {
      log.warn({ signal }, 'second signal: exiting now');
      exit(1);
      return;
    }
    stopRequested = true;
    // Not unref'd: it must fire even when nothing else is left in the event loop.
    const deadline = setTimeout(() => {
      log.error({ timeoutMs: o.timeoutMs }, 'shutdown deadline passed; exiting');
      exit(1);
    }, o.timeoutMs);
    o.stop(signal).then(
      (r) => {
        clearTimeout(deadline);
        // Only events never sent are lost; unconfirmed ones were sent and the broker normally has them.
        // A close abandoned at the deadline (a stalled broker) is a failed stop all the same.
        resolveDone(r.dropped === 0 && r.complete ? 0 : 1);
      },
      (err: unknown) => {
        clearTimeout(deadline);
        log.error({ err }, 'shutdown failed');
        resolveDone(1);
      },
    );
  };
  const onHup = (): void => o.reload?.();

  signals.on('SIGTERM', onStop);
  signals.on('SIGINT', onStop);
  signals.on('SIGHUP', onHup);
  return {
    done,
    dispose() {
      signals.off('SIGTERM', onStop);
      signals.off('SIGINT', onStop);
      signals.off('SIGHUP', onHup);
    },
  };
}
