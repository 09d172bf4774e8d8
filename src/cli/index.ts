/** The public face of src/cli/: what other folders may import. */
export { runCli } from './run.js';
