/**
 * The conferencecall state machine (src/conference/conferencecall.ts) folded over a stream of
 * conference events, for tests: each call's statuses in order, as the pure functions decide them.
 */
import { canAdvance, statusForEvent, type ConferencecallStatus } from '../../src/conference/conferencecall.js';
import type { ConferenceEvent } from '../../src/conference/types.js';

/** Per call id, the statuses its stays went through (a new stay after `leaved` starts a new list). */
export function conferencecallHistories(events: Iterable<ConferenceEvent>): ConferencecallStatus[][] {
  const open = new Map<string, ConferencecallStatus[]>();
  const done: ConferencecallStatus[][] = [];
  for (const e of events) {
    const status = statusForEvent(e);
    const callId = e.member?.callId;
    if (status === undefined || !callId) continue;
    const history = open.get(callId);
    if (!history) {
      if (status === 'leaved') done.push([status]);
      else open.set(callId, [status]);
      continue;
    }
    if (!canAdvance(history[history.length - 1]!, status)) continue;
    history.push(status);
    if (status === 'leaved') {
      done.push(history);
      open.delete(callId);
    }
  }
  return [...done, ...open.values()];
}
