/** The public face of src/client/: what other folders may import. */
export { ServiceClient } from './service-client.js';
export { formatDuration, renderTable } from './table.js';
