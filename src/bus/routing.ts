/**
 * The one place that decides AMQP routing keys for confmgr.
 *
 *   conference.event.<conference>.<call>      participant events
 *   conference.event.<conference>.<conference> conference-level events (no call id)
 *   conference.command.<conference>           commands to confmgr
 *
 * Every id segment is encoded with Kazoo's `amqp_util:encode/1` scheme so that `.`, `*`, `#`,
 * spaces and non-ASCII cannot break topic routing: bytes of the UTF-8 form outside
 * [A-Za-z0-9_~-] become `%XX` (uppercase hex), a space becomes `+`. Unlike Kazoo, a segment that
 * is exactly `*` or `#` is encoded too (`%2A`, `%23`): a published id must never act as a wildcard.
 * `decodeSegment` inverts it exactly. See src/bus/README.md.
 */
import { createHash } from 'node:crypto';
import { RoutingKeyDecodeError } from './errors.js';

export { RoutingKeyDecodeError };

export const EVENT_PREFIX = 'conference.event';
export const COMMAND_PREFIX = 'conference.command';
/** AMQP short strings (routing keys) are at most 255 bytes. */
export const MAX_ROUTING_KEY_BYTES = 255;
/** Marks a segment replaced by a hash because the full key would exceed 255 bytes. */
export const HASHED_SEGMENT_MARK = '=';

const HEX = '0123456789ABCDEF';

function isKeySafe(byte: number): boolean {
  return (
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    byte === 0x2d || // -
    byte === 0x5f || // _
    byte === 0x7e // ~
  );
}

const SAFE_RE = /^[A-Za-z0-9_~-]*$/;

/** Encodes one id so it is a single, literal topic word. Total; `decodeSegment` inverts it. */
export function encodeSegment(id: string): string {
  if (SAFE_RE.test(id)) return id; // fast path: uuids and plain names
  const bytes = Buffer.from(id, 'utf8');
  let out = '';
  for (const b of bytes) {
    if (isKeySafe(b)) out += String.fromCharCode(b);
    else if (b === 0x20) out += '+';
    else out += '%' + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

/** Inverse of `encodeSegment`. Throws RoutingKeyDecodeError on text `encodeSegment` cannot produce. */
export function decodeSegment(segment: string): string {
  if (SAFE_RE.test(segment)) return segment;
  if (segment.startsWith(HASHED_SEGMENT_MARK)) {
    throw new RoutingKeyDecodeError(`segment "${segment}" is a hash of an over-long id and cannot be decoded`);
  }
  const bytes: number[] = [];
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c === 0x2b) bytes.push(0x20);
    else if (c === 0x25) {
      const hex = segment.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new RoutingKeyDecodeError(`bad escape at ${i} in "${segment}"`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c < 0x80 && isKeySafe(c)) bytes.push(c);
    else throw new RoutingKeyDecodeError(`unexpected character at ${i} in "${segment}"`);
  }
  const buf = Buffer.from(bytes);
  const text = buf.toString('utf8');
  // Refuse byte sequences that are not valid UTF-8 (they would not round-trip).
  if (!Buffer.from(text, 'utf8').equals(buf)) throw new RoutingKeyDecodeError(`"${segment}" is not UTF-8`);
  return text;
}

function hashSegment(id: string): string {
  return HASHED_SEGMENT_MARK + createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 40);
}

/**
 * Builds `prefix.<seg>.<seg>` from raw ids. If the result exceeds 255 bytes (very long names), the
 * longest segments are replaced by `=<sha256 prefix>` until it fits: routing stays deterministic
 * per id, the payload still carries the full ids.
 */
function buildKey(prefix: string, ids: string[]): string {
  const segs = ids.map(encodeSegment);
  let key = [prefix, ...segs].join('.');
  while (key.length > MAX_ROUTING_KEY_BYTES) {
    let longest = -1;
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i]!;
      if (!s.startsWith(HASHED_SEGMENT_MARK) && (longest < 0 || s.length > segs[longest]!.length)) longest = i;
    }
    if (longest < 0) break; // cannot happen with ≤ 3 hashed segments of 41 chars
    segs[longest] = hashSegment(ids[longest]!);
    key = [prefix, ...segs].join('.');
  }
  return key;
}

/** `conference.event.<conference>.<call>`; conference-level events (no call id) repeat the conference id. */
export function eventRoutingKey(conferenceId: string, callId?: string): string {
  const call = callId ?? conferenceId;
  // buildKey's first key, without its arrays (one key per published event); only an over-long one goes there.
  const key = `${EVENT_PREFIX}.${encodeSegment(conferenceId)}.${encodeSegment(call)}`;
  return key.length <= MAX_ROUTING_KEY_BYTES ? key : buildKey(EVENT_PREFIX, [conferenceId, call]);
}

/** `conference.command.<conference>`. */
export function commandRoutingKey(conferenceId: string): string {
  return buildKey(COMMAND_PREFIX, [conferenceId]);
}

/** Binding pattern for the command intake queue. */
export const COMMAND_BINDING = `${COMMAND_PREFIX}.*`;

/** Kazoo's conference discovery key: `search_req` (and Kazoo's own `discovery_req`) go out on it, to every listener. */
export const DISCOVERY_KEY = 'conference.discovery';

/**
 * Binding pattern for event consumers: `undefined` → wildcard `*`; a given id is encoded.
 * e.g. eventBindingPattern('room 1') → `conference.event.room+1.*`.
 */
export function eventBindingPattern(conferenceId?: string, callId?: string): string {
  const conf = conferenceId === undefined ? '*' : encodeSegment(conferenceId);
  const call = callId === undefined ? '*' : encodeSegment(callId);
  return `${EVENT_PREFIX}.${conf}.${call}`;
}

export type ParsedRoutingKey =
  | { kind: 'event'; conferenceId: string; callId: string }
  | { kind: 'command'; conferenceId: string };

/** Parses a confmgr routing key back into ids; undefined if it is not one (or has a hashed segment). */
export function parseRoutingKey(key: string): ParsedRoutingKey | undefined {
  const parts = key.split('.');
  try {
    if (parts.length === 4 && parts[0] === 'conference' && parts[1] === 'event') {
      return { kind: 'event', conferenceId: decodeSegment(parts[2]!), callId: decodeSegment(parts[3]!) };
    }
    if (parts.length === 3 && parts[0] === 'conference' && parts[1] === 'command') {
      return { kind: 'command', conferenceId: decodeSegment(parts[2]!) };
    }
  } catch (err) {
    if (err instanceof RoutingKeyDecodeError) return undefined;
    throw err;
  }
  return undefined;
}
