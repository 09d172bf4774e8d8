/**
 * The codec fuzzer's core, shared by the quick property test (test/esl/codec-fuzz.test.ts) and the
 * long run (`npm run fuzz`, scripts/fuzz-codec.ts). Inputs are fixture frames (and the fixtures' json
 * events again as text/event-xml), mutated.
 * Invariants checked for every input:
 *  - the parser either returns frames or throws EslProtocolError — never another exception;
 *  - after an error it stays failed (framing is lost; the connection must close);
 *  - bytes held while waiting never exceed the header limit plus the largest allowed body;
 *  - decodeEvent on any frame it produced (plain, json or xml) returns an event or throws EslProtocolError;
 *  - the same input split at a random offset gives the same frames (or the same error) as whole.
 */
import { EslParser, byteLength, decodeEvent, encodeFrame, isEventFrame, type EslFrame } from '../../src/esl/codec.js';
import { EslProtocolError } from '../../src/esl/errors.js';
import { rawFixtureNames, readRaw } from '../helpers/fixtures.js';

export const FUZZ_LIMITS = { maxHeaderBytes: 4096, maxBodyBytes: 256 * 1024 };

/** Small, fast, seeded PRNG (mulberry32) so every failing input can be replayed from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits a fixture stream into its frames' byte ranges using the (trusted) parser itself. */
export function frameSlices(raw: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const p = new EslParser();
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    const got = p.push(raw.subarray(i, i + 1));
    if (got.length > 0) {
      out.push(raw.subarray(start, i + 1));
      start = i + 1;
    }
  }
  return out;
}

const escapeXml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

/**
 * An event-json frame again as text/event-xml, in switch_event_xmlize's layout (the fixtures hold no
 * xml events, and the xml decoder must meet the mutator too); undefined for any other frame.
 */
export function asXmlEvent(raw: Buffer): Buffer | undefined {
  const [frame] = new EslParser().push(raw);
  if (frame?.type !== 'text/event-json') return undefined;
  const fields = JSON.parse(frame.body) as Record<string, unknown>;
  let xml = '<event>\n  <headers>\n';
  for (const [k, v] of Object.entries(fields)) if (k !== '_body') xml += `    <${k}>${escapeXml(String(v))}</${k}>\n`;
  xml += '  </headers>\n';
  if (typeof fields._body === 'string') {
    xml += `  <Content-Length>${byteLength(fields._body)}</Content-Length>\n  <body>${escapeXml(fields._body)}</body>\n`;
  }
  xml += '</event>\n';
  return encodeFrame([['Content-Length', String(byteLength(xml))], ['Content-Type', 'text/event-xml']], xml);
}

/** Every fixture frame, then the fixtures' json events as xml: the fuzzers' seed corpus. */
export function fuzzCorpus(): Buffer[] {
  const frames = rawFixtureNames().flatMap((n) => frameSlices(readRaw(n)));
  return [...frames, ...frames.flatMap((f) => asXmlEvent(f) ?? [])];
}

const INTERESTING = [
  '\n', '\n\n', ':', ': ', '%', '%ZZ', '%E2%82', 'Content-Length: ', 'Content-Length: -1\n', 'Content-Length: 99999999999\n',
  'Content-Length: abc\n', 'Content-Type: text/bogus\n', '\u00e9', '\u{1F600}', '\0', '\r\n', '{', '"_body":', 'Content-Type: text/event-json\n',
  'Content-Type: text/event-xml\n', '&amp;', '&#x41;', '&#x110000;', '&#99999999999;', '&#xD800;', '&#0;', '</headers>',
].map((s) => Buffer.from(s, 'utf8'));

