/**
 * The conference dial as the doors (REST, AMQP) run it: every endpoint gets its call id before it is
 * dialled, and the document enforcer is told that these calls join with flags of their own (the
 * dial's participant_flags), so the document's join_muted / join_deaf do not override them on
 * add-member. The entry tones still play.
 */
import { randomUUID } from 'node:crypto';
import type { ConferenceDialer } from '../conference/index.js';
import type { DocumentEnforcer } from './document-enforcer.js';

export function flagKeepingDialer(dialer: ConferenceDialer, enforcer: Pick<DocumentEnforcer, 'joinFlagsDecided'>): ConferenceDialer {
  return {
    dial(request) {
      const endpoints = request.endpoints.map((e) => ({ ...e, callId: e.callId ?? randomUUID() }));
      for (const e of endpoints) enforcer.joinFlagsDecided(e.callId);
      return dialer.dial({ ...request, endpoints });
    },
  };
}
