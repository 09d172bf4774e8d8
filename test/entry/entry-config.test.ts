/** `entry` config keys: off when `listen` is absent; prompts replace the default tones one by one. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';

const base = `
freeswitch:
  nodes:
    - { name: fs1, host: 127.0.0.1, port: 8021, password: ClueCon }
`;

describe('entry config', () => {
  it('is off without entry.listen', () => {
    expect(parseConfig(base, 't.yaml', { env: {} }).entry).toBeUndefined();
  });

  it('reads listen, the PIN timeouts and the prompts', () => {
    const c = parseConfig(`${base}entry:\n  listen: 0.0.0.0:8084\n  pin_digit_timeout_ms: 2000\n  prompts:\n    pin: /usr/share/sounds/pin.wav\n    full: tone_stream://%(100,100,480,620)\n`, 't.yaml', { env: {} });
    expect(c.entry).toEqual({
      host: '0.0.0.0',
      port: 8084,
      pinTimeoutMs: 5000,
      pinDigitTimeoutMs: 2000,
      namesDir: '/tmp/confmgr-names',
      prompts: { pin: '/usr/share/sounds/pin.wav', full: 'tone_stream://%(100,100,480,620)' },
    });
  });

  it('refuses a bad listen address, a prompt with spaces and unknown prompt names', () => {
    expect(() => parseConfig(`${base}entry:\n  listen: nowhere\n`, 't.yaml', { env: {} })).toThrow(/entry\.listen/);
    expect(() => parseConfig(`${base}entry:\n  listen: 127.0.0.1:8084\n  prompts:\n    pin: "a b.wav"\n`, 't.yaml', { env: {} })).toThrow(/entry\.prompts\.pin/);
    expect(() => parseConfig(`${base}entry:\n  listen: 127.0.0.1:8084\n  prompts:\n    welcome: x.wav\n`, 't.yaml', { env: {} })).toThrow(/welcome/);
  });
});
