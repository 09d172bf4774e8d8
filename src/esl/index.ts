/**
 * The ESL layer's public face: what the other folders use. The cluster and the node contract
 * (conference, state, app); the typed errors they see thrown; the pure wire format (the simulator
 * writes FreeSWITCH's frames with it, tests and benches parse captures with it, readers of
 * FreeSWITCH's XML replies unescape with it); one node (EslNodePool) and one socket (EslConnection)
 * for tests and benches that drive them alone.
 */
export { EslCluster } from './cluster.js';
export type { EslNode, NodeConfig, NodeState } from './types.js';
export type { EslEvent } from './event-decoding.js';
export { eachHeaderWithPrefix, headerLookup } from './lazy-event.js';
export { byteLength, encodeFrame } from './encoders.js';
export { urlEncode } from './url-coding.js';
export { xmlUnescape } from './xml-entities.js';
export { EslConnectionClosedError, EslInvalidArgumentError, EslNodeDownError, EslProtocolError, EslTimeoutError } from './errors.js';
// The outbound Event Socket (src/entry: FreeSWITCH connects to confmgr) speaks the same frames.
export { EslParser, type EslFrame } from './frame-parser.js';
export { decodeEvent, isEventFrame } from './event-decoding.js';
export { urlDecode } from './url-coding.js';
export { assertWireSafe } from './encoders.js';
