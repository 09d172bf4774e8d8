/**
 * `confmgr` entry point (bin/confmgr.js runs this, compiled or through tsx).
 * Everything is in src/cli/run.ts; this file only hands it argv and ends the process.
 */
import { runCli } from './cli/index.js';

/** How long the process may linger once the command has returned (stdout and log lines drain). */
const EXIT_GRACE_MS = 250;

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// The command is over. Normally nothing is left and the process ends at once; a socket a bounded
// close gave up on (a stalled broker's, at the shutdown deadline) must not keep it alive.
setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
