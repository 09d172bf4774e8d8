/**
 * The VoIPbin conferencecall record as the API stores and serves it. The record shape,
 * the timestamp format and the forward-only rule are decided once, in
 * src/conference/conferencecall.ts; this module adds what persistence needs.
 */
import { CONFERENCECALL_STATUSES, TM_UNSET, canAdvance, formatTimestampUs, type Conferencecall } from '../conference/index.js';
import type { StoredConferencecall } from '../storage/index.js';

export { CONFERENCECALL_STATUSES, canAdvance };
export const TM_NOT_YET = TM_UNSET;
export type ConferencecallRecord = Conferencecall;

/** `YYYY-MM-DD HH:MM:SS.ffffff` (UTC) from microseconds since the epoch. */
export const formatTimestamp = formatTimestampUs;

/**
 * A clock of strictly increasing microsecond timestamps: `tm_create` doubles as the page token,
 * so two records must never share one.
 */
export function monotonicMicros(nowMs: () => number = Date.now): () => number {
  let last = 0;
  return () => {
    const t = Math.max(Math.floor(nowMs() * 1000), last + 1);
    last = t;
    return t;
  };
}

/** The stored row as VoIPbin's record (confmgr's own columns dropped), in VoIPbin's key order. */
export function toRecord(row: StoredConferencecall): ConferencecallRecord {
  return {
    id: row.id,
    customer_id: row.customer_id,
    conference_id: row.conference_id,
    reference_type: row.reference_type,
    reference_id: row.reference_id,
    status: row.status,
    tm_create: row.tm_create,
    tm_update: row.tm_update,
    tm_delete: row.tm_delete,
  };
}
