/**
 * A conference dial's `joined` means in the conference, as Kazoo's ecallmgr has it (it waits for the
 * leg's add-member): FreeSWITCH's originate says `+OK` once the leg answered and the conference
 * application started on it, and that application may still refuse it (a locked or full
 * conference). So each endpoint that answered is `joined` only once its call's `add-member` is seen
 * (listening starts before anything is dialled, so an add-member that beats the job's result counts);
 * one not seen within `confirmMs` becomes `failed`, "answered but did not join the conference".
 */
import { randomUUID } from 'node:crypto';
import type { ConferenceDialer, DialOutcome } from '../conference/index.js';
import type { EventSource } from './live.js';

export const NOT_JOINED_MESSAGE = 'answered but did not join the conference';

export function joinConfirmingDialer(dialer: ConferenceDialer, events: EventSource, confirmMs: number): ConferenceDialer {
  return {
    async dial(request) {
      const endpoints = request.endpoints.map((e) => ({ ...e, callId: e.callId ?? randomUUID() }));
      const ours = new Set(endpoints.map((e) => e.callId));
      const joined = new Set<string>();
      const waiting = new Map<string, () => void>();
      const unsubscribe = events.subscribe((event) => {
        if (event.event !== 'add-member' || event.conferenceId !== request.conference || event.callId === undefined || !ours.has(event.callId)) return;
        joined.add(event.callId);
        waiting.get(event.callId)?.();
      });
      try {
        const result = await dialer.dial({ ...request, endpoints });
        const outcomes = await Promise.all(
          result.outcomes.map(async (o): Promise<DialOutcome> => {
            if (o.result !== 'joined' || joined.has(o.callId)) return o;
            const seen = await new Promise<boolean>((resolve) => {
              const timer = setTimeout(() => resolve(false), confirmMs);
              waiting.set(o.callId, () => {
                clearTimeout(timer);
                resolve(true);
              });
            });
            return seen ? o : { endpointId: o.endpointId, callId: o.callId, result: 'failed', message: NOT_JOINED_MESSAGE };
          }),
        );
        return { ...result, outcomes };
      } finally {
        unsubscribe();
      }
    },
  };
}
