/**
 * GET /v2/nodes — who serves each FreeSWITCH node, across the cluster: every instance reports its own
 * nodes (active, standby or unreachable, connected or not, since when, leases won); the other
 * instances' reports are gathered over the cluster view when it is on. Any valid token may read it
 * (it names nodes and instances, no conference).
 */
import type { FastifyInstance } from 'fastify';
import type { NodeStatus } from '../../records/index.js';
import { success, withMissing } from '../envelope.js';
import type { ApiContext } from '../context.js';
import { envelope, errors, type RouteSchema } from '../schemas.js';

const NODE_STATUS_SCHEMA = {
  type: 'object',
  required: ['node', 'instance', 'state', 'connected', 'since', 'takeovers'],
  additionalProperties: false,
  properties: {
    node: { type: 'string', description: 'the FreeSWITCH node (freeswitch.nodes[].name)' },
    instance: { type: 'string', description: 'the confmgr instance reporting it' },
    state: { type: 'string', enum: ['active', 'standby', 'unreachable'], description: 'active: this instance serves it; standby: another does; unreachable: no Event Socket connection' },
    connected: { type: 'boolean', description: "the instance's Event Socket connection to the node is up" },
    since: { type: 'string', format: 'date-time', description: 'when state or connected last changed' },
    takeovers: { type: 'integer', minimum: 0, description: 'leases of the node this instance won since it started' },
  },
};

const SCHEMAS = {
  nodes: {
    summary: 'The FreeSWITCH nodes and the instances serving them (active, standby), cluster-wide',
    tags: ['nodes'],
    response: { 200: envelope('One entry per node and instance; `partial` when an instance did not answer in time', { type: 'array', items: NODE_STATUS_SCHEMA }), ...errors(401) },
  },
} satisfies Record<string, RouteSchema>;

function byNodeThenInstance(a: NodeStatus, b: NodeStatus): number {
  return a.node === b.node ? a.instance.localeCompare(b.instance) : a.node.localeCompare(b.node);
}

export function nodeRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/v2/nodes', { schema: SCHEMAS.nodes }, async (request) => {
    const cluster = ctx.deps.cluster;
    const gathering = cluster?.nodes();
    const out: NodeStatus[] = [...(ctx.deps.nodeStatuses?.() ?? [])];
    if (!gathering) return success(request, out.sort(byNodeThenInstance));
    const gathered = await gathering;
    for (const { data } of gathered.answers) if (Array.isArray(data)) out.push(...data);
    return withMissing(success(request, out.sort(byNodeThenInstance)), gathered.missing, gathered.partial);
  });
}
