/** `confmgr simulate`: the FreeSWITCH simulator alone, until SIGINT/SIGTERM. */
import { startSimulator } from '../simulator/index.js';
import { EXIT } from './exit-codes.js';
import type { CliIo } from './io.js';

export async function runSimulatorCommand(options: { host: string; port: number; password: string }, io: CliIo): Promise<number> {
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  try {
    sim = await startSimulator({ host: options.host, port: options.port, password: options.password });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      io.err(`confmgr: port ${options.port} on ${options.host} is already in use (a FreeSWITCH running?). Try --port 8022.\n`);
      return EXIT.FAILED;
    }
    throw err;
  }
  io.out(
    `FreeSWITCH simulator: Event Socket on ${options.host}:${sim.port} (password not shown; --password sets it)\n` +
      `  conferences: loopback/conf-<name>/default joins <name>, loopback/mod-<name>/default as moderator\n` +
      `  try: printf 'auth ${options.password === 'ClueCon' ? 'ClueCon' : '<password>'}\\n\\napi conference list\\n\\n' | nc ${options.host} ${sim.port}\n` +
      `Ctrl-C to stop.\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await sim.close();
  io.out('simulator stopped\n');
  return EXIT.OK;
}
