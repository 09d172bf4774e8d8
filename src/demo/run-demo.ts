/**
 * `confmgr demo`: the whole path on one machine, in about ten seconds.
 *
 *   simulator (FreeSWITCH stand-in, ephemeral port)
 *     ⇅ Event Socket
 *   confmgr service (the same createService as `confmgr start`)
 *     → RabbitMQ exchange ──▶ a consumer on a temporary queue bound to conference.event.#, printing events
 *     ← HTTP API (what `confmgr mute …` uses): the demo's commands go through it
 *
 * A scripted conference plays: three calls join (one moderator), members talk, the service mutes,
 * deafens, locks and kicks, the calls hang up. Each step waits until its events came back from
 * RabbitMQ. Then a summary; `ok` is true when every command succeeded and every expected event arrived.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChannelModel } from 'amqplib';
import { parseConfig } from '../config/index.js';
import { createLogger, redactUrl, silentLogger, type Logger } from '../util/index.js';
import { createService, type ServiceHandle } from '../app/index.js';
import { ServiceClient } from '../client/index.js';
import { renderTable } from '../client/index.js';
import { commandRpc, connectBroker, consumeEvents, type EventConsumer, type ReceivedEvent } from './broker.js';
import { startDemoSimulator, type DemoSimulator } from './simulator.js';
import { keepConferenceLive } from './console-room.js';

export interface DemoOptions {
  amqpUrl: string;
  out?: (text: string) => void;
  err?: (text: string) => void;
  /** Exchange to publish to (default `conference`). Tests use their own. */
  exchange?: string;
  /** Conference name (default `demo`). */
  conference?: string;
  /** Longest wait for one step's events (default 5 s). */
  stepTimeoutMs?: number;
  /** Service log level (default silent: the demo prints its own lines). */
  logLevel?: string;
  /** Pause between steps so a human can follow (default 250 ms; 1200 ms with `console`). */
  pauseMs?: number;
  /** Every event received from RabbitMQ for the demo conference (tests, tools). */
  onEvent?: (event: ReceivedEvent) => void;
  /**
   * `confmgr demo --console`: print the operator console's URL and token, wait until a console
   * connects (or `until`), play the script slower, then keep the conference live until `until`.
   */
  console?: { until: Promise<void> };
}

export interface DemoCommandResult {
  step: string;
  ok: boolean;
  ms: number;
  error?: string;
}

export interface DemoSummary {
  ok: boolean;
  /** Events received from RabbitMQ for the demo conference, by event name. */
  eventsByType: Record<string, number>;
  eventsTotal: number;
  commands: DemoCommandResult[];
  commandsOk: number;
  /** Expected events that never arrived (step: event). */
  missing: string[];
  durationMs: number;
}

