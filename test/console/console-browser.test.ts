/**
 * The operator console in a real headless Chromium (Debian's package, driven by playwright-core)
 * against the real service, the FreeSWITCH simulator and RabbitMQ. The cases run in order on one
 * signed-in page, as an operator would: sign in, watch, act.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { startConsoleRig, type ConsoleRig } from './rig.js';
import { instrument, layoutOf, readProbe, shot, signIn } from './page.js';
import { pollUntil } from '../helpers/wait.js';

const ROOM = 'room1';

let rig: ConsoleRig;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
/** WebSocket messages from confmgr that the routed socket holds back instead of delivering. */
let holdBack: (msg: Record<string, unknown>) => boolean = () => false;
const held: string[] = [];
let deliverHeld: () => void = () => undefined;

let moderator: { id: number; callId: string };
let alice: { id: number; callId: string };
let bob: { id: number; callId: string };
let carol: { id: number; callId: string };

const row = (id: number) => `li.member[data-member="${id}"]`;
const lastStatus = () => page.textContent('.conference p.last');

/** A missing Chromium fails every test with how to install it (never a skip). */
let launchError: Error | undefined;

beforeAll(async () => {
  const launching = launchChromium().catch((err: Error) => {
    launchError = err;
    return undefined;
  });
  rig = await startConsoleRig();
  const launched = await launching;
  if (!launched) return;
  browser = launched;
  context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await instrument(context);
  // Every WebSocket goes through here so that a test can delay an event (a member that left meanwhile).
  await context.routeWebSocket(/\/v2\/websocket$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => server.send(m));
    server.onMessage((m) => {
      const text = String(m);
      let msg: Record<string, unknown> = {};
      try {
        msg = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // delivered as is
      }
      if (holdBack(msg)) held.push(text);
      else ws.send(text);
    });
    deliverHeld = () => {
      for (const m of held.splice(0)) ws.send(m);
    };
  });
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`console: ${m.text()} (${m.location().url})`);
  });
}, 60_000);

beforeEach(() => {
  if (launchError) throw launchError;
});

afterAll(async () => {
  await browser?.close();
  await rig?.close();
}, 60_000);

