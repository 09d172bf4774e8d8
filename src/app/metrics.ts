/**
 * Prometheus metrics (prom-client), on a registry of their own so several services can live in one
 * process (tests, the demo). Counters are pushed by hooks; gauges are read at scrape time from the
 * live objects (no timers).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CommandResult, ConferenceCommand, ConferenceCommandExecutor } from '../conference/index.js';
import type { PublisherMetricsHook } from '../bus/index.js';
import type { NodeState } from '../esl/index.js';

export interface GaugeSources {
  /** Events waiting in the AMQP buffer (not yet sent). */
  bufferDepth(): number;
  /** Events sent and not yet confirmed by the broker. */
  inFlight(): number;
  brokerConnected(): boolean;
  /** The AMQP command intake's connection (absent when it does not run). */
  intakeConnected?(): boolean;
  nodeStates(): ReadonlyArray<{ node: string; state: NodeState }>;
  /** Registry figures (absent in tests that build metrics alone). */
  deduplicated?(): number;
  conferences?(): number;
  participants?(): number;
  /** Standby pairs: this instance's lease state per node (absent without `ha.enabled`). */
  leaseStates?(): ReadonlyArray<{ node: string; state: 'active' | 'standby' | 'unreachable' }>;
}

const NODE_STATES: readonly NodeState[] = ['connecting', 'up', 'down', 'closed'];

/** Sampling interval of the default metrics' event-loop lag histogram (nodejs_eventloop_lag_*): ten samples a second. */
const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * Counts by two label values, kept in plain cells and added to the prom-client counter when it is
 * collected (a scrape): prom-client hashes a label object on every `inc`, and these counters move once
 * per event. A scrape sees every count made before it.
 */
class PendingCounts {
  /** `fresh`: not yet handed over (a first count of 0 still makes the series, as `inc(…, 0)` does). */
  private readonly cells = new Map<string, Map<string, { n: number; fresh: boolean }>>();

  add(a: string, b: string, n: number): void {
    let row = this.cells.get(a);
    if (row === undefined) this.cells.set(a, (row = new Map()));
    const cell = row.get(b);
    if (cell === undefined) row.set(b, { n, fresh: true });
    else cell.n += n;
  }

