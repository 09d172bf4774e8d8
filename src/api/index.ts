/** The public face of src/api/: the fastify plugin of the REST API, WebSocket and console. */
export { registerApi, type ApiHandle } from './plugin.js';
export type { ApiLimits } from './limits.js';
export type { ApiDeps } from '../records/index.js';
