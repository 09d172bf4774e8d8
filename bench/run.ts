/**
 * `npm run bench -- <name> [args…]` runs bench/<name>.ts (e.g. `esl` → bench/esl-throughput.ts).
 * Drop a new bench file in this folder and it is runnable; ALIASES only maps short names.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ALIASES: Record<string, string> = { esl: 'esl-throughput' };

const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h') {
  console.log(`usage: npm run bench -- <name> [args]\navailable: ${[...Object.keys(ALIASES), ...available].join(', ')}`);
  process.exit(name ? 0 : 2);
}
const file = join(here, `${ALIASES[name] ?? name}.ts`);
if (!/^[A-Za-z0-9_-]+$/.test(name) || !existsSync(file)) {
  console.error(`unknown benchmark ${JSON.stringify(name)}; available: ${[...Object.keys(ALIASES), ...available].join(', ')}`);
  process.exit(2);
}
// A child process: each benchmark starts with a clean heap and its own flags.
const result = spawnSync(process.execPath, [...process.execArgv, file, ...args], { stdio: 'inherit' });
process.exit(result.status ?? 1);
