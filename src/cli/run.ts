/**
 * The command line: parses argv, runs one command, returns the exit code (see exit-codes.ts).
 * Heavy modules (service, simulator, demo) are imported lazily so `check-config` and the operator
 * commands start fast and do not depend on them.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile, type Config } from '../config/index.js';
import { ConfmgrError } from '../util/index.js';
import { redactUrl } from '../util/index.js';
import { UsageError } from './errors.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { processIo, type CliIo } from './io.js';
import { runOperatorCommand, OPERATOR_COMMANDS } from './operator.js';
import { CLI_OPTIONS, type CliValues } from './options.js';
import { packageVersion } from './version.js';

export type { CliIo } from './io.js';

export const USAGE = `Usage: confmgr <command> [options]

Service
  start --config FILE                  run the service (config: see config/confmgr.example.yaml)
  check-config FILE                    validate a config file; exit 0 if valid, 2 if not
  simulate [--port 8021] [--password ClueCon] [--host 127.0.0.1]
                                       run the FreeSWITCH simulator (Event Socket + conferences)
  demo [--amqp-url URL] [--exchange conference] [--conference demo] [--console]
                                       simulator + service + a consumer printing what reaches RabbitMQ,
                                       while a scripted conference plays; exits with a summary
                                       (AMQP_URL is used when set; default amqp://guest:guest@127.0.0.1:5672);
                                       --console: prints the operator console's URL and token, plays once
                                       a browser has signed in, then keeps the conference live until Ctrl-C

Operator commands (talk to a running service over its HTTP API)
  conferences                          list conferences (cluster-wide with cluster_view: FOCUS names the node)
  nodes                                FreeSWITCH nodes and the instances serving them (active, standby), cluster-wide
  participants <conf>                  list a conference's participants
  mute|unmute|deaf|undeaf|kick <conf> <member-id|all|non_moderator>
  lock|unlock <conf>
  options: --url URL        service URL (env CONFMGR_URL; default: the config's http.listen, else http://127.0.0.1:8000)
           --token TOKEN    X-Auth-Token (env CONFMGR_TOKEN; default: the config's token of http.default_account_id,
                            else its first http.tokens entry)
           --account ID     account id (env CONFMGR_ACCOUNT; default: that token's account_id)
           --config FILE    the service's config file to take url/token/account from (env CONFMGR_CONFIG);
                            with none of these given: ./confmgr.yaml, ./config/confmgr.yaml or
                            ./config/confmgr.example.yaml, the first that exists
           --json           print the raw JSON instead of a table

confmgr --version prints the version; confmgr --help this text.

Exit codes: 0 ok, 1 command failed, 2 bad usage or invalid config, 3 service or broker unreachable.
`;

export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let values: CliValues;
  let positionals: string[];
  try {
    const parsed = parseArgs({ args: [...argv], options: CLI_OPTIONS, allowPositionals: true, strict: true });
    values = parsed.values as CliValues;
    positionals = parsed.positionals;
  } catch (err) {
    io.err(`confmgr: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT.USAGE;
  }
  const [command, ...args] = positionals;
  if (values.version) {
    io.out(`confmgr ${packageVersion()}\n`);
    return EXIT.OK;
  }
  if (values.help || command === 'help' || command === undefined) {
    (command === undefined && !values.help ? io.err : io.out)(USAGE);
    return command === undefined && !values.help ? EXIT.USAGE : EXIT.OK;
  }
  try {
    return await dispatch(command, args, values, io);
  } catch (err) {
    return reportError(err, io);
  }
}

async function dispatch(command: string, args: string[], values: CliValues, io: CliIo): Promise<number> {
  switch (command) {
    case 'check-config': {
      const file = args[0] ?? values.config;
      if (!file || args.length > 1) throw new UsageError('check-config takes one FILE');
      const config = loadConfigFile(file, { env: io.env });
      io.out(describeConfig(file, config));
      return EXIT.OK;
    }
    case 'start': {
      const file = values.config ?? io.env.CONFMGR_CONFIG;
      if (!file) throw new UsageError('start needs --config FILE (or CONFMGR_CONFIG)');
      if (args.length > 0) throw new UsageError(`start takes no arguments (got ${args.join(' ')})`);
      const config = loadConfigFile(file, { env: io.env });
      const { runService } = await import('../app/index.js');
      return await runService(config, { configFile: file, env: io.env, err: io.err });
    }
    case 'simulate': {
      if (args.length > 0) throw new UsageError(`simulate takes no arguments (got ${args.join(' ')})`);
      const port = values.port === undefined ? 8021 : parsePort(values.port);
      const { runSimulatorCommand } = await import('./simulate.js');
      return await runSimulatorCommand({ port, host: values.host ?? '127.0.0.1', password: values.password ?? 'ClueCon' }, io);
    }
    case 'demo': {
      if (args.length > 0) throw new UsageError(`demo takes no arguments (got ${args.join(' ')})`);
      const { runDemo } = await import('../demo/index.js');
      const amqpUrl = values['amqp-url'] ?? io.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
      // --console runs until the operator stops it: the first SIGINT/SIGTERM ends it cleanly, a second one at once.
      let stop = (): void => undefined;
      const until = new Promise<void>((resolve) => (stop = resolve));
      if (values.console) for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, stop);
      try {
        const summary = await runDemo({
          amqpUrl,
          out: io.out,
          err: io.err,
          ...(values.exchange ? { exchange: values.exchange } : {}),
          ...(values.conference ? { conference: values.conference } : {}),
          ...(io.env.CONFMGR_DEMO_LOG_LEVEL ? { logLevel: io.env.CONFMGR_DEMO_LOG_LEVEL } : {}),
          ...(values.console ? { console: { until } } : {}),
        });
        return summary.ok ? EXIT.OK : EXIT.FAILED;
      } finally {
        for (const sig of ['SIGINT', 'SIGTERM'] as const) process.off(sig, stop);
      }
    }
    default:
      if (OPERATOR_COMMANDS.has(command)) return await runOperatorCommand(command, args, values, io);
      throw new UsageError(`unknown command "${command}"`);
  }
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`--port: expected a TCP port from 0 to 65535 (got "${text}")`);
  return port;
}

/** A one-screen summary of a valid config; secrets are not shown. */
export function describeConfig(file: string, c: Config): string {
  const lines = [
    `OK: ${file} is valid`,
    `  freeswitch nodes: ${c.freeswitch.nodes.map((n) => `${n.name} (${n.host}:${n.port}, ${n.commandConnections} command connections)`).join(', ')}`,
    `  amqp: ${redactUrl(c.amqp.url)} exchange=${c.amqp.exchange} buffer_size=${c.amqp.bufferSize} command_queue=${c.amqp.commandQueue} queue_type=${c.amqp.queueType}`,
    `  publish_participant_event: ${c.publishParticipantEvent === undefined ? 'all events' : c.publishParticipantEvent.length === 0 ? 'none' : c.publishParticipantEvent.join(', ')}`,
    `  http: ${c.http.host.includes(':') ? `[${c.http.host}]` : c.http.host}:${c.http.port} (${c.http.tokens.length} API token${c.http.tokens.length === 1 ? '' : 's'}` +
      `${c.http.defaultAccountId ? `; unattributed conferences belong to ${c.http.defaultAccountId}` : ''})`,
    `  storage: ${c.storage.driver === 'sqlite' ? `SQLite ${c.storage.path}` : `PostgreSQL ${redactUrl(c.storage.url)}`}`,
    `  log level: ${c.log.level}`,
  ];
  return lines.join('\n') + '\n';
}

function reportError(err: unknown, io: CliIo): number {
  if (err instanceof UsageError) {
    io.err(`confmgr: ${err.message}\n\n${USAGE}`);
    return EXIT.USAGE;
  }
  if (err instanceof ConfigError) {
    io.err(`confmgr: ${err.message}\n`);
    return EXIT.USAGE;
  }
  if (err instanceof ConfmgrError) {
    io.err(`confmgr: ${err.message} [${err.code}]\n`);
    return exitCodeFor(err.code);
  }
  io.err(`confmgr: ${(err as Error)?.stack ?? String(err)}\n`);
  return EXIT.FAILED;
}
