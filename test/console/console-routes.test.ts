/**
 * /console on the HTTP server (fastify.inject, no browser): the committed bundle served with its
 * security headers, without a token; off with `http.console: false`; a missing bundle said so.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { createRecords } from '../../src/records/records.js';
import { registerApi } from '../../src/api/index.js';
import { consoleCsp, registerConsole } from '../../src/api/console.js';
import { parseConfig } from '../../src/config/index.js';
import { openSqliteStorage, type Storage } from '../../src/storage/index.js';
import { FakeEvents, FakeExecutor, FakeRegistry, testTokens } from '../helpers/api-fakes.js';

const apps: FastifyInstance[] = [];
const storages: Storage[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  for (const s of storages.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function withApi(options: { console?: boolean } = {}): Promise<FastifyInstance> {
  const app = Fastify();
  const storage = openSqliteStorage({ path: ':memory:' });
  apps.push(app);
  storages.push(storage);
  const deps = { registry: new FakeRegistry(), executor: new FakeExecutor(), storage, events: new FakeEvents(), tokens: testTokens(), nodeUp: () => true };
  await registerApi(app, deps, createRecords(deps), options);
  await app.ready();
  return app;
}

describe('GET /console', () => {
  it('redirects /console to /console/ (relative, for proxies with a path prefix) and serves the page without a token', async () => {
    const app = await withApi();
    const r = await app.inject({ method: 'GET', url: '/console' });
    expect(r.statusCode).toBe(302);
    expect(r.headers.location).toBe('console/');
    const page = await app.inject({ method: 'GET', url: '/console/', headers: { host: 'ops.example:8000' } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<script type="module" src="app.js"></script>');
    expect(page.body).not.toMatch(/<script>|<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=|style=/i); // no inline script, handler or style
    expect(page.headers['content-security-policy']).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
        "connect-src 'self' ws://ops.example:8000 wss://ops.example:8000; object-src 'none'; base-uri 'none'; form-action 'none'; " +
        "frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'",
    );
    expect(page.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'cross-origin-opener-policy': 'same-origin',
      'cache-control': 'no-cache',
    });
  });

  it('serves the script and the style with their types, answers 304 to a matching ETag, 404 to anything else', async () => {
    const app = await withApi();
    const js = await app.inject({ method: 'GET', url: '/console/app.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['content-security-policy']).toMatch(/^default-src 'self'/);
    const css = await app.inject({ method: 'GET', url: '/console/app.css' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const again = await app.inject({ method: 'GET', url: '/console/app.js', headers: { 'if-none-match': String(js.headers.etag) } });
    expect(again.statusCode).toBe(304);
    for (const url of ['/console/nope.js', '/console/..%2Fpackage.json', '/console/build.ts', '/console/.%2E/package.json']) {
      // 404 from the console, or the API's answer to an unknown route without a token (401): never a file.
      const r = await app.inject({ method: 'GET', url });
      expect([401, 404], url).toContain(r.statusCode);
      expect(r.body, url).not.toContain('"name": "confmgr"');
    }
  });

  it('leaves a Host header that is not a host name out of connect-src', () => {
    expect(consoleCsp('evil.example; script-src *')).toContain("connect-src 'self'; ");
    expect(consoleCsp('[::1]:8000')).toContain("connect-src 'self' ws://[::1]:8000 wss://[::1]:8000;");
    expect(consoleCsp(undefined)).toContain("connect-src 'self'; ");
  });

  it('is off with http.console: false (the API still answers)', async () => {
    const app = await withApi({ console: false });
    // Unknown routes, as any other: the API's 401 without a token, its 404 with one.
    expect((await app.inject({ method: 'GET', url: '/console/' })).statusCode).toBe(401);
    const withToken = await app.inject({ method: 'GET', url: '/console', headers: { 'x-auth-token': testTokens()[0]!.token } });
    expect(withToken.statusCode).toBe(404);
    expect(withToken.headers['content-security-policy']).toBeUndefined();
    expect((await app.inject({ method: 'GET', url: '/v2/accounts/acc_a/conferences', headers: { 'x-auth-token': testTokens()[0]!.token } })).statusCode).toBe(200);
  });

  it('answers 503 naming the missing bundle rather than failing the service', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'confmgr-console-'));
    dirs.push(dir);
    const app = Fastify();
    apps.push(app);
    await registerConsole(app, { dir: join(dir, 'absent') });
    const r = await app.inject({ method: 'GET', url: '/console/' });
    expect(r.statusCode).toBe(503);
    expect(r.body).toContain('operator console bundle missing');
  });
});

describe('config http.console', () => {
  const MIN = 'freeswitch:\n  nodes:\n    - {name: fs1, host: 127.0.0.1, password: x}\n';
  it('defaults to true; false, "off" or CONFMGR_HTTP__CONSOLE=false turn it off; anything else is refused', () => {
    expect(parseConfig(MIN, 'x', { env: {} }).http.console).toBe(true);
    expect(parseConfig(`${MIN}http: {console: false}\n`, 'x', { env: {} }).http.console).toBe(false);
    expect(parseConfig(`${MIN}http: {console: "off"}\n`, 'x', { env: {} }).http.console).toBe(false);
    expect(parseConfig(MIN, 'x', { env: { CONFMGR_HTTP__CONSOLE: 'false' } }).http.console).toBe(false);
    expect(() => parseConfig(`${MIN}http: {console: maybe}\n`, 'x', { env: {} })).toThrow(/http\.console: expected true or false/);
  });
});