describe('operator console in Chromium', () => {
  it('serves the page with a strict CSP; a wrong token is refused and not kept', async () => {
    const res = await page.goto(`${rig.base}/console`);
    expect(res?.url()).toBe(rig.url); // /console → /console/
    const headers = res!.headers();
    expect(headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    expect(headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(headers['x-content-type-options']).toBe('nosniff');

    await page.fill('#token', 'not-a-valid-token-at-all');
    await page.click('button[type=submit]');
    await page.waitForSelector('#signin-error:has-text("refused")');
    expect(await page.textContent('#signin-error')).toBe('The token was refused: invalid X-Auth-Token');
    expect(page.url()).toBe(rig.url);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await shot(page, 'signin-refused');
  });

  it('signs in: the token stays in this tab only; a conference appears with its node, members and moderators', async () => {
    await signIn(page, rig.url, rig.token);
    expect(await page.textContent('.top .account')).toBe(`account ${rig.account}`);
    expect(await page.evaluate('sessionStorage.getItem("confmgr.console.token")')).toBe(rig.token);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    expect(await context.cookies()).toEqual([]);
    expect(page.url()).not.toContain(rig.token);
    expect(await page.textContent('.conferences')).toContain('No conference is running');

    moderator = rig.call(ROOM, { name: 'Moderator', number: '1001', moderator: true });
    alice = rig.call(ROOM, { name: 'Alice', number: '1002' });
    bob = rig.call(ROOM, { name: 'Bob', number: '1003' });
    carol = rig.call(ROOM, { name: 'Carol', number: '1004' });
    const listed = `tr[data-conference="${ROOM}"]`;
    await page.waitForSelector(`${listed} td[data-col=members]:has-text("3")`);
    expect(await page.textContent(`${listed} td[data-col=moderators]`)).toBe('1');
    expect(await page.textContent(`${listed} td:nth-of-type(1)`)).toBe('fs1'); // focus: the node's name (http.focus defaults to node_name)
    expect(await page.textContent(`${listed} td[data-col=locked]`)).toBe('no');
    await shot(page, 'conference-list');

    await page.click(`${listed} a`);
    await page.waitForSelector(row(carol.id));
    expect(await page.textContent(`${row(moderator.id)} .who`)).toContain('moderator');
    expect(await page.textContent(`${row(alice.id)} .who`)).toBe('Alice1002 · #' + alice.id);
    expect(await page.textContent(`${row(alice.id)} .joined`)).toMatch(/^joined \d\d:\d\d:\d\d$/);
    // Reloading the tab keeps the session (sessionStorage), and the conference open (the URL's hash).
    await page.reload();
    await page.waitForSelector(row(carol.id));
  });

  it('lights the talking indicator within 200 ms of start-talking, without moving anything', async () => {
    const before = await layoutOf(page);
    rig.sim.engine.startTalking(ROOM, alice.id);
    await page.waitForSelector(`${row(alice.id)}[data-talking=true]`);
    const probe = await readProbe(page);
    const arrived = probe.arrivals.filter(([, ev, id]) => ev === 'start-talking' && id === alice.id).at(-1);
    const lit = probe.talking.filter(([, id, v]) => id === alice.id && v === 'true').at(-1);
    expect(arrived).toBeDefined();
    expect(lit).toBeDefined();
    expect(lit![0] - arrived![0]).toBeLessThan(200);
    expect(await page.isVisible(`${row(alice.id)} .badge.talking`)).toBe(true);
    expect(await layoutOf(page)).toEqual(before);
    await shot(page, 'conference-talking');
  });

  it('mutes with a click: waits for the API, shows its answer, then the mute-member event', async () => {
    // Hold the request: until confmgr answers, the console must not claim anything.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await page.route(`**/conferences/${ROOM}/participants/${alice.id}`, async (route) => {
      await gate;
      await route.continue();
    });
    await page.click(`${row(alice.id)} button[data-action=mute]`);
    await page.waitForSelector('.conference p.last.pending');
    expect(await lastStatus()).toBe(`mute Alice <1002> (#${alice.id}): waiting for confmgr…`);
    expect(await page.getAttribute(row(alice.id), 'data-muted')).toBe('false');
    expect(await page.textContent(`${row(alice.id)} .result`)).not.toContain('OK');
    release();
    await page.waitForSelector('.conference p.last.ok');
    expect(await lastStatus()).toBe(`✓ mute Alice <1002> (#${alice.id}): OK (HTTP 202)`);
    await page.unroute(`**/conferences/${ROOM}/participants/${alice.id}`);
    // The state comes from FreeSWITCH's event, not from the click.
    await page.waitForSelector(`${row(alice.id)}[data-muted=true]`);
    await page.waitForSelector(`.log-lines li[data-event=mute-member]:has-text("#${alice.id} Alice <1002>")`);
    expect(await page.textContent(`${row(alice.id)} button[data-action=unmute]`)).toBe('Unmute');
    // Muting a talker ends its talking (FreeSWITCH sends no stop-talking).
    expect(rig.sim.engine.conferences()[0]?.members.find((m) => m.id === alice.id)?.canSpeak).toBe(false);
  });

  it('works from the keyboard with a visible focus: Tab to "Deaf Bob", Space', async () => {
    const target = `Deaf Bob <1003>`;
    let found = false;
    for (let i = 0; i < 60 && !found; i++) {
      await page.keyboard.press('Tab');
      found = (await page.evaluate('document.activeElement?.getAttribute("aria-label")')) === target;
    }
    expect(found).toBe(true);
    const outline = (await page.evaluate('(() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; })()')) as [string, string];
    expect(outline[0]).toBe('solid');
    expect(parseFloat(outline[1])).toBeGreaterThanOrEqual(2);
    await shot(page, 'keyboard-focus');
    await page.keyboard.press('Space');
    await page.waitForSelector(`${row(bob.id)}[data-deaf=true]`);
    expect(await lastStatus()).toBe(`✓ deaf Bob <1003> (#${bob.id}): OK (HTTP 202)`);
  });

  it('mutes all except moderators, then locks', async () => {
    await page.click('.toolbar button[data-action=mute-all]');
    await page.waitForSelector(`${row(carol.id)}[data-muted=true]`);
    await page.waitForSelector(`${row(bob.id)}[data-muted=true]`);
    expect(await lastStatus()).toBe('✓ mute all except moderators: OK (HTTP 202)');
    expect(await page.getAttribute(row(moderator.id), 'data-muted')).toBe('false');

    await page.click('.toolbar button[data-action=lock]');
    await page.waitForSelector('.toolbar button[data-action=unlock]');
    expect(await lastStatus()).toBe(`✓ lock ${ROOM}: OK (HTTP 202)`);
    expect(await page.isVisible('.conf-head .badge.locked')).toBe(true);
    await page.waitForSelector(`tr[data-conference="${ROOM}"] td[data-col=locked]:has-text("locked")`);
    expect(rig.sim.engine.conferences().find((c) => c.name === ROOM)?.locked).toBe(true);
    await page.waitForSelector('.log-lines li[data-event=lock]');
  });

  it('kicks with a click: the API answers, then the member leaves the list', async () => {
    await page.click(`${row(bob.id)} button[data-action=kick]`);
    await page.waitForSelector(row(bob.id), { state: 'detached' });
    expect(await lastStatus()).toBe(`✓ kick Bob <1003> (#${bob.id}): OK (HTTP 202)`);
    expect(await page.textContent(`tr[data-conference="${ROOM}"] td[data-col=members]`)).toBe('2');
    expect(rig.sim.engine.conferences()[0]?.members.some((m) => m.id === bob.id)).toBe(false);
  });

  it("shows the API's error for a member that left meanwhile, then drops the stale row", async () => {
    // Carol hangs up; her del-member is held back, so the console still shows her when the operator clicks.
    holdBack = (m) => m.event === 'del-member' && m.participant_id === carol.id;
    rig.sim.engine.hangup(carol.callId);
    await pollUntil('carol gone from the service', async () => {
      const r = await rig.api('GET', `/v2/accounts/${rig.account}/conferences/${ROOM}/participants`);
      return !r.body.data.some((p: { participant_id: number }) => p.participant_id === carol.id);
    });
    expect(await page.isVisible(row(carol.id))).toBe(true);
    await page.click(`${row(carol.id)} button[data-action=kick]`);
    await page.waitForSelector('.conference p.last.error');
    expect(await lastStatus()).toBe(
      `✗ kick Carol <1004> (#${carol.id}) failed: HTTP 404 Member ${carol.id} not found in conference ${ROOM} [MEMBER_NOT_FOUND]`,
    );
    // The error shows the console's picture was stale: it reloads the conference, and Carol's row goes.
    await page.waitForSelector(row(carol.id), { state: 'detached' });
    await shot(page, 'conference-error');
    holdBack = () => false;
    deliverHeld();
  });

  it('stays readable at 200 % zoom: no horizontal scrolling, nothing moves when talking changes', async () => {
    const zoomed = await browser.newContext({ viewport: { width: 640, height: 430 }, deviceScaleFactor: 2 });
    try {
      await instrument(zoomed);
      const p = await zoomed.newPage();
      await signIn(p, `${rig.url}#/c/${ROOM}`, rig.token);
      await p.waitForSelector(row(alice.id));
      const overflow = (await p.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
      expect(overflow).toBeLessThanOrEqual(0);
      const box = await p.locator(`${row(alice.id)} button[data-action=unmute]`).boundingBox();
      expect(box!.x + box!.width).toBeLessThanOrEqual(640);
      await p.locator(row(alice.id)).scrollIntoViewIfNeeded();
      const before = await layoutOf(p);
      rig.sim.engine.startTalking(ROOM, moderator.id);
      await p.waitForSelector(`${row(moderator.id)}[data-talking=true]`);
      expect(await layoutOf(p)).toEqual(before);
      await shot(p, 'zoom-200');
      rig.sim.engine.stopTalking(ROOM, moderator.id);
    } finally {
      await zoomed.close();
    }
  });

  it('drops the conference from the list when it ends; no CSP violation or script error all along, and the CSP holds', async () => {
    rig.sim.engine.hangup(alice.callId);
    rig.sim.engine.hangup(moderator.callId);
    await page.waitForSelector(`tr[data-conference="${ROOM}"]`, { state: 'detached' });
    await page.waitForSelector('.conference .notice:has-text("not running")');
    const probe = await readProbe(page);
    expect(probe.violations).toEqual([]);
    // Chromium logs the one refused request (the kick of the member that had left); nothing else.
    expect(pageErrors).toEqual([
      `console: Failed to load resource: the server responded with a status of 404 (Not Found) (${rig.base}/v2/accounts/${rig.account}/conferences/${ROOM}/participants/${carol.id})`,
    ]);
    // The browser enforces the policy: markup from a string and an injected inline script are refused.
    const injected = await page.evaluate(`(() => {
      const out = [];
      try { document.body.insertAdjacentHTML('beforeend', '<img src=x onerror="window.__pwned = 1">'); out.push('html accepted'); } catch (e) { out.push(e.name); }
      const s = document.createElement('script');
      s.append(document.createTextNode('window.__pwned = 2'));
      try { document.head.append(s); out.push('script appended'); } catch (e) { out.push(e.name); }
      return out;
    })()`);
    expect(injected).toEqual(['TypeError', 'script appended']);
    await pollUntil('the CSP violations reported', async () => (await readProbe(page)).violations.length >= 2);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect((await readProbe(page)).violations).toEqual(['require-trusted-types-for trusted-types-sink', 'require-trusted-types-for trusted-types-sink']);
  });
});
