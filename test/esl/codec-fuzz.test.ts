import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EslParser, urlDecode, urlEncode, encodeFrame, byteLength } from '../../src/esl/codec.js';
import { EslProtocolError } from '../../src/esl/errors.js';
import { checkInput, fuzzCorpus, mutate, rng } from '../fuzz/codec-fuzz-core.js';

const frames = fuzzCorpus();

describe('codec fuzzing (quick sample; `npm run fuzz` runs 1,000,000 inputs)', () => {
  it('fixture frames were found, and xml renderings of their json events', () => {
    expect(frames.length).toBeGreaterThan(300);
    expect(frames.filter((f) => f.includes('Content-Type: text/event-xml')).length).toBeGreaterThan(50);
  });

  it('xml events whose character references name no XML character: typed errors only', () => {
    // The harness's invariant (decodeEvent throws EslProtocolError or nothing) on xml events given such a reference.
    const xml = frames.filter((f) => f.includes('Content-Type: text/event-xml')).slice(0, 20);
    for (const ref of ['&#x110000;', '&#99999999999;', '&#xD800;', '&#0;']) {
      for (const frame of xml) {
        const [, body] = frame.toString('utf8').split('\n\n', 2) as [string, string];
        const mutated = body.replace('</Event-Name>', `${ref}</Event-Name>`);
        const input = encodeFrame([['Content-Length', String(byteLength(mutated))], ['Content-Type', 'text/event-xml']], mutated);
        checkInput(input, rng(1));
      }
    }
  });

  it('20,000 mutated fixture streams: typed errors only, poisoned after an error, split-invariant', () => {
    const next = rng(20261122);
    let errors = 0;
    for (let i = 0; i < 20_000; i++) {
      if (checkInput(mutate(frames, next), next).error) errors++;
    }
    // The mutator must actually reach the error paths, or this test proves nothing.
    expect(errors).toBeGreaterThan(1000);
    expect(errors).toBeLessThan(20_000);
  });

  it('arbitrary bytes never throw anything but EslProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.nat(), (bytes, seed) => {
        checkInput(Buffer.from(bytes), rng(seed));
      }),
      { numRuns: 3000 },
    );
  });

  it('well-formed generated frames with UTF-8 bodies parse back exactly however they are split', () => {
    const header = fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/), fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => s.replace(/[\x00-\x1f\x7f]/g, '')));
    const frameArb = fc.record({
      headers: fc.array(header, { maxLength: 6 }).map((hs) => hs.filter(([n]) => n !== 'Content-Length' && n !== 'Content-Type')),
      body: fc.string({ unit: 'grapheme', maxLength: 300 }),
    });
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 6 }), (specs, rawCuts) => {
        const wire = Buffer.concat(
          specs.map((s) =>
            encodeFrame(
              [['Content-Length', String(byteLength(s.body))], ['Content-Type', 'api/response'], ...s.headers.map(([n, v]) => [n, v.trim()] as const)],
              s.body,
            ),
          ),
        );
        const cuts = [...new Set(rawCuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        const p = new EslParser();
        const got = [];
        let prev = 0;
        for (const c of [...cuts, wire.length]) {
          got.push(...p.push(wire.subarray(prev, c)));
          prev = c;
        }
        expect(got.map((f) => f.body)).toEqual(specs.map((s) => s.body));
        expect(p.bufferedBytes).toBe(0);
      }),
      { numRuns: 1500 },
    );
  });

  it('urlDecode never throws and inverts urlEncode', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => {
        expect(typeof urlDecode(s)).toBe('string');
        const wellFormed = Buffer.from(s, 'utf8').toString('utf8') === s; // no lone surrogates
        if (wellFormed) expect(urlDecode(urlEncode(s))).toBe(s);
      }),
      { numRuns: 5000 },
    );
  });

  it('a header block over the limit is a typed error, not unbounded buffering', () => {
    const p = new EslParser({ maxHeaderBytes: 1024 });
    expect(() => {
      for (let i = 0; i < 200; i++) p.push(Buffer.from('X-Filler: aaaaaaaaaaaaaaaaaaaa\n'));
    }).toThrow(EslProtocolError);
  });
});
