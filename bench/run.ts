/**
 * `npm run bench -- <name> [args…]` runs bench/<name>.ts (e.g. `esl` → bench/esl-throughput.ts).
 * `npm run bench` alone lists the benchmarks with what each measures.
 * Drop a new bench file in this folder and it is runnable; ALIASES only maps short names.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ALIASES: Record<string, string> = { esl: 'esl-throughput' };

const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();

/** The first sentence of a bench file's leading comment, without a leading usage line. */
function describe(file: string): string {
  const text = readFileSync(join(here, `${file}.ts`), 'utf8');
  const doc = /^\/\*\*([\s\S]*?)\*\//.exec(text)?.[1] ?? '';
  const lines = doc
    .split('\n')
    .map((l) => l.replace(/^\s*\*\s?/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('`npm run bench'));
  const sentence = lines.join(' ').split(/(?<=\.)\s/)[0] ?? '';
  return sentence.length > 110 ? `${sentence.slice(0, 107)}…` : sentence;
}

function list(): string {
  const byFile = new Map<string, string[]>();
  for (const [alias, file] of Object.entries(ALIASES)) byFile.set(file, [...(byFile.get(file) ?? []), alias]);
  const rows = available.map((file) => {
    const names = [...(byFile.get(file) ?? []), file].join(', ');
    return `  ${names.padEnd(22)} ${describe(file)}`;
  });
  return `usage: npm run bench -- <name> [args]\n\nbenchmarks:\n${rows.join('\n')}`;
}

const [name, ...args] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h' || name === 'list') {
  console.log(list());
  process.exit(0);
}
const file = join(here, `${ALIASES[name] ?? name}.ts`);
if (!/^[A-Za-z0-9_-]+$/.test(name) || !existsSync(file)) {
  console.error(`unknown benchmark ${JSON.stringify(name)}\n\n${list()}`);
  process.exit(2);
}
// A child process: each benchmark starts with a clean heap and its own flags.
const result = spawnSync(process.execPath, [...process.execArgv, file, ...args], { stdio: 'inherit' });
process.exit(result.status ?? 1);
