/**
 * How `confmgr start` answers signals: SIGTERM / SIGINT stop the service within the shutdown
 * deadline (exit code 0 when everything buffered reached the broker, 1 otherwise); SIGHUP calls the
 * caller's reload.
 */
import type { Logger } from '../util/log.js';

/** Where signals come from: the process, or a test's emitter. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface SignalHandling {
  /** The exit code, once a signal has stopped the service. */
  readonly done: Promise<number>;
  /** Removes the handlers. */
  dispose(): void;
}

export function handleSignals(o: {
  /** A graceful stop; resolves with whether the AMQP buffer was fully flushed. */
  stop(signal: NodeJS.Signals): Promise<{ flushed: boolean }>;
  /** config `shutdown.timeout_ms`. */
  timeoutMs: number;
  logger: Logger;
  /** SIGHUP. */
  reload?: () => void;
  signals?: SignalSource;
}): SignalHandling {
  const signals = o.signals ?? process;
  const log = o.logger;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  let stopRequested = false;

  const onStop = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'signal received');
    // A second signal while stopping: give up waiting.
    if (stopRequested) {
      log.warn('second signal: exiting now');
      resolveDone(1);
      return;
    }
    stopRequested = true;
    const deadline = setTimeout(() => {
      log.error({ timeoutMs: o.timeoutMs }, 'shutdown deadline passed; exiting');
      resolveDone(1);
    }, o.timeoutMs);
    deadline.unref();
    o.stop(signal).then(
      (r) => {
        clearTimeout(deadline);
        resolveDone(r.flushed ? 0 : 1);
      },
      (err: unknown) => {
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
