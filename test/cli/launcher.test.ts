/**
 * bin/confmgr, the installed command: it runs the CLI under node with its runtime defaults (glibc malloc
 * settings, V8 heap limits) and every default yields to the operator's own setting. Observed from
 * inside the process it starts, through a module preloaded with CONFMGR_NODE_FLAGS.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const launcher = join(root, 'bin', 'confmgr');
const dir = mkdtempSync(join(tmpdir(), 'confmgr-launcher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// What the started process sees: its node flags, its malloc environment, V8's resulting heap limit.
const probe = join(dir, 'probe.cjs');
writeFileSync(
  probe,
  `const v8 = require('node:v8');
require('node:fs').writeFileSync(process.env.PROBE_OUT, JSON.stringify({
  execArgv: process.execArgv,
  nodeOptions: process.env.NODE_OPTIONS ?? null,
  malloc: { arena: process.env.MALLOC_ARENA_MAX, trim: process.env.MALLOC_TRIM_THRESHOLD_, mmap: process.env.MALLOC_MMAP_THRESHOLD_ },
  heapLimitMb: Math.round(v8.getHeapStatistics().heap_size_limit / 1048576),
}));
`,
);

interface Seen {
  execArgv: string[];
  malloc: { arena?: string; trim?: string; mmap?: string };
  heapLimitMb: number;
  stdout: string;
}

let runs = 0;
function run(env: Record<string, string>, bin = launcher, args = ['check-config', join(root, 'config', 'confmgr.example.yaml')]): Promise<Seen> {
  const out = join(dir, `seen-${runs++}.json`);
  const base = { ...process.env };
  for (const k of ['NODE_OPTIONS', 'MALLOC_ARENA_MAX', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_MMAP_THRESHOLD_', 'CONFMGR_NODE_FLAGS']) delete base[k];
  const flags = `--require ${probe} ${env.CONFMGR_NODE_FLAGS ?? ''}`.trim();
  return new Promise((resolve, reject) => {
    execFile(bin, args, { env: { ...base, ...env, CONFMGR_NODE_FLAGS: flags, PROBE_OUT: out }, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      resolve({ ...(JSON.parse(readFileSync(out, 'utf8')) as Omit<Seen, 'stdout'>), stdout });
    });
  });
}

describe('bin/confmgr', () => {
  it('runs the CLI with its defaults: two malloc arenas, trim and mmap thresholds, V8 heap 1 GB, semi-space 8 MB', async () => {
    const seen = await run({});
    expect(seen.stdout).toContain('valid');
    expect(seen.malloc).toEqual({ arena: '2', trim: '131072', mmap: '33554432' });
    expect(seen.execArgv).toEqual(expect.arrayContaining(['--max-old-space-size=1024', '--max-semi-space-size=8']));
    // V8's limit counts the young generation too: old space 1024 MB + a few semi-spaces.
    expect(seen.heapLimitMb).toBeGreaterThanOrEqual(1024);
    expect(seen.heapLimitMb).toBeLessThan(1100);
  });

  it("keeps the operator's malloc settings and V8 heap flags (NODE_OPTIONS or CONFMGR_NODE_FLAGS) instead of its own", async () => {
    const viaEnv = await run({ MALLOC_ARENA_MAX: '4', MALLOC_TRIM_THRESHOLD_: '1048576', NODE_OPTIONS: '--max-old-space-size=2048' });
    expect(viaEnv.malloc).toEqual({ arena: '4', trim: '1048576', mmap: '33554432' });
    expect(viaEnv.execArgv.some((a) => a.startsWith('--max-old-space-size'))).toBe(false);
    expect(viaEnv.execArgv).toContain('--max-semi-space-size=8');
    expect(viaEnv.heapLimitMb).toBeGreaterThanOrEqual(2048);

    // Set but empty: glibc's own (dynamic) thresholds, the variable not passed at all.
    const glibc = await run({ MALLOC_TRIM_THRESHOLD_: '', MALLOC_MMAP_THRESHOLD_: '' });
    expect(glibc.malloc).toEqual({ arena: '2' });

    const viaFlags = await run({ CONFMGR_NODE_FLAGS: '--max-old-space-size=384 --max-semi-space-size=2' });
    expect(viaFlags.execArgv).toEqual(expect.arrayContaining(['--max-old-space-size=384', '--max-semi-space-size=2']));
    expect(viaFlags.execArgv).not.toContain('--max-old-space-size=1024');
    expect(viaFlags.execArgv).not.toContain('--max-semi-space-size=8');
    expect(viaFlags.heapLimitMb).toBeLessThan(400);
  });

  it('CONFMGR_NODE_FLAGS may carry flags node refuses in NODE_OPTIONS', async () => {
    const seen = await run({ CONFMGR_NODE_FLAGS: '--optimize-for-size' });
    expect(seen.execArgv).toContain('--optimize-for-size');
  });

  it('works through a symlink (how npm installs it in node_modules/.bin) and passes arguments and the exit code through', async () => {
    const link = join(dir, 'confmgr');
    symlinkSync(launcher, link);
    expect((await run({}, link)).stdout).toContain('valid');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'freeswitch: { nodes: [] }\n');
    await expect(run({}, link, ['check-config', bad])).rejects.toThrow(/at least one FreeSWITCH node/);
    const code = await new Promise<number | null>((resolve) => execFile(link, ['check-config', bad], (err) => resolve(err ? (err as { code?: number }).code ?? null : 0)));
    expect(code).toBe(2);
  });
});
