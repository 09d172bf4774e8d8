/** The public face of src/demo/: `confmgr demo`. */
export { runDemo, type DemoSummary } from './run-demo.js';
