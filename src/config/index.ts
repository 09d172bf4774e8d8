export { ConfigError, type ConfigIssue } from './errors.js';
export { loadConfigFile, parseConfig, DEFAULT_AMQP_URL, type Config, type FreeswitchNodeConfig, type ApiToken, type LoadOptions } from './load.js';
export { applyEnvOverrides, OVERRIDE_PREFIX } from './overrides.js';
export { knownEventNames } from './known-events-source.js';
export { clientUrlFor, loadHttpSettings } from './http-settings.js';
export type { HttpSettings } from './http-settings.js';
