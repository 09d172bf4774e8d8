/**
 * The console page as the browser tests and the render bench drive it: in-page probes (probes.js:
 * when each WebSocket event arrived, when a talking indicator changed, CSP violations, frame times),
 * the sign-in, and screenshots into the git-ignored test-output/console/.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';

export const SHOTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-output', 'console');

const PROBES = join(dirname(fileURLToPath(import.meta.url)), 'probes.js');

/** Installs probes.js in every page of the context, before the page's own script runs. */
export async function instrument(context: BrowserContext): Promise<void> {
  await context.addInitScript({ path: PROBES });
}

export interface Probe {
  arrivals: Array<[number, string, number | undefined]>;
  talking: Array<[number, number, string]>;
  violations: string[];
  frames: number[];
}

export function readProbe(page: Page): Promise<Probe> {
  return page.evaluate('window.__probe') as Promise<Probe>;
}

/** Signs in on the sign-in form and waits until the console shows the live link. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-link=live]', { timeout: 15_000 });
}

export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(SHOTS_DIR, { recursive: true });
  const path = join(SHOTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** Each member row's and button's box: equal before and after a state change means no layout jump. */
export function layoutOf(page: Page): Promise<string[]> {
  return page.$$eval('.conf-head dd, .toolbar, .members, li.member, li.member button, li.member .badges, li.member .result', (els) =>
    els.map((el) => {
      const r = el.getBoundingClientRect();
      return `${el.tagName}.${el.className.split(' ')[0]}@${r.x.toFixed(1)},${r.y.toFixed(1)} ${r.width.toFixed(1)}x${r.height.toFixed(1)}`;
    }),
  );
}
