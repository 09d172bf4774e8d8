/** The public face of src/app/: the service factory, `confmgr start`, and their types (the package's library entry). */
export { createService, type ServiceHandle, type ServiceOptions } from './service.js';
export { runService } from './run.js';
