/**
 * Every FreeSWITCH node confmgr talks to, keyed by node name: the conference layer sends a command to a
 * named node and hears every node's events (with the node's name) through one emitter.
 */
import { silentLogger, type Logger } from '../util/index.js';
import { TypedEmitter } from '../util/index.js';
import { EslNodeDownError } from './errors.js';
import { EslNodePool, type PoolOptions } from './pool.js';
import type { NodeConfig, NodeEvents } from './types.js';

export interface ClusterOptions extends PoolOptions {
  logger?: Logger;
  /** Builds a pool; injectable so a test can count or wrap them. */
  createPool?: (config: NodeConfig, options: PoolOptions) => EslNodePool;
}

export class EslCluster extends TypedEmitter<NodeEvents> {
  private readonly pools = new Map<string, EslNodePool>();
  private readonly options: ClusterOptions;
  private started = false;

  constructor(configs: readonly NodeConfig[] = [], options: ClusterOptions = {}) {
    super();
    this.options = { ...options, logger: options.logger ?? silentLogger };
    for (const c of configs) this.add(c);
  }

  /** Adds a node (started at once when the cluster is). Throws on a duplicate name. */
  add(config: NodeConfig): EslNodePool {
    if (this.pools.has(config.name)) throw new EslNodeDownError(`node ${config.name} is configured twice`, { node: config.name });
    const poolOptions: PoolOptions = { logger: this.options.logger! };
    if (this.options.random) poolOptions.random = this.options.random;
    const pool = this.options.createPool ? this.options.createPool(config, poolOptions) : new EslNodePool(config, poolOptions);
    pool.on('event', (node, event) => this.emit('event', node, event));
    pool.on('up', (node) => this.emit('up', node));
    pool.on('down', (node, reason) => this.emit('down', node, reason));
    this.pools.set(config.name, pool);
    if (this.started) pool.start();
    return pool;
  }

  /** Closes and forgets a node. */
  async remove(name: string): Promise<void> {
    const pool = this.pools.get(name);
    if (!pool) return;
    this.pools.delete(name);
    await pool.close();
    pool.removeAllListeners();
  }

  has(name: string): boolean {
    return this.pools.has(name);
  }

  /** The named node; throws EslNodeDownError for a name that is not configured. */
  node(name: string): EslNodePool {
    const pool = this.pools.get(name);
    if (!pool) throw new EslNodeDownError(`unknown FreeSWITCH node ${JSON.stringify(name)}`, { node: name });
    return pool;
  }

  nodes(): EslNodePool[] {
    return [...this.pools.values()];
  }

  start(): void {
    this.started = true;
    for (const p of this.pools.values()) p.start();
  }

  async close(): Promise<void> {
    this.started = false;
    await Promise.all([...this.pools.values()].map((p) => p.close()));
  }
}
