/**
 * `confmgr` entry point (bin/confmgr.js runs this, compiled or through tsx).
 * Everything is in src/cli/run.ts; this file only hands it argv and sets the exit code.
 */
import { runCli } from './cli/run.js';

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
