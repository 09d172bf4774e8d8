/**
 * `confmgr demo --console` as a newcomer meets it: the demo prints the console's URL and token, waits
 * for a browser to sign in, plays its script there, then keeps a conference live until stopped.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { runDemo, type DemoSummary } from '../../src/demo/index.js';
import { AMQP_URL, deleteAll } from '../helpers/bus-amqp.js';
import { pollUntil } from '../helpers/wait.js';
import { launchChromium } from './chromium.js';
import { instrument, shot } from './page.js';

const suffix = randomBytes(4).toString('hex');
const exchange = `confmgr-demo-console-${suffix}`;
const conference = `demo-${suffix}`;

afterAll(async () => {
  await deleteAll([exchange]).catch(() => undefined);
});

describe('confmgr demo --console', () => {
  it('prints the console URL and token, plays once a console signed in, keeps the conference live until stopped', async () => {
    const browser = await launchChromium();
    let output = '';
    let stop!: () => void;
    const until = new Promise<void>((r) => (stop = r));
    let demo: Promise<DemoSummary> | undefined;
    try {
      demo = runDemo({ amqpUrl: AMQP_URL, exchange, conference, out: (t) => (output += t), pauseMs: 0, console: { until } });
      const [, url, token] = await pollUntil('the console line', () => /operator console: (http:\/\/\S+\/console\/) \(sign in with the token (\S+), account demo\)/.exec(output) ?? undefined);
      expect(output).toContain('waiting for the console to connect');
      expect(output).not.toContain('☎ Moderator'); // nothing plays before a console is there

      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await instrument(context);
      const page = await context.newPage();
      await page.goto(url!);
      await page.fill('#token', token!);
      await page.click('button[type=submit]');
      await page.waitForSelector(`tr[data-conference="${conference}"]`, { timeout: 20_000 });
      await page.click(`tr[data-conference="${conference}"] a`);
      await pollUntil('the live conference', () => output.includes('stays live for the console'), 30_000);
      // The live room: five callers taking turns.
      // Polled from here: a page-side wait would need eval, which the page's CSP forbids.
      // Generous: under the whole suite's load a browser's first render of the live room has been slow.
      let shown = -1;
      await pollUntil(
        'the five callers',
        async () => (shown = await page.locator('li.member').count()) === 5,
        30_000,
        100,
      ).catch((err: Error) => {
        throw new Error(`${err.message} (the page showed ${shown} members)`);
      });
      await page.waitForSelector('li.member[data-talking=true]', { timeout: 10_000 });
      expect(await page.textContent('.log-lines')).toContain('start-talking');
      await shot(page, 'demo-console');
      const before = output.length;
      await new Promise((r) => setTimeout(r, 1600));
      expect(output.slice(before)).toBe(''); // the terminal stays quiet while the console shows the room
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- demo output:\n${output}`);
    } finally {
      stop();
      await browser.close();
    }
    const summary = await demo!;
    expect(summary.missing).toEqual([]);
    expect(summary.ok).toBe(true);
  }, 60_000);
});
