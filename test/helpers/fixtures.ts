/**
 * The one way into the FreeSWITCH wire fixtures (test/fixtures/freeswitch, the spec of the wire),
 * for tests, benches and scripts alike.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/freeswitch');

/** The bytes of one fixture file, by its name in the fixture folder. */
export function readFixture(file: string): Buffer {
  return readFileSync(join(FIXTURE_DIR, file));
}

export function rawFixtureNames(): string[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.raw'))
    .map((f) => f.slice(0, -4))
    .sort();
}

export function readRaw(name: string): Buffer {
  return readFileSync(join(FIXTURE_DIR, `${name}.raw`));
}

export interface SummaryLine {
  contentType: string;
  /** Event-Name for events, else undefined. */
  eventName?: string;
  action?: string;
  memberId?: number;
  callerNumber?: string;
  /** For replies: the start of the reply text / body as the summary shows it (Python repr, may be cut). */
  text?: string;
}

/** Parses X.summary.txt: one line per received message. */
export function readSummary(name: string): SummaryLine[] {
  const lines = readFileSync(join(FIXTURE_DIR, `${name}.summary.txt`), 'utf8').split('\n').filter((l) => l.length > 0);
  return lines.map((line) => {
    const sp = line.indexOf(' ');
    const contentType = line.slice(0, sp);
    const rest = line.slice(sp + 1);
    if (contentType.startsWith('text/event-')) {
      const m = /^(\S+) (\S+) member=(\S+) cid=(\S+) ?(.*)$/.exec(rest);
      if (!m) throw new Error(`unparsed summary line: ${line}`);
      const out: SummaryLine = { contentType, eventName: m[1]! };
      if (m[2] !== 'None') out.action = m[2]!;
      if (m[3] !== 'None') out.memberId = Number(m[3]);
      if (m[4] !== 'None') out.callerNumber = m[4]!;
      return out;
    }
    return { contentType, text: rest };
  });
}

export interface SentLine {
  t: number;
  rxOffset: number;
  bytes: Buffer;
}

/** Parses X.sent.txt: every command the client sent, with how much of X.raw had arrived then. */
export function readSent(name: string): SentLine[] {
  const lines = readFileSync(join(FIXTURE_DIR, `${name}.sent.txt`), 'utf8').split('\n').filter((l) => l.length > 0);
  return lines.map((line) => {
    const m = /^t=([\d.]+) rx_offset=(\d+) sent=b'(.*)'$/.exec(line);
    if (!m) throw new Error(`unparsed sent line: ${line}`);
    return { t: Number(m[1]), rxOffset: Number(m[2]), bytes: unPythonRepr(m[3]!) };
  });
}

/** Decodes the inside of a Python bytes repr (b'...'). */
export function unPythonRepr(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out.push(c.charCodeAt(0));
      continue;
    }
    const n = s[++i]!;
    if (n === 'n') out.push(10);
    else if (n === 'r') out.push(13);
    else if (n === 't') out.push(9);
    else if (n === '0') out.push(0);
    else if (n === 'x') {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(n.charCodeAt(0));
  }
  return Buffer.from(out);
}

/** The product's source documents (Kazoo's conferences API and participant events; VoIPbin's
 *  conferencecall record), kept beside the wire fixtures. */
export const SEED_DIR = resolve(FIXTURE_DIR, '../seeds');