const ACCOUNT = 'demo';
const TOKEN = 'demo-token-0123456789abcdef';
/** What the demo service publishes: Kazoo's participant events plus the conference-level ones the script shows. */
const PUBLISHED = [
  'add-member',
  'del-member',
  'start-talking',
  'stop-talking',
  'mute-member',
  'unmute-member',
  'deaf-member',
  'undeaf-member',
  'kick-member',
  'lock',
  'unlock',
  'conference-create',
  'conference-destroy',
];

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const out = options.out ?? ((t: string) => void process.stdout.write(t));
  const exchange = options.exchange ?? 'conference';
  const conference = options.conference ?? 'demo';
  const stepTimeoutMs = options.stepTimeoutMs ?? 5_000;
  const pauseMs = options.pauseMs ?? 250;
  const t0 = Date.now();
  const logger: Logger = options.logLevel ? createLogger({ level: options.logLevel, pretty: process.stdout.isTTY }) : silentLogger;

  // 1. The broker first: without it there is nothing to show, and the operator needs to know how to start it.
  const connection: ChannelModel = await connectBroker(options.amqpUrl);
  // Cleanups, run last-in first-out: the service stops before the queues and the connection go.
  const resources: Array<() => Promise<unknown>> = [() => connection.close().catch(() => undefined)];
  const dataDir = mkdtempSync(join(tmpdir(), 'confmgr-demo-'));
  resources.unshift(async () => rmSync(dataDir, { recursive: true, force: true }));

  const received: ReceivedEvent[] = [];
  const waiters = new Set<() => void>();
  const commands: DemoCommandResult[] = [];
  const missing: string[] = [];
  let service: ServiceHandle | undefined;
  let sim: DemoSimulator | undefined;
  let summary: DemoSummary | undefined;
  /** Once the summary is out, the console shows the live conference; the terminal stays quiet. */
  let afterSummary = false;
  let stopped = false;
  void options.console?.until.then(() => (stopped = true));

  try {
    const consumer: EventConsumer = await consumeEvents(connection, exchange, (e) => {
      if (e.payload.conference_id !== conference) return; // someone else's conference on a shared broker
      received.push(e);
      if (!afterSummary) out(formatEvent(e, t0));
      options.onEvent?.(e);
      for (const w of waiters) w();
    });
    resources.unshift(() => consumer.close());

    // The service's command queue is durable; the demo's own is removed when the demo ends.
    const commandQueue = `confmgr.demo.${process.pid}.${Date.now().toString(36)}.commands`;
    resources.unshift(async () => {
      const ch = await connection.createChannel();
      await ch.deleteQueue(commandQueue).catch(() => undefined);
      // The command intake's routing exchanges, named after the exchange and the command queue.
      for (const x of [`${exchange}.${commandQueue}`, `${exchange}.${commandQueue}.unrouted`]) await ch.deleteExchange(x).catch(() => undefined);
      await ch.close().catch(() => undefined);
    });

    // 2. The FreeSWITCH stand-in, on a free port, with a password of its own.
    const password = `demo-${Math.random().toString(36).slice(2, 10)}`;
    sim = await startDemoSimulator({ password });
    resources.unshift(() => sim!.close());

    // 3. The service, configured like an operator would (same schema, same checks).
    const config = parseConfig(
      [
        'app_name: confmgr',
        'freeswitch:',
        '  nodes:',
        `    - {name: fs1, host: 127.0.0.1, port: ${sim.port}, password_env: DEMO_ESL_PASSWORD, command_connections: 2}`,
        '  reconnect: {base_ms: 100, cap_ms: 1000}',
        'amqp:',
        '  url_env: DEMO_AMQP_URL',
        `  exchange: ${JSON.stringify(exchange)}`,
        `  command_queue: ${JSON.stringify(commandQueue)}`,
        `publish_participant_event: [${PUBLISHED.join(', ')}]`,
        'http:',
        '  listen: 127.0.0.1:0',
        `  tokens: [{token: ${TOKEN}, account_id: ${ACCOUNT}}]`,
        // Conferences without Kazoo's account variables (a plain FreeSWITCH) are the demo account's too.
        `  default_account_id: ${ACCOUNT}`,
        'storage:',
        `  path: ${JSON.stringify(join(dataDir, 'confmgr.sqlite'))}`,
      ].join('\n'),
      'demo',
      { env: { DEMO_ESL_PASSWORD: password, DEMO_AMQP_URL: options.amqpUrl } },
    );
    service = await createService(config, { logger, instanceName: 'confmgr-demo' });
    resources.unshift(() => service!.stop('demo done'));
    await service.start();
    // Generous: on a loaded machine (or a broker busy with other work) the first connect can take seconds.
    await waitFor(() => service!.readiness().ready && service!.sync.state('fs1') === 'synced', 30_000, 'the service to connect to the simulator and RabbitMQ');
    const client = new ServiceClient({ url: service.http!.url, token: TOKEN, accountId: ACCOUNT });
    const rpc = await commandRpc(connection, exchange);
    resources.unshift(() => rpc.close());
    await waitFor(() => service!.intake?.connected === true, 30_000, 'the AMQP command intake');
    /** A command over AMQP; a reply with status error becomes an exception naming its code. */
    const amqpCommand = async (body: unknown) => {
      const reply = await rpc.call(conference, body);
      if (reply.status !== 'success') {
        const e = reply.error as { code?: string; message?: string } | undefined;
        throw new Error(`${e?.message ?? 'failed'} [${e?.code ?? '?'}]`);
      }
      return reply;
    };

    out(
      `confmgr demo: FreeSWITCH simulator on 127.0.0.1:${sim.port}, RabbitMQ at ${redactUrl(options.amqpUrl)}, ` +
        `exchange "${exchange}", API at ${service.http!.url}\n` +
        `consumer: queue ${consumer.queue} bound to conference.event.#\n` +
        `publishing: ${PUBLISHED.join(', ')}\n` +
        (options.console
          ? `operator console: ${service.http!.url}/console/ (sign in with the token ${TOKEN}, account ${ACCOUNT})\n\n`
          : 'operator console: `npx confmgr demo --console` keeps the conference live for it in a browser\n\n') +
        `☎ = a call does something in FreeSWITCH   ▶ = a command to confmgr, over its HTTP API or over AMQP (RPC)\n` +
        `indented lines: events as they arrive from RabbitMQ (time, event, conference, member, caller)\n\n`,
    );

    if (options.console) {
      out('waiting for the console to connect… (Ctrl-C to stop)\n');
      // Signed in and subscribed: from then on the console sees every event of the script.
      while (!stopped && service.websocketListeners() === 0) await sleep(100);
      if (stopped) {
        out('stopped before a console connected\n');
        return summarize();
      }
      await sleep(1000); // its first snapshot
    }
    // With a console watching, slow enough for a person to follow each step there.
    const stepPauseMs = options.pauseMs ?? (options.console ? 1200 : pauseMs);

    // --- helpers for the script -------------------------------------------------------------
    const count = (event: string, pred: (p: Record<string, unknown>) => boolean = () => true) =>
      received.filter((e) => e.payload.event === event && pred(e.payload)).length;

    /** Waits until each expected event (name, optional member id) has arrived `n` more times than before. */
    const expectEvents = async (step: string, expected: Array<[event: string, member?: number]>, action: () => unknown | Promise<unknown>) => {
      const key = (ev: string, m?: number) => `${ev}${m === undefined ? '' : `#${m}`}`;
      const before = new Map<string, number>();
      for (const [ev, m] of expected) before.set(key(ev, m), countOf(ev, m));
      const need = new Map<string, number>();
      for (const [ev, m] of expected) need.set(key(ev, m), (need.get(key(ev, m)) ?? 0) + 1);
      await action();
      const done = () => [...need].every(([k, n]) => countOfKey(k) - before.get(k)! >= n);
      const ok = await waitUntil(done, stepTimeoutMs, waiters);
      if (!ok) for (const [k, n] of need) if (countOfKey(k) - before.get(k)! < n) missing.push(`${step}: ${k}`);
      if (stepPauseMs > 0) await sleep(stepPauseMs);
    };
    const countOf = (ev: string, m?: number) => count(ev, (p) => m === undefined || p.participant_id === m);
    const countOfKey = (k: string) => {
      const [ev, m] = k.split('#') as [string, string | undefined];
      return countOf(ev, m === undefined ? undefined : Number(m));
    };

    /** One command through the service's HTTP API (the path `confmgr mute …` takes). */
    const command = async (step: string, run: () => Promise<unknown>, expected: Array<[string, number?]>) => {
      out(`▶ ${step}\n`);
      const started = Date.now();
      let result: DemoCommandResult;
      try {
        await expectEvents(step, expected, run);
        result = { step, ok: true, ms: Date.now() - started };
      } catch (err) {
        result = { step, ok: false, ms: Date.now() - started, error: (err as Error).message };
        out(`  ✗ ${step}: ${result.error}\n`);
      }
      commands.push(result);
    };
    const call = async (step: string, run: () => unknown, expected: Array<[string, number?]>) => {
      out(`☎ ${step}\n`);
      await expectEvents(step, expected, run);
    };

    // --- the script ---------------------------------------------------------------------------
    const vars = { 'ecallmgr_Account-ID': ACCOUNT };
    const s = sim;
    let mod = 0;
    let alice = 0;
    let bob = 0;
    let aliceCall = '';
    let modCall = '';
    let bobCall = '';
    await call('Moderator (1001) dials in as moderator', () => {
      const r = s.originate({ conference, moderator: true, callerIdNumber: '1001', callerIdName: 'Moderator', vars });
      mod = r.member.id;
      modCall = r.member.callId;
    }, [['conference-create'], ['add-member']]);
    await call('Alice (1002) dials in', () => {
      const r = s.originate({ conference, callerIdNumber: '1002', callerIdName: 'Alice', vars });
      alice = r.member.id;
      aliceCall = r.member.callId;
    }, [['add-member']]);
    await call('Bob (1003) dials in', () => {
      const r = s.originate({ conference, callerIdNumber: '1003', callerIdName: 'Bob', vars });
      bob = r.member.id;
      bobCall = r.member.callId;
    }, [['add-member']]);
    await call('Bob talks', () => s.startTalking(conference, bob), [['start-talking', bob]]);
    await call('Bob stops talking', () => s.stopTalking(conference, bob), [['stop-talking', bob]]);

    await command(`[http] mute Alice (member ${alice})`, () => client.participantAction(conference, alice, 'mute'), [['mute-member', alice]]);
    await command(`[http] unmute Alice (member ${alice})`, () => client.participantAction(conference, alice, 'unmute'), [['unmute-member', alice]]);
    await command(`[amqp] deaf Alice (member ${alice}), Kazoo deaf_participant`, () => amqpCommand({ 'Event-Category': 'conference', 'Event-Name': 'command', 'Application-Name': 'deaf_participant', 'Conference-ID': conference, 'Participant-ID': alice }), [['deaf-member', alice]]);
    await command(`[amqp] undeaf Alice (member ${alice}), Kazoo undeaf_participant`, () => amqpCommand({ 'Event-Category': 'conference', 'Event-Name': 'command', 'Application-Name': 'undeaf_participant', 'Conference-ID': conference, 'Participant-ID': alice }), [['undeaf-member', alice]]);
    await command(`[http] mute everyone except moderators`, () => client.participantsAction(conference, 'mute'), [['mute-member', alice], ['mute-member', bob]]);
    await command(`[amqp] unmute non_moderator`, () => amqpCommand({ command: { kind: 'unmute', conference, target: 'non_moderator' } }), [['unmute-member', alice], ['unmute-member', bob]]);
    await command(`[http] lock ${conference}`, () => client.conferenceAction(conference, 'lock'), [['lock']]);
    await command(`[amqp] unlock ${conference}`, () => amqpCommand({ command: { kind: 'unlock', conference } }), [['unlock']]);
    await call('Moderator talks', () => s.startTalking(conference, mod), [['start-talking', mod]]);
    await call('Moderator stops talking', () => s.stopTalking(conference, mod), [['stop-talking', mod]]);
    await command(`[http] kick Bob (member ${bob})`, () => client.participantAction(conference, bob, 'kick'), [['kick-member', bob], ['del-member', bob]]);
    await call('Alice hangs up', () => s.hangup(aliceCall), [['del-member', alice]]);
    await call('Moderator hangs up', () => s.hangup(modCall), [['del-member', mod], ['conference-destroy']]);
    void bobCall;

    // Everything the service published has been confirmed by the broker before we report.
    await service.publisher.flush(5_000);
    if (options.console && !stopped) {
      summary = summarize();
      out(formatSummary(summary));
      afterSummary = true;
      out(`the conference ${conference} stays live for the console (callers take turns to talk); Ctrl-C to stop\n`);
      await keepConferenceLive(s, conference, vars, options.console.until);
    }
  } finally {
    for (const close of resources) await close().catch(() => undefined);
  }
  if (summary) return summary;
  summary = summarize();
  out(formatSummary(summary));
  return summary;

  function summarize(): DemoSummary {
    const eventsByType: Record<string, number> = {};
    for (const e of received) {
      const name = String(e.payload.event ?? '?');
      eventsByType[name] = (eventsByType[name] ?? 0) + 1;
    }
    const commandsOk = commands.filter((c) => c.ok).length;
    const result: DemoSummary = {
      ok: commandsOk === commands.length && commands.length > 0 && missing.length === 0,
      eventsByType,
      eventsTotal: received.length,
      commands,
      commandsOk,
      missing,
      durationMs: Date.now() - t0,
    };
    return result;
  }
}

