/**
 * The operator console's rendering under load, in headless Chromium: one conference of 300
 * participants open, 100 of them talking, 100 talking events/s from the FreeSWITCH simulator through
 * the real service and its WebSocket; frame times (animation-frame intervals) and the renderer's
 * main-thread time, against the same page idle (the baseline), and the talking indicator's delay
 * after each event reached the page.
 *
 * Usage: npm run bench -- console [--members 300] [--talkers 100] [--rate 100] [--seconds 10]
 * Needs RabbitMQ (AMQP_URL) and Chromium (bash scripts/ensure-chromium.sh).
 */
import { loadavg } from 'node:os';
import type { CDPSession, Page } from 'playwright-core';
import { launchChromium } from '../test/console/chromium.js';
import { startConsoleRig } from '../test/console/rig.js';
import { instrument, readProbe, signIn } from '../test/console/page.js';
import { arg, percentile } from './_bus-common.js';

const MEMBERS = arg('members', 300);
const TALKERS = arg('talkers', 100);
const RATE = arg('rate', 100);
const SECONDS = arg('seconds', 10);
const CONF = 'bench';

interface PhaseReport {
  frames: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Frames longer than 1.5 × the display's interval (dropped at least one vsync). */
  slow: number;
  /** Renderer main-thread busy time per second (Chrome's TaskDuration, ScriptDuration, Layout + RecalcStyle). */
  taskMsPerS: number;
  scriptMsPerS: number;
  layoutMsPerS: number;
}

async function metrics(cdp: CDPSession): Promise<Record<string, number>> {
  const { metrics: list } = (await cdp.send('Performance.getMetrics')) as { metrics: Array<{ name: string; value: number }> };
  return Object.fromEntries(list.map((m) => [m.name, m.value]));
}

async function measure(page: Page, cdp: CDPSession, seconds: number, during?: () => Promise<unknown>): Promise<PhaseReport> {
  await page.evaluate('window.__probe.frames.length = 0; window.__probe.recordFrames = true');
  const before = await metrics(cdp);
  const t0 = Date.now();
  await Promise.all([during?.(), new Promise((r) => setTimeout(r, seconds * 1000))]);
  const wall = (Date.now() - t0) / 1000;
  const after = await metrics(cdp);
  await page.evaluate('window.__probe.recordFrames = false');
  const frames = (await readProbe(page)).frames;
  const intervals = frames.slice(1).map((t, i) => t - frames[i]!).sort((a, b) => a - b);
  const vsync = percentile(intervals, 0.5);
  const per = (k: string) => (((after[k] ?? 0) - (before[k] ?? 0)) * 1000) / wall;
  return {
    frames: intervals.length,
    p50: vsync,
    p95: percentile(intervals, 0.95),
    p99: percentile(intervals, 0.99),
    max: intervals.at(-1) ?? NaN,
    slow: intervals.filter((d) => d > vsync * 1.5).length,
    taskMsPerS: per('TaskDuration'),
    scriptMsPerS: per('ScriptDuration'),
    layoutMsPerS: per('LayoutDuration') + per('RecalcStyleDuration'),
  };
}

const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '—').padStart(7);

async function main(): Promise<void> {
  console.log(`console render bench: ${MEMBERS} participants, ${TALKERS} talking, ${RATE} talking events/s for ${SECONDS} s (load ${loadavg()[0]!.toFixed(2)})`);
  const rig = await startConsoleRig();
  const browser = await launchChromium();
  try {
    for (let i = 1; i <= MEMBERS; i++) rig.call(CONF, { name: `Caller ${i}`, number: String(1000 + i), moderator: i === 1 });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await instrument(context);
    const page = await context.newPage();
    const t0 = Date.now();
    await signIn(page, `${rig.url}#/c/${CONF}`, rig.token);
    // Polled from here: a page-side wait would need eval, which the page's CSP forbids.
    const deadline = Date.now() + 60_000;
    while ((await page.locator('li.member').count()) !== MEMBERS) {
      if (Date.now() > deadline) throw new Error(`the console did not show ${MEMBERS} rows within 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`signed in and ${MEMBERS} rows rendered in ${Date.now() - t0} ms`);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');

    const idle = await measure(page, cdp, Math.min(5, SECONDS));
    let sent = 0;
    const load = await measure(page, cdp, SECONDS, async () => {
      sent = (await rig.sim.engine.flood({ conference: CONF, members: TALKERS, eventsPerSecond: RATE, durationMs: SECONDS * 1000 })).sent;
    });

    // Talking indicator delay: each talking event's arrival in the page → the row's data-talking change.
    const probe = await readProbe(page);
    const changes = new Map<number, Array<[number, string]>>();
    for (const [t, id, v] of probe.talking) (changes.get(id) ?? changes.set(id, []).get(id)!).push([t, v]);
    const delays: number[] = [];
    let arrived = 0;
    for (const [t, event, id] of probe.arrivals) {
      if ((event !== 'start-talking' && event !== 'stop-talking') || id === undefined) continue;
      arrived++;
      const want = event === 'start-talking' ? 'true' : 'false';
      const hit = changes.get(id)?.find(([ct, v]) => ct >= t && v === want);
      if (hit) delays.push(hit[0] - t);
    }
    delays.sort((a, b) => a - b);

    console.log('');
    console.log(`| phase | frames | frame p50 | p95 | p99 | max | frames > 1.5 vsync | main thread ms/s | script ms/s | style+layout ms/s |`);
    console.log(`| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
    for (const [name, r] of [['baseline: same page, no events', idle], [`${RATE} talking events/s`, load]] as const) {
      console.log(`| ${name} | ${r.frames} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${ms(r.max)} | ${r.slow} | ${ms(r.taskMsPerS)} | ${ms(r.scriptMsPerS)} | ${ms(r.layoutMsPerS)} |`);
    }
    console.log('');
    console.log(`talking events: ${sent} sent by the simulator, ${arrived} reached the page, ${delays.length} shown`);
    console.log(`event reached the page → indicator changed: p50 ${ms(percentile(delays, 0.5))} ms, p95 ${ms(percentile(delays, 0.95))} ms, max ${ms(delays.at(-1) ?? NaN)} ms (goal: < 200 ms)`);
  } finally {
    await browser.close();
    await rig.close();
  }
}

await main();
