#!/usr/bin/env node
// Runs the compiled CLI (dist/, always present in the published package: `npm pack` builds it). In a git
// checkout without a build it runs the TypeScript sources through tsx, a devDependency there.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli.js');
const sources = join(root, 'src', 'cli.ts');
if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else if (existsSync(sources)) {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write('confmgr: dist/ is not built and tsx is not installed: run `npm ci` (development dependencies) or `npm run build`\n');
    process.exit(1);
  }
  register();
  await import(pathToFileURL(sources).href);
} else {
  process.stderr.write(`confmgr: ${compiled} is missing: this installation is incomplete (reinstall the package)\n`);
  process.exit(1);
}
