/**
 * The committed bundle (console/dist, what confmgr serves) is what console/src builds to, and the
 * browser code type-checks under its own tsconfig (DOM types, Preact JSX). Either failing: run
 * `npm run build:console`, or fix the type error, and commit.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildConsole, CONSOLE_DIST, CONSOLE_ROOT } from '../../console/build.js';

describe('console bundle', () => {
  it('console/dist is a fresh build of console/src (else: npm run build:console, and commit)', async () => {
    const fresh = await buildConsole();
    expect(readdirSync(CONSOLE_DIST).sort()).toEqual([...fresh.keys()].sort());
    for (const [name, body] of fresh) {
      const committed = readFileSync(join(CONSOLE_DIST, name));
      expect(committed.equals(body), `console/dist/${name} is stale: run npm run build:console`).toBe(true);
    }
    // Served at /console/ behind the page's CSP: no eval in any form.
    const js = fresh.get('app.js')!.toString('utf8');
    expect(js).not.toMatch(/\beval\(|new Function\(/);
  });

  it('console/src type-checks (tsc -p console)', async () => {
    const tsc = join(CONSOLE_ROOT, '..', 'node_modules', '.bin', 'tsc');
    const out = await new Promise<{ code: number; text: string }>((resolve) => {
      execFile(tsc, ['--noEmit', '-p', CONSOLE_ROOT], { timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, text: stdout + stderr }),
      );
    });
    expect(out.text).toBe('');
    expect(out.code).toBe(0);
  });
});
