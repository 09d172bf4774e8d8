/** The public face of src/bus/: what other folders may import. */
export { AmqpCommandIntake } from './command-intake.js';
export { EventFilter } from './filter.js';
export { AmqpPublisher } from './publisher.js';
export type { CloseResult, PublisherMetricsHook } from './publisher.js';
export { publishingHealth } from './publishing-health.js';
export type { PublishingStats } from './publishing-health.js';
export { EVENT_PREFIX, commandRoutingKey } from './routing.js';
export { NodeGate } from './node-gate.js';
export { NodeLeases } from './node-lease.js';
export { allNodesServed } from './served-nodes.js';
export type { ServedNodes } from './served-nodes.js';
export { ClusterView } from './cluster-view.js';
export type { ClusterRequest } from './cluster-view.js';
export { RemoteCommandError } from './errors.js';
