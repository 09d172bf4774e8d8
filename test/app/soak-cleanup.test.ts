/**
 * scripts/soak.ts leaves nothing behind in RabbitMQ — its durable `soak-<pid>-<hex>.commands` /
 * `.events` queues and its `soak-<pid>-<hex>` exchange are deleted — after a normal end and after SIGINT.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT, eventually } from '../helpers/acc-harness.js';

const run = promisify(execFile);

async function brokerNames(what: 'list_queues' | 'list_exchanges', prefix: string): Promise<string[]> {
  const { stdout } = await run('rabbitmqctl', [what, 'name', '-q'], { timeout: 60_000 });
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((n) => n.startsWith(prefix));
}

function soak(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/soak.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const kill = setTimeout(() => child.kill('SIGKILL'), 90_000);
  void exited.then(() => clearTimeout(kill));
  return { child, exited, output: () => output, prefix: `soak-${child.pid}-` };
}

describe('soak cleanup', () => {
  it('deletes its queues and exchange when the run ends', async () => {
    const s = soak(['--minutes', '0.03', '--sample-seconds', '0.5', '--conferences', '2', '--talk-rate', '20']);
    const code = await s.exited;
    expect(s.output()).toMatch(/verdict:/);
    expect(code === 0 || code === 1).toBe(true); // the verdict on so short a run is not the point
    expect(await brokerNames('list_queues', s.prefix)).toEqual([]);
    expect(await brokerNames('list_exchanges', s.prefix)).toEqual([]);
  }, 90_000);

  it('deletes them on SIGINT too (exit 130)', async () => {
    const s = soak(['--minutes', '5', '--sample-seconds', '0.5', '--conferences', '2', '--talk-rate', '20']);
    await eventually(() => /t\(s\)/.test(s.output()) || s.child.exitCode !== null, 60_000, 'soak running');
    // .events and .commands exist now, and the service's own (exclusive) command queue .commands.<instance>.<hex>
    const running = await brokerNames('list_queues', s.prefix);
    expect(running.filter((n) => /\.(events|commands)$/.test(n))).toHaveLength(2);
    expect(running.filter((n) => /\.commands\..+\.[0-9a-f]{8}$/.test(n))).toHaveLength(1);
    expect(running).toHaveLength(3);
    s.child.kill('SIGINT');
    expect(await s.exited).toBe(130);
    expect(s.output()).toMatch(/SIGINT; cleaning up/);
    expect(await brokerNames('list_queues', s.prefix)).toEqual([]);
    expect(await brokerNames('list_exchanges', s.prefix)).toEqual([]);
  }, 90_000);
});
