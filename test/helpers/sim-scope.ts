/**
 * For simulator test files: simulators and clients a test opens are closed after it, newest first.
 * Call once at a test file's top level (it registers an afterEach).
 */
import { afterEach } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';

export interface SimScope {
  /** Closes `o` after the current test. */
  track(o: { close(): unknown }): void;
  /** A simulator on an ephemeral port without heartbeats, closed after the current test. */
  sim(opts?: SimulatorOptions): Promise<Simulator>;
}

export function simScope(): SimScope {
  const opened: Array<{ close(): unknown }> = [];
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) await o.close();
  });
  return {
    track: (o) => {
      opened.push(o);
    },
    async sim(opts = {}) {
      const s = await startSimulator({ port: 0, heartbeatMs: 0, ...opts });
      opened.push(s);
      return s;
    },
  };
}
