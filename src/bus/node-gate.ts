/**
 * NodeGate: the small gate in front of the publisher for standby pairs.
 *
 *  served node      the event goes to the publisher at once, with its FreeSWITCH identity
 *                   (`Core-UUID` + `Event-Sequence`) and node name as AMQP headers.
 *  other node       the event is held (bounded per node; the oldest go first, counted), unless the
 *                   active instance was already seen publishing it.
 *  observe()        what the active published (read back from the exchange by the lease): held
 *                   events up to that point are dropped, they are out.
 *  takeOver()       on winning the node's lease: everything still held is published, in order.
 *  reach()          the first event received from the node since its ESL connection came up (moved on
 *                   when the hold overflows): what a hold has is everything from there on.
 *  published()      the last event of the node seen published, on the newest Core-UUID seen.
 *
 * An event's identity is the pair (Core-UUID, Event-Sequence); events a resync made up (synthesized,
 * sequence 0) have none: they leave with the received events around them and are dropped only when a
 * later received event is seen published.
 */
import type { ConferenceEvent, OutboundEvent } from '../conference/index.js';
import { Fifo, silentLogger, type Logger } from '../util/index.js';
import type { Published, Reach } from './lease-balance.js';
import type { ServedNodes } from './served-nodes.js';

/** AMQP header names carrying an event's identity (absent when standby pairs are off). */
export const NODE_HEADER = 'x-confmgr-node';
export const CORE_HEADER = 'x-core-uuid';
export const SEQUENCE_HEADER = 'x-event-sequence';

export type GateHeaders = Record<string, string | number>;

export interface NodeGateOptions {
  served: Pick<ServedNodes, 'isServing'>;
  publish: (event: OutboundEvent, headers: GateHeaders) => void;
  /** Whether the publisher would publish an event of this name (others are not held). Default: all. */
  accepts?: (event: string) => boolean;
  /** Events held per node at most. Default 100 000. */
  holdSize?: number;
  logger?: Logger;
}

interface Held {
  out: OutboundEvent;
  core: string;
  /** 0 for synthesized events. */
  sequence: number;
  headers: GateHeaders;
}

export interface TakeoverResult {
  /** Published now: events the previous holder had not published. */
  released: number;
}

export interface GateStats {
  held: number;
  /** Held events dropped because the hold was full (possible gap on a takeover). */
  overflow: number;
  /** Events not published because the active was seen publishing them. */
  alreadyPublished: number;
  released: number;
}

export class NodeGate {
  private readonly served: Pick<ServedNodes, 'isServing'>;
  private readonly publishOut: (event: OutboundEvent, headers: GateHeaders) => void;
  private readonly holdSize: number;
  private readonly accepts: (event: string) => boolean;
  private readonly log: Logger;
  private readonly held = new Map<string, Fifo<Held>>();
  /** node → Core-UUID → highest Event-Sequence seen published. */
  private readonly seen = new Map<string, Map<string, number>>();
  /** node → the Core-UUID of the last event seen published. */
  private readonly lastCore = new Map<string, string>();
  private readonly reaches = new Map<string, Reach>();
  private readonly counts = { overflow: 0, alreadyPublished: 0, released: 0 };

  constructor(options: NodeGateOptions) {
    this.served = options.served;
    this.publishOut = options.publish;
    this.holdSize = Math.max(1, options.holdSize ?? 100_000);
    this.accepts = options.accepts ?? (() => true);
    this.log = (options.logger ?? silentLogger).child({ component: 'node-gate' });
  }

  /** One event from the state sync: published when its node is served, else held. */
  offer(event: ConferenceEvent, out: OutboundEvent): void {
    const sequence = event.synthesized ? 0 : event.sequence;
    const headers: GateHeaders = { [NODE_HEADER]: event.node, [CORE_HEADER]: event.coreUuid, [SEQUENCE_HEADER]: sequence };
    if (sequence > 0) {
      const r = this.reaches.get(event.node);
      if (!r || r.core !== event.coreUuid) this.reaches.set(event.node, { core: event.coreUuid, from: sequence });
    }
    if (this.served.isServing(event.node)) {
      this.publishOut(out, headers);
      return;
    }
    if (!this.accepts(out.event)) return;
    if (sequence > 0 && sequence <= (this.seen.get(event.node)?.get(event.coreUuid) ?? 0)) {
      this.counts.alreadyPublished++;
      return;
    }
    let list = this.held.get(event.node);
    if (!list) this.held.set(event.node, (list = new Fifo()));
    list.push({ out, core: event.coreUuid, sequence, headers });
    if (list.length > this.holdSize) {
      const dropped = list.shift()!;
      this.counts.overflow++;
      // The hold now has what came after the dropped event only: it covers the node only once that was published.
      const r = this.reaches.get(event.node);
      if (r && dropped.sequence > r.from && dropped.core === r.core) r.from = dropped.sequence;
    }
  }

  /** The active instance published (core, sequence) of `node`: held events up to it are out. */
  observe(node: string, core: string, sequence: number): void {
    if (sequence <= 0) return;
    let cores = this.seen.get(node);
    if (!cores) this.seen.set(node, (cores = new Map()));
    if ((cores.get(core) ?? 0) < sequence) cores.set(core, sequence);
    this.lastCore.set(node, core);
    const list = this.held.get(node);
    if (!list || list.length === 0) return;
    // Held events are in FreeSWITCH order: drop the prefix up to the last one seen published
    // (synthesized ones go only with a published event after them).
    let synthesized: Held[] = [];
    for (let h = list.peek(); h !== undefined; h = list.peek()) {
      if (h.sequence !== 0 && !(h.core === core && h.sequence <= sequence)) break;
      list.shift();
      if (h.sequence === 0) {
        synthesized.push(h);
        continue;
      }
      this.counts.alreadyPublished += synthesized.length + 1;
      synthesized = [];
    }
    if (synthesized.length > 0) list.unshiftAll(synthesized);
  }

  /** This instance now holds `node`'s lease: publishes, in order, what was held and not seen published. */
  takeOver(node: string): TakeoverResult {
    const list = this.held.get(node)?.drainAll() ?? [];
    this.held.delete(node);
    const cores = this.seen.get(node);
    let released = 0;
    for (const h of list) {
      if (h.sequence > 0 && h.sequence <= (cores?.get(h.core) ?? 0)) {
        this.counts.alreadyPublished++;
        continue;
      }
      this.publishOut(h.out, h.headers);
      released++;
    }
    this.counts.released += released;
    this.log.info({ node, released }, 'took over node: published what the previous holder had not');
    return { released };
  }

  /** How far back this instance's hold of the node's events reaches; undefined before its first event. */
  reach(node: string): Reach | undefined {
    return this.reaches.get(node);
  }

  /** The node's ESL connection went down: what it sends from now on reaches this instance only after a gap. */
  disconnected(node: string): void {
    this.reaches.delete(node);
  }

  /** The last event of the node seen published (on the newest FreeSWITCH run seen); undefined when none. */
  published(node: string): Published | undefined {
    const core = this.lastCore.get(node);
    const sequence = core === undefined ? undefined : this.seen.get(node)?.get(core);
    return core === undefined || sequence === undefined ? undefined : { core, sequence };
  }

  stats(): GateStats {
    let held = 0;
    for (const l of this.held.values()) held += l.length;
    return { held, ...this.counts };
  }
}
