/**
 * The demo's FreeSWITCH: the project's simulator on an ephemeral loopback port, with verbose events so
 * that channel variables (the account id) reach the service like Kazoo's CCVs do.
 */
import { startSimulator } from '../simulator/index.js';
import type { OriginateRequest, OriginateResult } from '../simulator/index.js';

export interface DemoSimulator {
  port: number;
  originate(req: OriginateRequest): OriginateResult;
  hangup(callId: string): boolean;
  startTalking(conference: string, memberId: number): boolean;
  stopTalking(conference: string, memberId: number): boolean;
  close(): Promise<void>;
}

export async function startDemoSimulator(options: { password: string; port?: number }): Promise<DemoSimulator> {
  const sim = await startSimulator({ host: '127.0.0.1', port: options.port ?? 0, password: options.password, verboseEvents: true });
  return {
    port: sim.port,
    originate: (req) => sim.engine.originate(req),
    hangup: (callId) => sim.engine.hangup(callId),
    startTalking: (c, m) => sim.engine.startTalking(c, m),
    stopTalking: (c, m) => sim.engine.stopTalking(c, m),
    close: () => sim.close(),
  };
}
