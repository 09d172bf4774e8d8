/** The ESL layer's public face: what src/conference and src/main may import. */
export * from './codec.js';
export * from './errors.js';
export type * from './types.js';
export { Backoff, type BackoffOptions } from '../util/backoff.js';
export { TypedEmitter } from '../util/emitter.js';
export {
  EslConnection,
  orderEventNames,
  type BgapiOptions,
  type ConnectionEvents,
  type ConnectionOptions,
  type ConnectionState,
  type DisconnectNotice,
} from './connection.js';
export { EslNodePool, DEFAULT_NODE_EVENTS, type PoolOptions, type PoolStats } from './pool.js';
export { EslCluster, type ClusterOptions } from './cluster.js';
