/**
 * `confmgr demo --console`: what keeps the operator console interesting once the scripted demo is
 * over — a conference with a few callers who take turns talking, until the operator stops the demo.
 * Members the operator kicks from the console stay gone (their turns are skipped).
 */
import type { DemoSimulator } from './simulator.js';

const CALLERS = [
  { callerIdName: 'Moderator', callerIdNumber: '1001', moderator: true },
  { callerIdName: 'Alice', callerIdNumber: '1002' },
  { callerIdName: 'Bob', callerIdNumber: '1003' },
  { callerIdName: 'Carol', callerIdNumber: '1004' },
  { callerIdName: 'Dave', callerIdNumber: '1005' },
];

/** Dials the callers into `conference`, lets them talk in turn until `until` resolves. */
export async function keepConferenceLive(
  sim: DemoSimulator,
  conference: string,
  vars: Record<string, string>,
  until: Promise<void>,
  turnMs = 1500,
): Promise<void> {
  const members = CALLERS.map((c) => sim.originate({ conference, vars, ...c }).member.id);
  let turn = 0;
  const stops = new Set<ReturnType<typeof setTimeout>>();
  const timer = setInterval(() => {
    const id = members[turn++ % members.length]!;
    try {
      sim.startTalking(conference, id);
    } catch {
      return; // kicked (or the conference ended)
    }
    const stop = setTimeout(() => {
      stops.delete(stop);
      try {
        sim.stopTalking(conference, id);
      } catch {
        // left meanwhile
      }
    }, turnMs * 0.8);
    stops.add(stop);
  }, turnMs);
  try {
    await until;
  } finally {
    clearInterval(timer);
    for (const s of stops) clearTimeout(s);
  }
}
