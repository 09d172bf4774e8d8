/**
 * The codec's fast paths must give exactly what the general code gives: the byte-level reader of
 * `Content-Length/Content-Type` header blocks, and URL-decoding of ASCII escapes.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EslParser, parseHeaderBlock, urlDecode, urlEncode } from '../../src/esl/codec.js';
import { EslProtocolError } from '../../src/esl/errors.js';

function parseOne(wire: string): { headers: Record<string, string> } | { error: string } {
  try {
    const frames = new EslParser().push(Buffer.from(wire, 'utf8'));
    return { headers: { ...frames[0]!.headers } };
  } catch (err) {
    return { error: (err as Error).constructor.name };
  }
}

/** The general path's answer for a header block (what the parser did before the fast path). */
function general(block: string): { headers: Record<string, string> } | { error: string } {
  try {
    const headers = parseHeaderBlock(block, 'frame');
    const type = headers['Content-Type'];
    const len = headers['Content-Length'];
    if (type === undefined || !['api/response', 'text/event-json', 'text/event-plain', 'command/reply'].includes(type)) throw new EslProtocolError('type');
    if (len !== undefined && !/^\d{1,12}$/.test(len)) throw new EslProtocolError('length');
    return { headers: { ...headers } };
  } catch (err) {
    return { error: (err as Error).constructor.name };
  }
}

describe('header block fast path', () => {
  it('Content-Length + Content-Type blocks, exact and perturbed, read the same as the line parser', () => {
    const line = fc.oneof(
      fc.constantFrom('Content-Length: 0', 'Content-Length: 000', 'Content-Length: 12x', 'Content-Length:0', 'Content-Length:  0', 'Content-Length: '),
      fc.constantFrom('Content-Type: text/event-json', 'Content-Type: api/response', 'Content-Type: text/event-plain ', 'Content-Type: text/event-jsonx', 'Content-Type: command/reply'),
      fc.constantFrom('Reply-Text: +OK', 'X-A: b', 'content-length: 0'),
    );
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 4 }), (lines) => {
        const block = lines.join('\n');
        const got = parseOne(`${block}\n\n`);
        const want = general(block);
        if ('headers' in want && want.headers['Content-Length'] !== undefined && Number(want.headers['Content-Length']) > 0) return; // needs a body
        expect(got).toEqual(want);
      }),
      { numRuns: 2000 },
    );
  });

  it('the fast path keeps wire order and exact values (leading zeros too)', () => {
    const [f] = new EslParser().push(Buffer.from('Content-Length: 0003\nContent-Type: text/event-json\n\n{"}'));
    expect(Object.entries(f!.headers)).toEqual([
      ['Content-Length', '0003'],
      ['Content-Type', 'text/event-json'],
    ]);
    expect(f!.body).toBe('{"}');
  });

  it('gives each Content-Length as its digits were sent, for every type, with the body it counts', () => {
    for (const type of ['text/event-json', 'text/event-plain', 'api/response', 'command/reply']) {
      for (const body of ['x', 'x'.repeat(10), 'é'.repeat(50), 'y'.repeat(2614), 'z'.repeat(100_000)]) {
        const length = Buffer.byteLength(body);
        const frames = new EslParser().push(Buffer.from(`Content-Length: ${length}\nContent-Type: ${type}\n\n${body}`));
        expect(frames).toHaveLength(1);
        expect(frames[0]!.headers).toEqual({ 'Content-Length': String(length), 'Content-Type': type });
        expect(frames[0]!.type).toBe(type);
        expect(frames[0]!.body).toBe(body);
      }
    }
    // A known type's name with something after it, or another type of the same length, is not taken as it.
    expect(parseOne('Content-Length: 0\nContent-Type: text/event-jsonx\n\n')).toEqual(general('Content-Length: 0\nContent-Type: text/event-jsonx'));
    expect(parseOne('Content-Length: 0\nContent-Type: text/event-xmlx\n\n')).toEqual(general('Content-Length: 0\nContent-Type: text/event-xmlx'));
  });
});

describe('urlDecode', () => {
  it('equals decodeURIComponent wherever that succeeds', () => {
    const piece = fc.oneof(fc.string(), fc.constantFrom('%20', '%3A', '%25', '%7F', '%00', '%C3%A9', '%E2%82%AC', '%F0%9F%98%80', '%41%42', '%'));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (parts) => {
        const v = parts.join('');
        let want: string;
        try {
          want = decodeURIComponent(v);
        } catch {
          return; // malformed: the lenient path, covered by the codec fuzz tests
        }
        expect(urlDecode(v)).toBe(want);
      }),
      { numRuns: 3000 },
    );
  });

  it('round-trips urlEncode', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(urlDecode(urlEncode(s))).toBe(s);
      }), { numRuns: 2000 });
  });

  it('keeps malformed escapes literally, decodes the rest', () => {
    expect(urlDecode('100%')).toBe('100%');
    expect(urlDecode('a%zzb%20c')).toBe('a%zzb c');
    expect(urlDecode('%C3%A9%20x')).toBe('é x');
  });
});
