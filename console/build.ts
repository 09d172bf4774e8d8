/**
 * Builds the operator console into console/dist (index.html, app.js, app.css), the files confmgr
 * serves at /console/. The output is committed, so `npm ci` alone gives a working console and a
 * production install needs no build tools; test/console/bundle.test.ts fails when it is stale.
 *
 *   npm run build:console
 */
import { readFileSync, writeFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const CONSOLE_ROOT = dirname(fileURLToPath(import.meta.url));
export const CONSOLE_DIST = join(CONSOLE_ROOT, 'dist');

/** The bundle's files by name, built in memory. */
export async function buildConsole(): Promise<Map<string, Buffer>> {
  const src = join(CONSOLE_ROOT, 'src');
  const result = await build({
    entryPoints: { app: join(src, 'main.tsx'), 'app-style': join(src, 'app.css') },
    bundle: true,
    write: false,
    outdir: CONSOLE_DIST,
    format: 'esm',
    target: ['es2022', 'chrome111', 'firefox111', 'safari16.4'],
    minify: true,
    legalComments: 'eof',
    charset: 'utf8',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: join(CONSOLE_ROOT, 'tsconfig.json'),
    logLevel: 'silent',
    // Paths and build times stay out of the output, so a rebuild of the same source is byte-identical.
    sourcemap: false,
  });
  const files = new Map<string, Buffer>();
  for (const f of result.outputFiles) {
    const name = f.path.slice(CONSOLE_DIST.length + 1).replace(/^app-style\.css$/, 'app.css');
    files.set(name, Buffer.from(f.contents));
  }
  files.set('index.html', readFileSync(join(src, 'index.html')));
  return files;
}

/** Replaces console/dist with a fresh build. */
export async function writeConsole(dir = CONSOLE_DIST): Promise<string[]> {
  const files = await buildConsole();
  mkdirSync(dir, { recursive: true });
  for (const old of readdirSync(dir)) if (!files.has(old)) rmSync(join(dir, old), { recursive: true, force: true });
  for (const [name, body] of files) writeFileSync(join(dir, name), body);
  return [...files.keys()].sort();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const names = await writeConsole();
  for (const n of names) console.log(`console/dist/${n}`);
}
