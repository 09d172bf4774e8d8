import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/index.js';

const MIN = `
freeswitch:
  nodes:
    - {name: fs1, host: 127.0.0.1, password: ClueCon}
`;

describe('ha config', () => {
  it('defaults: off, 1 s retries, 300 ms settle, 1 s lease heartbeat', () => {
    expect(parseConfig(MIN, 't.yaml', { env: {} }).ha).toEqual({ enabled: false, takeoverMs: 1000, settleMs: 300, holdSize: 100_000, heartbeatS: 1, commandWaitMs: 5000 });
  });

  it('takes a longer lease heartbeat (an overloaded host) and refuses one out of bounds', () => {
    expect(parseConfig(`${MIN}ha: {enabled: true, heartbeat_s: 5}\n`, 't.yaml', { env: {} }).ha.heartbeatS).toBe(5);
    expect(() => parseConfig(`${MIN}ha: {heartbeat_s: 0}\n`, 't.yaml', { env: {} })).toThrow(ConfigError);
    expect(() => parseConfig(`${MIN}ha: {heartbeat_s: 61}\n`, 't.yaml', { env: {} })).toThrow(ConfigError);
  });
});
