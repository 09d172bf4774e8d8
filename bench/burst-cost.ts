/**
 * What the same per-event work costs when events come in bursts with the process asleep between them,
 * as at a steady 5,000/s, against back to back, as in a flood: in one process, no I/O. The work is the
 * conference layer's per event on real fixture frames (json frame → header index → parseConferenceEvent
 * → participant payload → its JSON text → bytes in a buffer).
 *
 * Usage: npm run bench -- burst-cost [--events N] [--bursts 25/5,10/2,250/50]
 *   --bursts  B/P pairs: B events every P ms (a timer wakes the process). 25/5 is the pipeline bench's
 *             steady row (its simulator's conferences tick every 5 ms; 5,000 events/s).
 *
 * CPU is this process's (user + system, all threads) over the run ÷ events. A row with 0 events per burst
 * gives the wake-up alone (the timer, the event loop turn), per wake-up.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { EslParser, decodeEvent } from '../src/esl/codec.js';
import { parseConferenceEvent } from '../src/conference/events.js';
import { toOutboundEvent, type PayloadContext } from '../src/conference/payload.js';
import { serializedPayload } from '../src/conference/serialized-payload.js';

const fixture = fileURLToPath(new URL('../test/fixtures/freeswitch/demo-json.raw', import.meta.url));
const frames = [...new EslParser().push(readFileSync(fixture))].filter((f) => f.type === 'text/event-json');
const ctx: PayloadContext = { appName: 'confmgr', appVersion: '0.1.0', nodeName: 'confmgr@bench' };
const out = Buffer.allocUnsafe(1 << 20);
let next = 0;
let offset = 0;
let checksum = 0;

function work(n: number): void {
  for (let i = 0; i < n; i++) {
    const event = parseConferenceEvent(decodeEvent(frames[next++ % frames.length]!), 'fs1');
    if (event === undefined) continue;
    const text = serializedPayload(toOutboundEvent(ctx, event));
    if (offset > out.length - 65536) offset = 0;
    offset += out.write(text, offset);
    checksum += text.length;
  }
}

const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function backToBack(n: number): number {
  const c0 = cpuUs();
  work(n);
  return (cpuUs() - c0) / n;
}

/** CPU µs per event (per wake-up when `burst` is 0) with `burst` events every `periodMs`, over `total` events or wake-ups. */
function bursts(burst: number, periodMs: number, total: number): Promise<number> {
  const c0 = cpuUs();
  let done = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      work(burst);
      done += Math.max(1, burst);
      if (done >= total) {
        clearInterval(timer);
        resolve((cpuUs() - c0) / done);
      }
    }, periodMs);
  });
}

async function main(): Promise<void> {
  const events = Number(arg('events') ?? 50_000);
  const pairs = (arg('bursts') ?? '25/5,10/2,250/50').split(',').map((p) => p.split('/').map(Number) as [number, number]);
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (2 cores, shared)`);
  console.log(`burst cost: ${frames.length} real json frames, ${events} events per row, decode → parse → payload → text → bytes`);
  work(100_000); // JIT warm-up
  const hot = [backToBack(events), backToBack(events)];
  const hotUs = Math.min(...hot);
  console.log(`| arrival | CPU µs/event | ÷ back to back |`);
  console.log(`| --- | ---: | ---: |`);
  console.log(`| back to back (flood) | ${hotUs.toFixed(2)} | 1.00× |`);
  for (const [burst, period] of pairs) {
    const us = await bursts(burst, period, Math.min(events, Math.round((burst * 4000) / period)));
    console.log(`| ${burst} every ${period} ms (${Math.round((burst * 1000) / period).toLocaleString('en-US')}/s) | ${us.toFixed(2)} | ${(us / hotUs).toFixed(2)}× |`);
  }
  const wake = await bursts(0, 5, 400);
  console.log(`a wake-up alone (timer every 5 ms, no event): ${wake.toFixed(1)} µs of CPU each`);
  if (checksum === 0) throw new Error('no event was serialized');
}

void main();
