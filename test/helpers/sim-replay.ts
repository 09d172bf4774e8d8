/**
 * Replays fixture commands (X.sent.txt) against the simulator and normalizes frames for comparison
 * with X.raw. What is normalized is listed in VOLATILE_HEADERS and normalizeApiBody — nothing else.
 */
import { connect, type Socket } from 'node:net';
import { EslParser, type EslFrame } from '../../src/esl/codec.js';
import { readRaw } from './fixtures.js';

/** Frames of a raw byte stream, in order. */
export function framesOf(raw: Buffer): EslFrame[] {
  return new EslParser().push(raw);
}

/** How many complete frames `raw` holds in its first `offset` bytes. */
export function framesWithin(raw: Buffer, offset: number): number {
  return new EslParser().push(raw.subarray(0, offset)).length;
}

// ---------------------------------------------------------------------------------------------
// Normalization: ONLY these values are replaced.

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/**
 * Event headers whose values are volatile: wall-clock time, the global event counter, the channel
 * timestamps, the talking detector's measurements, and a recording's measured length.
 * Current-Energy is the energy detector's reading of Bob's tone at that instant (its tone phase).
 */
export const VOLATILE_HEADERS: ReadonlySet<string> = new Set([
  'Event-Date-Local',
  'Event-Date-GMT',
  'Event-Date-Timestamp',
  'Event-Sequence',
  'Caller-Profile-Created-Time',
  'Caller-Channel-Created-Time',
  'Caller-Channel-Answered-Time',
  'Current-Energy',
  'talking-gate-hits',
  'talking-total-packets',
  'talking-duration-ms',
  'talking-average-energy',
  'talking-delta-average',
  'talking-hit-on-percent',
  'talking-non-hit-ratio',
  'talking-hit-off-percent',
  'talking-hit-off-differential',
  'Samples-Out',
  'Milliseconds-Elapsed',
  'Record-File-Size',
]);

/** Maps every UUID to <uuid-N> in order of first appearance (one map per side of a scenario). */
export class UuidMap {
  private readonly map = new Map<string, string>();
  apply(text: string): string {
    return text.replace(UUID, (u) => {
      let v = this.map.get(u);
      if (v === undefined) {
        v = `<uuid-${this.map.size + 1}>`;
        this.map.set(u, v);
      }
      return v;
    });
  }
  placeholderOf(uuid: string): string | undefined {
    return this.map.get(uuid);
  }
  uuidOf(placeholder: string): string | undefined {
    for (const [k, v] of this.map) if (v === placeholder) return k;
    return undefined;
  }
}

/**
 * api/response and BACKGROUND_JOB bodies: seconds-since values of json_list/xml_list (run_time,
 * join_time, last_talking when numeric) and the uptime/session/cpu figures of `status`.
 */
export function normalizeApiBody(body: string): string {
  return body
    .replace(/("(?:run_time|join_time|last_talking)":\t)\d+/g, '$1<secs>')
    .replace(/(run_time=")\d+"/g, '$1<secs>"')
    .replace(/(<(join_time|last_talking)>)\d+(<\/\2>)/g, '$1<secs>$3')
    .replace(/^UP .*$/m, 'UP <uptime>')
    .replace(/^\d+ session\(s\) since startup$/m, '<n> session(s) since startup')
    .replace(/^\d+ session\(s\) - peak \d+, last 5min \d+ $/m, '<n> session(s) - peak <n>, last 5min <n> ')
    .replace(/^\d+ session\(s\) per Sec out of max (\d+), peak \d+, last 5min \d+ $/m, '<n> session(s) per Sec out of max $1, peak <n>, last 5min <n> ')
    .replace(/^min idle cpu [\d.]+\/[\d.]+$/m, 'min idle cpu <cpu>');
}

function normalizeHeaderValue(name: string, value: string): string {
  return VOLATILE_HEADERS.has(name) ? '<volatile>' : value;
}

function normalizePlainEvent(body: string): string {
  const blank = body.indexOf('\n\n');
  const head = blank < 0 ? body : body.slice(0, blank);
  const lines = head.split('\n').map((line) => {
    const colon = line.indexOf(': ');
    if (colon < 0) return line;
    const name = line.slice(0, colon);
    if (name === 'Content-Length') return 'Content-Length: <len>';
    return `${name}: ${normalizeHeaderValue(name, line.slice(colon + 2))}`;
  });
  const rest = blank < 0 ? '' : normalizeApiBody(body.slice(blank + 2));
  return lines.join('\n') + (blank < 0 ? '' : '\n\n' + rest);
}

/** Walks a flat JSON object of strings keeping duplicate keys and order (JSON.parse would merge them). */
function normalizeJsonEvent(body: string): string {
  const pair = /"((?:[^"\\]|\\.)*)":"((?:[^"\\]|\\.)*)"/gy;
  if (!body.startsWith('{') || !body.endsWith('}')) return body;
  const out: string[] = [];
  let pos = 1;
  while (pos < body.length - 1) {
    pair.lastIndex = pos;
    const m = pair.exec(body);
    if (!m) return `<unparsed json event>${body}`;
    const name = JSON.parse(`"${m[1]}"`) as string;
    let value = JSON.parse(`"${m[2]}"`) as string;
    if (name === 'Content-Length') value = '<len>';
    else if (name === '_body') value = normalizeApiBody(value);
    else value = normalizeHeaderValue(name, value);
    out.push(`${JSON.stringify(name)}:${JSON.stringify(value)}`);
    pos = pair.lastIndex;
    if (body[pos] === ',') pos++;
  }
  return '{' + out.join(',') + '}';
}

/** One frame as comparable text: type, outer headers in order (Content-Length value elided), body. */
export function normalizeFrame(frame: EslFrame, uuids: UuidMap): string {
  let text = '';
  for (const [k, v] of Object.entries(frame.headers)) text += k === 'Content-Length' ? 'Content-Length: <len>\n' : `${k}: ${v}\n`;
  text += '\n';
  if (frame.type === 'text/event-plain') text += normalizePlainEvent(frame.body);
  else if (frame.type === 'text/event-json') text += normalizeJsonEvent(frame.body);
  else text += normalizeApiBody(frame.body);
  return uuids.apply(text);
}

export function isTalkingEvent(frame: EslFrame | undefined): { action: 'start-talking' | 'stop-talking'; memberId: number } | undefined {
  if (!frame || !frame.type.startsWith('text/event-')) return undefined;
  const m = /Action(?::\s|":")(start-talking|stop-talking)/.exec(frame.body);
  if (!m) return undefined;
  const id = /Member-ID(?::\s|":")(\d+)/.exec(frame.body);
  return { action: m[1] as 'start-talking' | 'stop-talking', memberId: Number(id![1]) };
}

// ---------------------------------------------------------------------------------------------
// A raw ESL client

export class FrameClient {
  readonly frames: EslFrame[] = [];
  closed = false;
  private readonly parser = new EslParser();

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.parser.push(chunk)) this.frames.push(f);
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {
      this.closed = true;
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<FrameClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host);
      socket.once('connect', () => resolve(new FrameClient(socket)));
      socket.once('error', reject);
    });
  }

  send(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000, step?: () => void): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    step?.();
    if (cond()) return;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 3));
  }
}
