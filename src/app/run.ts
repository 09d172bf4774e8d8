import { loadConfigFile, type Config } from '../config/index.js';
import { ConfmgrError } from '../util/errors.js';
import { createLogger, type Logger } from '../util/log.js';
import { createService, type ServiceHandle } from './service.js';

/**
 * `confmgr start`: run until SIGTERM/SIGINT, reload the publish filter on SIGHUP.
 * Resolves with the process exit code.
 */
export async function runService(
  config: Config,
  options: { configFile?: string; env?: NodeJS.ProcessEnv; /** One line for the operator when start fails (the CLI's stderr). */ err?: (text: string) => void } = {},
): Promise<number> {
  const log = createLogger({ level: config.log.level, pretty: config.log.pretty ?? process.stdout.isTTY });
  let service: ServiceHandle;
  try {
    service = await createService(config, { defaultMetrics: true, logger: log });
  } catch (err) {
    return startFailed(err, log, options.err);
  }
  const env = options.env ?? process.env;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));

  const onStop = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'signal received');
    // A second signal while stopping: give up waiting.
    if (stopRequested) {
      log.warn('second signal: exiting now');
      resolveDone(1);
      return;
    }
    stopRequested = true;
    const deadline = setTimeout(() => {
      log.error({ timeoutMs: config.shutdown.timeoutMs }, 'shutdown deadline passed; exiting');
      resolveDone(1);
    }, config.shutdown.timeoutMs);
    deadline.unref();
    service.stop(signal).then(
      (r) => {
        clearTimeout(deadline);
        resolveDone(r.flushed ? 0 : 1);
      },
      (err) => {
        log.error({ err }, 'shutdown failed');
        resolveDone(1);
      },
    );
  };
  let stopRequested = false;
  const onHup = () => {
    if (!options.configFile) return;
    try {
      const fresh = loadConfigFile(options.configFile, { env });
      service.reloadFilter(fresh.publishParticipantEvent);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'SIGHUP: config invalid, keeping the current publish filter');
    }
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  try {
    await service.start();
  } catch (err) {
    startFailed(err, log, options.err);
    await service.stop('start failed').catch(() => undefined);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onHup);
    return 1;
  }
  const code = await done;
  process.off('SIGTERM', onStop);
  process.off('SIGINT', onStop);
  process.off('SIGHUP', onHup);
  return code;
}

/** A typed failure (http.listen in use, …) is one clear line; anything else keeps its stack in the log. */
function startFailed(err: unknown, log: Logger, operator: ((text: string) => void) | undefined): number {
  if (err instanceof ConfmgrError) log.error({ code: err.code, ...err.details }, `start failed: ${err.message}`);
  else log.error({ err }, 'start failed');
  operator?.(`confmgr: start failed: ${(err as Error).message}${err instanceof ConfmgrError ? ` [${err.code}]` : ''}\n`);
  return 1;
}
