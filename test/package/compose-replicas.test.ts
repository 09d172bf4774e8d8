/**
 * docker/compose.replicas.yml (Docker cannot run here): two confmgr replicas built from this
 * repository's Dockerfile, each mounting the same config with `ha.enabled` and the same FreeSWITCH
 * node(s), health judged by /readyz; the config they mount passes the real `confmgr check-config` with
 * the environment the compose file gives them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { runCli } from '../helpers/acc-harness.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const COMPOSE = join(ROOT, 'docker/compose.replicas.yml');
const REPLICAS = ['confmgr-a', 'confmgr-b'];

interface Service {
  build?: { context: string; dockerfile: string };
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  hostname?: string;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

const compose = parse(readFileSync(COMPOSE, 'utf8'), { merge: true }) as { services: Record<string, Service> };
const composeDir = dirname(COMPOSE);

/** The host file a service mounts at `target`. */
function mountOf(service: Service, target: string): string | undefined {
  const volume = (service.volumes ?? []).find((v) => v.split(':')[1] === target);
  return volume === undefined ? undefined : resolve(composeDir, volume.split(':')[0]!);
}

describe('compose file with two confmgr replicas', () => {
  it('runs two replicas of the image built from the Dockerfile, beside RabbitMQ, checked on /readyz', () => {
    const services = compose.services;
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['rabbitmq', ...REPLICAS]));
    for (const name of REPLICAS) {
      const s = services[name]!;
      expect(resolve(composeDir, s.build!.context)).toBe(ROOT);
      expect(existsSync(join(ROOT, s.build!.dockerfile))).toBe(true);
      expect(s.image).toBe(services[REPLICAS[0]!]!.image);
      expect(s.depends_on?.['rabbitmq']).toEqual({ condition: 'service_healthy' });
      expect(s.healthcheck!.test.join(' ')).toMatch(/127\.0\.0\.1:8000\/readyz/);
      expect(s.command).toEqual(['start', '--config', '/etc/confmgr/confmgr.yaml']);
    }
    const [a, b] = REPLICAS.map((n) => services[n]!);
    expect(mountOf(a!, '/etc/confmgr/confmgr.yaml')).toBe(mountOf(b!, '/etc/confmgr/confmgr.yaml'));
    // Each its own host port and instance name.
    expect(a!.ports).not.toEqual(b!.ports);
    expect(a!.hostname).not.toBe(b!.hostname);
    expect(services['rabbitmq']!.healthcheck).toBeDefined();
  });

  it('mounts a config with ha.enabled whose hosts are services of the file, and it passes check-config', async () => {
    for (const name of REPLICAS) {
      const s = compose.services[name]!;
      const file = mountOf(s, '/etc/confmgr/confmgr.yaml')!;
      const config = parseConfig(readFileSync(file, 'utf8'), file, { env: s.environment ?? {} });
      expect(config.ha.enabled).toBe(true);
      for (const node of config.freeswitch.nodes) expect(Object.keys(compose.services)).toContain(node.host);
      expect(new URL(config.amqp.url).hostname).toBe('rabbitmq');
      const r = await runCli(['check-config', file], { env: s.environment ?? {}, cleanEnv: true, timeoutMs: 30_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(/ClueCon|guest:guest|confmgr:confmgr@/);
    }
  });
});
