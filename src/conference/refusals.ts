/**
 * Values FreeSWITCH could not have sent, refused where they enter confmgr: event parsing (events.ts)
 * and listing parsing (json-list.ts). The event, listed conference or listed member carrying one is
 * dropped and reported to the parser's `onRefused` (the caller logs it), never stored and never
 * thrown: one odd value must not stop the stream or the rest of a listing.
 *
 * - A member id is a positive integer from mod_conference's one counter per process: `-1`, `0`,
 *   `1e20`, `abc` are not.
 * - A conference name is something an api command can address: not empty, no whitespace
 *   (FreeSWITCH splits api arguments on spaces), no control characters, at most
 *   MAX_CONFERENCE_NAME_LENGTH characters (twice what confmgr's own commands accept).
 */
import type { Logger } from '../util/index.js';

/** A value refused at the boundary, and what was dropped because of it. */
export interface Refusal {
  /** What was dropped: a received event, a listed conference, or one member of a listing. */
  dropped: 'event' | 'conference' | 'member';
  /** The field, as FreeSWITCH names it (`Member-ID`, `Conference-Name`, json_list's `id`…). */
  field: string;
  /** The value as received (JSON-quoted, cut to 64 characters). */
  value: string;
  reason: string;
  /** The conference the dropped member was listed in. */
  conference?: string;
  /** The dropped event's Action. */
  action?: string;
}

export type OnRefused = (refusal: Refusal) => void;

export const MAX_CONFERENCE_NAME_LENGTH = 256;

/** What makes `id` impossible as a member id, or undefined when it is a positive safe integer. */
export function memberIdProblem(id: number): string | undefined {
  return Number.isSafeInteger(id) && id > 0 ? undefined : 'not a positive integer';
}

/** What makes `name` impossible as a conference name, or undefined when FreeSWITCH could have it. */
export function conferenceNameProblem(name: string | undefined): string | undefined {
  if (name === undefined || name === '') return 'empty';
  if (name.length > MAX_CONFERENCE_NAME_LENGTH) return `longer than ${MAX_CONFERENCE_NAME_LENGTH} characters`;
  if (!isPlainAscii(name) && /[\s\p{Cc}]/u.test(name)) return 'whitespace or control characters';
  return undefined;
}

/**
 * Printable ASCII only (0x21–0x7e): then the name holds no whitespace or control character, found
 * without the Unicode regex (every received event's name is checked). Anything else takes the regex.
 */
function isPlainAscii(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/** A received value for a Refusal: JSON-quoted (control characters visible), at most 64 characters. */
export function refusedValue(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined ? '' : String(value);
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

/** How many refusals one listener logs per window; the rest are counted into the next line it logs. */
const REFUSALS_LOGGED_PER_WINDOW = 10;
const REFUSAL_LOG_WINDOW_MS = 10_000;

/**
 * An `onRefused` listener that logs each refusal as a structured warning naming the node. A peer
 * that sends nothing but odd values cannot flood the log: past a few lines per window the rest are
 * only counted (`suppressed` on the next line logged).
 */
export function logRefusals(log: Logger, node: string, now: () => number = Date.now): OnRefused {
  let windowStart = -Infinity;
  let logged = 0;
  let suppressed = 0;
  return (refusal) => {
    const t = now();
    if (t - windowStart >= REFUSAL_LOG_WINDOW_MS) {
      windowStart = t;
      logged = 0;
    }
    if (logged >= REFUSALS_LOGGED_PER_WINDOW) {
      suppressed++;
      return;
    }
    logged++;
    log.warn({ node, ...refusal, ...(suppressed > 0 ? { suppressed } : {}) }, 'dropped a value FreeSWITCH could not have sent');
    suppressed = 0;
  };
}