function formatEvent(e: ReceivedEvent, t0: number): string {
  const p = e.payload;
  const elapsed = `+${((Date.now() - t0) / 1000).toFixed(2)}s`.padStart(8);
  const event = String(p.event ?? '?').padEnd(18);
  const conf = String(p.conference_id ?? '-').padEnd(8);
  if (p.participant_id === undefined) return `  ${elapsed}  ${event} ${conf}\n`;
  const who = `#${String(p.participant_id)}`.padEnd(4);
  const caller = `${String(p.caller_id_name ?? '')} <${String(p.caller_id_number ?? '')}>`.padEnd(20);
  return `  ${elapsed}  ${event} ${conf} ${who} ${caller}${p.is_moderator ? ' (moderator)' : ''}\n`;
}

export function formatSummary(s: DemoSummary): string {
  const rows = Object.entries(s.eventsByType).sort(([a], [b]) => a.localeCompare(b));
  const lines = [
    '',
    'Summary',
    `  events received from RabbitMQ: ${s.eventsTotal}`,
    renderTable(['event', 'count'], rows)
      .trimEnd()
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n'),
    `  commands through the service: ${s.commandsOk}/${s.commands.length} OK`,
    ...s.commands.filter((c) => !c.ok).map((c) => `    ✗ ${c.step}: ${c.error}`),
    ...(s.missing.length > 0 ? ['  expected events that did not arrive:', ...s.missing.map((m) => `    ✗ ${m}`)] : []),
    `  result: ${s.ok ? 'OK' : 'FAILED'} in ${(s.durationMs / 1000).toFixed(1)} s`,
    '',
  ];
  return lines.join('\n');
}

async function waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** Resolves true when `pred` holds (re-checked on every received event), false after `timeoutMs`. */
function waitUntil(pred: () => boolean, timeoutMs: number, waiters: Set<() => void>): Promise<boolean> {
  if (pred()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const check = () => {
      if (!pred()) return;
      clearTimeout(timer);
      waiters.delete(check);
      resolve(true);
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      resolve(false);
    }, timeoutMs);
    waiters.add(check);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