  /** Hands every count since the last flush to `inc`, by its label values. */
  flush(inc: (a: string, b: string, n: number) => void): void {
    for (const [a, row] of this.cells) {
      for (const [b, cell] of row) {
        if (cell.n === 0 && !cell.fresh) continue;
        const n = cell.n;
        cell.n = 0;
        cell.fresh = false;
        inc(a, b, n);
      }
    }
  }
}

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly received: Counter<'node' | 'event'>;
  private readonly published: Counter<'event'>;
  private readonly filtered: Counter<'event'>;
  private readonly dropped: Counter<'event' | 'reason'>;
  private readonly commandLatency: Histogram<'command' | 'outcome'>;
  private readonly takeovers: Counter<'node'>;
  private readonly takeoverSeconds: Histogram<'node'>;
  private readonly receivedCounts = new PendingCounts();
  private readonly publishedCounts = new PendingCounts();
  private sources: GaugeSources | undefined;

  constructor(options: { defaultMetrics?: boolean; prefix?: string } = {}) {
    const p = options.prefix ?? 'confmgr_';
    const registers = [this.registry];
    // The event-loop lag histogram samples every EVENT_LOOP_SAMPLE_MS: prom-client's 10 ms timer wakes an
    // otherwise idle process a hundred times a second, which costs more than the events between them.
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: p, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    this.received = new Counter({
      name: `${p}events_received_total`,
      help: 'Conference events received from FreeSWITCH, by node and event (Action)',
      labelNames: ['node', 'event'],
      registers,
      collect: () => this.receivedCounts.flush((node, event, n) => this.received.inc({ node, event }, n)),
    });
    this.published = new Counter({
      name: `${p}events_published_total`,
      help: 'Events confirmed by the AMQP broker, by event',
      labelNames: ['event'],
      registers,
      collect: () => this.publishedCounts.flush((_, event, n) => this.published.inc({ event }, n)),
    });
    this.filtered = new Counter({
      name: `${p}events_filtered_total`,
      help: 'Events not published because of publish_participant_event, by event',
      labelNames: ['event'],
      registers,
    });
    this.dropped = new Counter({
      name: `${p}events_dropped_total`,
      help: 'Events lost before the broker confirmed them, by event and reason (overflow, nacked, shutdown)',
      labelNames: ['event', 'reason'],
      registers,
    });
    this.commandLatency = new Histogram({
      name: `${p}command_duration_seconds`,
      help: 'Conference command latency (request to FreeSWITCH reply), by command and outcome (ok or error code)',
      labelNames: ['command', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.takeovers = new Counter({
      name: `${p}node_takeovers_total`,
      help: 'Node leases won by this instance (standby pairs), by node',
      labelNames: ['node'],
      registers,
    });
    this.takeoverSeconds = new Histogram({
      name: `${p}node_takeover_seconds`,
      help: 'From winning a node lease to publishing for it (settle and release of held events), by node',
      labelNames: ['node'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const self = this;
    /** A gauge without labels whose value is read from the sources at scrape time. */
    const scrapedGauge = (name: string, help: string, read: (sources: GaugeSources | undefined) => number): void => {
      new Gauge({
        name: `${p}${name}`,
        help,
        registers,
        collect() {
          this.set(read(self.sources));
        },
      });
    };
    scrapedGauge('amqp_buffer_depth', 'Events waiting in the AMQP publish buffer', (s) => s?.bufferDepth() ?? 0);
    scrapedGauge('amqp_in_flight', 'Events sent to the broker and not yet confirmed', (s) => s?.inFlight() ?? 0);
    scrapedGauge('amqp_connected', '1 when the AMQP publisher is connected to the broker', (s) => (s?.brokerConnected() ? 1 : 0));
    scrapedGauge('amqp_command_intake_connected', '1 when the AMQP command intake is connected and consuming', (s) => (s?.intakeConnected?.() ? 1 : 0));
    // With received and published/filtered/dropped this accounts for every event: a no-op state event
    // that a resync snapshot already reported is not told twice (see src/state/README.md).
    scrapedGauge('events_deduplicated', 'Received events not republished because a resync had already reported them (count since start)', (s) => s?.deduplicated?.() ?? 0);
    scrapedGauge('conferences', 'Conferences known in the realtime registry', (s) => s?.conferences?.() ?? 0);
    scrapedGauge('participants', 'Participants known in the realtime registry', (s) => s?.participants?.() ?? 0);
    new Gauge({
      name: `${p}freeswitch_node_state`,
      help: '1 for the current connection state of each FreeSWITCH node (connecting, up, down, closed)',
      labelNames: ['node', 'state'],
      registers,
      collect() {
        this.reset();
        for (const { node, state } of self.sources?.nodeStates() ?? []) {
          for (const s of NODE_STATES) this.set({ node, state: s }, s === state ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: `${p}node_active`,
      help: 'Standby pairs: 1 when this instance is active for the node (holds its lease), 0 when standby or unreachable',
      labelNames: ['node', 'state'],
      registers,
      collect() {
        this.reset();
        for (const { node, state } of self.sources?.leaseStates?.() ?? []) this.set({ node, state }, state === 'active' ? 1 : 0);
      },
    });
  }

  /** A node lease won and its held events released (standby pairs). */
  takeover(node: string, seconds: number): void {
    this.takeovers.inc({ node });
    this.takeoverSeconds.observe({ node }, seconds);
  }

  /** Where the gauges read their values at scrape time. */
  setSources(sources: GaugeSources): void {
    this.sources = sources;
  }

  eventReceived(node: string, event: string): void {
    this.receivedCounts.add(node, event, 1);
  }

  /** Pass to AmqpPublisher's `metrics` option. */
  readonly publisherHook: PublisherMetricsHook = (counter, event, n, reason) => {
    if (counter === 'confirmed') this.publishedCounts.add('', event, n);
    else if (counter === 'filtered') this.filtered.inc({ event }, n);
    else if (counter === 'dropped') this.dropped.inc({ event, reason: reason ?? 'unknown' }, n);
  };

  observeCommand(command: string, outcome: string, seconds: number): void {
    this.commandLatency.observe({ command, outcome }, seconds);
  }

  /** The executor every caller (HTTP API, AMQP intake, CLI) goes through, timed. */
  instrument(executor: ConferenceCommandExecutor): ConferenceCommandExecutor {
    return {
      execute: async (command: ConferenceCommand): Promise<CommandResult> => {
        const start = process.hrtime.bigint();
        let outcome = 'ok';
        try {
          return await executor.execute(command);
        } catch (err) {
          outcome = (err as { code?: unknown }).code && typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'ERROR';
          throw err;
        } finally {
          this.observeCommand(command.kind, outcome, Number(process.hrtime.bigint() - start) / 1e9);
        }
      },
    };
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
