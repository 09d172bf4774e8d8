import { loadConfigFile, type Config } from '../config/index.js';
import { ConfmgrError } from '../util/index.js';
import { createLogger, type Logger } from '../util/index.js';
import { createService, type ServiceHandle } from './service.js';
import { handleSignals } from './signals.js';

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
  const signals = handleSignals({
    stop: (signal) => service.stop(signal),
    timeoutMs: config.shutdown.timeoutMs,
    logger: log,
    reload: () => {
      if (!options.configFile) return;
      try {
        const fresh = loadConfigFile(options.configFile, { env });
        service.reloadFilter(fresh.publishParticipantEvent);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'SIGHUP: config invalid, keeping the current publish filter');
      }
    },
  });
  try {
    await service.start();
  } catch (err) {
    startFailed(err, log, options.err);
    await service.stop('start failed').catch(() => undefined);
    signals.dispose();
    return 1;
  }
  const code = await signals.done;
  signals.dispose();
  return code;
}

/** A typed failure (http.listen in use, …) is one clear line; anything else keeps its stack in the log. */
function startFailed(err: unknown, log: Logger, operator: ((text: string) => void) | undefined): number {
  if (err instanceof ConfmgrError) log.error({ code: err.code, ...err.details }, `start failed: ${err.message}`);
  else log.error({ err }, 'start failed');
  operator?.(`confmgr: start failed: ${(err as Error).message}${err instanceof ConfmgrError ? ` [${err.code}]` : ''}\n`);
  return 1;
}