/** One mutated input built from 1..4 fixture frames. */
export function mutate(frames: Buffer[], next: () => number): Buffer {
  const pick = () => frames[Math.floor(next() * frames.length)]!;
  const parts: Buffer[] = [];
  const n = 1 + Math.floor(next() * 4);
  for (let i = 0; i < n; i++) parts.push(pick());
  let buf = Buffer.from(Buffer.concat(parts));
  const ops = 1 + Math.floor(next() * 4);
  for (let k = 0; k < ops; k++) {
    const at = Math.floor(next() * (buf.length + 1));
    switch (Math.floor(next() * 7)) {
      case 0: // flip a byte
        if (buf.length > 0) buf[Math.min(at, buf.length - 1)] = Math.floor(next() * 256);
        break;
      case 1: // delete a run
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(Math.min(buf.length, at + 1 + Math.floor(next() * 16)))]);
        break;
      case 2: // insert an interesting token
        buf = Buffer.concat([buf.subarray(0, at), INTERESTING[Math.floor(next() * INTERESTING.length)]!, buf.subarray(at)]);
        break;
      case 3: // truncate
        buf = buf.subarray(0, at);
        break;
      case 4: // duplicate a run
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at, at + Math.floor(next() * 64)), buf.subarray(at)]);
        break;
      case 5: // change a digit (Content-Length drift)
        for (let i = at; i < buf.length; i++) {
          if (buf[i]! >= 0x30 && buf[i]! <= 0x39) {
            buf[i] = 0x30 + Math.floor(next() * 10);
            break;
          }
        }
        break;
      default: // random bytes
        buf = Buffer.concat([buf.subarray(0, at), Buffer.from(Array.from({ length: 1 + Math.floor(next() * 8) }, () => Math.floor(next() * 256))), buf.subarray(at)]);
    }
  }
  return buf;
}

export type Outcome = { frames: EslFrame[]; error?: string };

export class FuzzInvariantError extends Error {}

function run(input: Buffer, cuts: number[]): Outcome {
  const p = new EslParser(FUZZ_LIMITS);
  const frames: EslFrame[] = [];
  let prev = 0;
  for (const cut of [...cuts, input.length]) {
    try {
      p.feed(input.subarray(prev, cut), (f) => frames.push(f));
    } catch (err) {
      if (!(err instanceof EslProtocolError)) throw new FuzzInvariantError(`parser threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
      // Poisoned: a later push must fail with the same typed error.
      try {
        p.feed(Buffer.from('Content-Type: auth/request\n\n'), () => undefined);
        throw new FuzzInvariantError('parser accepted input after a protocol error');
      } catch (again) {
        if (again instanceof FuzzInvariantError) throw again;
        if (again !== err) throw new FuzzInvariantError('parser failed differently after a protocol error');
      }
      return { frames, error: err.message };
    }
    if (p.bufferedBytes > FUZZ_LIMITS.maxHeaderBytes + FUZZ_LIMITS.maxBodyBytes + 2 + input.length) {
      throw new FuzzInvariantError(`parser holds ${p.bufferedBytes} bytes`);
    }
    prev = cut;
  }
  for (const f of frames) {
    if (!isEventFrame(f)) continue;
    try {
      decodeEvent(f);
    } catch (err) {
      if (!(err instanceof EslProtocolError)) throw new FuzzInvariantError(`decodeEvent threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
    }
  }
  return { frames };
}

/** Checks every invariant for one input; throws FuzzInvariantError on a violation. */
export function checkInput(input: Buffer, next: () => number): Outcome {
  const whole = run(input, []);
  if (input.length > 1) {
    const cut = 1 + Math.floor(next() * (input.length - 1));
    const split = run(input, [cut]);
    // Bytes are only interpreted once complete, so where they were split cannot matter.
    if (split.frames.length !== whole.frames.length || split.error !== whole.error) {
      throw new FuzzInvariantError(`split at ${cut} gave ${split.frames.length} frames/${split.error} vs ${whole.frames.length}/${whole.error}`);
    }
    for (let i = 0; i < whole.frames.length; i++) {
      const a = whole.frames[i]!;
      const b = split.frames[i]!;
      if (a.type !== b.type || a.body !== b.body || JSON.stringify(a.headers) !== JSON.stringify(b.headers)) {
        throw new FuzzInvariantError(`split at ${cut} changed frame ${i}`);
      }
    }
  }
  return whole;
}
