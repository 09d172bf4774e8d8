/** `http.limits`: values from the file and from CONFMGR_* overrides, bounds, and the cross-key rule. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/index.js';

const MIN = 'freeswitch: {nodes: [{name: fs1, host: 127.0.0.1, password: ClueCon}]}\n';

function issues(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(text, 't.yaml', { env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.key}: ${i.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('http.limits', () => {
  it('reads every key from the file, and overrides from the environment', () => {
    const c = parseConfig(
      `${MIN}http:\n  limits:\n    max_connections: 200\n    max_connections_per_address: 20\n    headers_timeout_ms: 2000\n` +
        '    request_timeout_ms: 4000\n    keep_alive_timeout_ms: 1000\n    body_bytes: 4096\n    websocket_auth_timeout_ms: 1500\n' +
        '    websocket_message_bytes: 2048\n    websocket_subscriptions: 5\n    websocket_write_coalesce_ms: 40\n',
      't.yaml',
      { env: { CONFMGR_HTTP__LIMITS__MAX_CONNECTIONS: '300' } },
    );
    expect(c.http.limits).toEqual({
      maxConnections: 300,
      maxConnectionsPerAddress: 20,
      headersTimeoutMs: 2000,
      requestTimeoutMs: 4000,
      keepAliveTimeoutMs: 1000,
      bodyBytes: 4096,
      websocketAuthTimeoutMs: 1500,
      websocketMessageBytes: 2048,
      websocketSubscriptions: 5,
      websocketWriteCoalesceMs: 40,
    });
  });

  it('refuses values out of range, unknown keys, and a request timeout shorter than the headers timeout', () => {
    expect(issues(`${MIN}http: {limits: {max_connections: 0, body_bytes: 10, websocket_subscriptions: 100000, websocket_write_coalesce_ms: 101, max_conections: 5}}\n`)).toEqual(
      expect.arrayContaining([
        'http.limits.max_connections: expected an integer from 1 to 1000000',
        'http.limits.body_bytes: expected an integer from 1024 to 67108864',
        'http.limits.websocket_subscriptions: expected an integer from 1 to 10000 (got 100000)',
        'http.limits.websocket_write_coalesce_ms: expected an integer from 0 to 100 (got 101)',
        'http.limits.max_conections: unknown key (misspelt, or not supported)',
      ]),
    );
    expect(issues(`${MIN}http: {limits: {headers_timeout_ms: 20000, request_timeout_ms: 10000}}\n`)).toEqual([
      'http.limits.request_timeout_ms: must be greater than or equal to headers_timeout_ms (got 10000)',
    ]);
  });
});
