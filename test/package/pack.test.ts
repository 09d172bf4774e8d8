/**
 * The npm package as a user gets it: `npm pack` (its prepack script compiles src/ to dist/), the tarball
 * installed into an empty folder with production dependencies only, and the `confmgr` command run from
 * there. The checkout is copied first so packing never writes a dist/ into it (bin/confmgr.js would
 * then run that build instead of the sources the other tests exercise).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = mkdtempSync(join(tmpdir(), 'confmgr-pack-'));
const checkout = join(work, 'checkout');
const out = join(work, 'out');
const app = join(work, 'app');
const pkgVersion = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

/** What a checkout holds besides the tracked sources: never copied. */
const NOT_COPIED = new Set(['node_modules', 'dist', '.git', 'data', 'coverage']);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The child's environment without the npm_* variables an outer `npm test` sets (they would steer it). */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
}

function run(cmd: string, args: string[], cwd: string, timeout = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: cleanEnv(), timeout, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let files: string[] = [];
let tarball = '';

beforeAll(async () => {
  cpSync(root, checkout, { recursive: true, filter: (src) => src === root || !NOT_COPIED.has(basename(src)) || dirname(src) !== root });
  // The build tools (tsc) come from the checkout's own dependencies.
  symlinkSync(realpathSync(join(root, 'node_modules')), join(checkout, 'node_modules'), 'dir');
  mkdirSync(out);
  const packed = await run('npm', ['pack', '--json', '--pack-destination', out], checkout);
  expect(packed.code, packed.stderr).toBe(0);
  const report = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  files = report[0]!.files.map((f) => f.path);
  tarball = join(out, report[0]!.filename);

  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{ "name": "confmgr-install-check", "private": true }\n');
  // Install scripts are skipped: better-sqlite3's native build (SQLite storage) is not on the path these
  // commands take, and building it from source would take minutes; everything else installs as for a user.
  const installed = await run('npm', ['install', tarball, '--omit=dev', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline'], app);
  expect(installed.code, installed.stderr).toBe(0);
}, 150_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npm pack', () => {
  it('ships the compiled JavaScript with declarations, the launcher and the example config', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'bin/confmgr',
        'bin/confmgr.js',
        'config/confmgr.example.yaml',
        'docs/asyncapi.yaml',
        'dist/cli.js',
        'dist/app/index.js',
        'dist/app/index.d.ts',
        'console/dist/index.html',
        'console/dist/app.js',
        'console/dist/app.css',
        'dist/config/index.js',
        'dist/config/index.d.ts',
      ]),
    );
  });

  it('ships no tests, benches, CI or Docker files, no TypeScript sources and no source maps', () => {
    const stray = files.filter(
      (f) =>
        /^(test|bench|scripts|src|docker|\.ci)\//.test(f) ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts')) ||
        f.endsWith('.map') ||
        /^tsconfig/.test(f) ||
        /^vitest/.test(f),
    );
    expect(stray).toEqual([]);
    // Every file is in a `files` entry (or one npm always adds).
    for (const f of files) expect(f).toMatch(/^(dist\/|bin\/|console\/dist\/|config\/confmgr\.example\.yaml$|docs\/asyncapi\.yaml$|package\.json$|README\.md$)/);
  });
});

describe('the packed tarball installed into an empty folder', () => {
  it('needs no TypeScript at run time: tsx and typescript are not installed', () => {
    expect(existsSync(join(app, 'node_modules', 'confmgr', 'dist', 'cli.js'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'typescript'))).toBe(false);
  });

  it('`npx confmgr --version` prints the package version', async () => {
    const r = await run('npx', ['--no-install', 'confmgr', '--version'], app, 30_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`confmgr ${pkgVersion}\n`);
  });

  it('`npx confmgr check-config` accepts the shipped example (exit 0) and refuses a bad file (exit 2)', async () => {
    const ok = await run('npx', ['--no-install', 'confmgr', 'check-config', 'node_modules/confmgr/config/confmgr.example.yaml'], app, 30_000);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^OK: node_modules\/confmgr\/config\/confmgr\.example\.yaml is valid/);

    writeFileSync(join(app, 'bad.yaml'), 'freeswitch: { nodes: [] }\n');
    const bad = await run('npx', ['--no-install', 'confmgr', 'check-config', 'bad.yaml'], app, 30_000);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/at least one FreeSWITCH node/);
  });

  it('exports the library surface: the service factory and the config loader', async () => {
    const probe = `
      const service = await import('confmgr');
      const config = await import('confmgr/config');
      const pkg = (await import('confmgr/package.json', { with: { type: 'json' } })).default;
      const c = config.loadConfigFile('node_modules/confmgr/config/confmgr.example.yaml');
      console.log(JSON.stringify({
        createService: typeof service.createService,
        runService: typeof service.runService,
        loadConfigFile: typeof config.loadConfigFile,
        ConfigError: typeof config.ConfigError,
        exchange: c.amqp.exchange,
        version: pkg.version,
      }));`;
    const r = await run(process.execPath, ['--input-type=module', '-e', probe], app, 30_000);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      createService: 'function',
      runService: 'function',
      loadConfigFile: 'function',
      ConfigError: 'function',
      exchange: 'conference',
      version: pkgVersion,
    });
    // Deep imports stay private: only the `exports` entries resolve.
    const deep = await run(process.execPath, ['--input-type=module', '-e', "await import('confmgr/dist/cli/run.js')"], app, 30_000);
    expect(deep.code).not.toBe(0);
    expect(deep.stderr).toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
    // Each export's declaration file is in the package.
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules', 'confmgr', 'package.json'), 'utf8')) as {
      exports: Record<string, string | { types: string; default: string }>;
      types: string;
    };
    for (const entry of Object.values(pkg.exports)) {
      if (typeof entry === 'string') continue;
      expect(existsSync(join(app, 'node_modules', 'confmgr', entry.types))).toBe(true);
      expect(existsSync(join(app, 'node_modules', 'confmgr', entry.default))).toBe(true);
    }
    expect(existsSync(join(app, 'node_modules', 'confmgr', pkg.types))).toBe(true);
  });
});
