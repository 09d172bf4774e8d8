import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/index.js';

const MIN = `
freeswitch:
  nodes:
    - {name: fs1, host: 127.0.0.1, password: ClueCon}
`;

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): Array<{ key: string; message: string }> {
  try {
    parseConfig(text, 'test.yaml', { env });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('amqp.url: one broker or several (a RabbitMQ cluster)', () => {
  it('accepts a list, and the comma-separated form, as the same comma-separated URL list', () => {
    const list = parseConfig(`${MIN}amqp:\n  url: [amqp://u:p@r1:5672, amqp://u:p@r2:5672]\n`, 't.yaml', { env: {} });
    expect(list.amqp.url).toBe('amqp://u:p@r1:5672,amqp://u:p@r2:5672');
    const text = parseConfig(`${MIN}amqp: {url: "amqp://u:p@r1:5672,amqp://u:p@r2:5672"}\n`, 't.yaml', { env: {} });
    expect(text.amqp.url).toBe(list.amqp.url);
    const one = parseConfig(`${MIN}amqp: {url: "amqp://u:p@r1:5672"}\n`, 't.yaml', { env: {} });
    expect(one.amqp.url).toBe('amqp://u:p@r1:5672');
  });

  it('takes a comma-separated list from url_env', () => {
    const c = parseConfig(`${MIN}amqp: {url_env: RMQ}\n`, 't.yaml', { env: { RMQ: 'amqp://u:p@r1,amqp://u:p@r2' } });
    expect(c.amqp.url).toBe('amqp://u:p@r1,amqp://u:p@r2');
    expect(issuesOf(`${MIN}amqp: {url_env: RMQ}\n`, { RMQ: 'amqp://u:p@r1,http://u:Hunter2x@r2' }).map((i) => i.key)).toEqual(['amqp.url_env']);
  });

  it('refuses a list with a URL that is not amqp, an empty list, without echoing a password', () => {
    const bad = issuesOf(`${MIN}amqp:\n  url: [amqp://r1, "http://u:Hunter2y@r2"]\n`);
    expect(bad.map((i) => i.key)).toEqual(['amqp.url']);
    expect(JSON.stringify(bad)).not.toContain('Hunter2y');
    expect(issuesOf(`${MIN}amqp:\n  url: []\n`).map((i) => i.key)).toContain('amqp.url');
  });
});

describe('amqp.queue_type: the durable queues confmgr declares', () => {
  it('is classic unless quorum is asked for (also from the environment); anything else is refused', () => {
    expect(parseConfig(MIN, 't.yaml', { env: {} }).amqp.queueType).toBe('classic');
    expect(parseConfig(`${MIN}amqp: {queue_type: quorum}\n`, 't.yaml', { env: {} }).amqp.queueType).toBe('quorum');
    expect(parseConfig(MIN, 't.yaml', { env: { CONFMGR_AMQP__QUEUE_TYPE: 'quorum' } }).amqp.queueType).toBe('quorum');
    expect(issuesOf(`${MIN}amqp: {queue_type: stream}\n`).map((i) => i.key)).toEqual(['amqp.queue_type']);
  });
});
