/**
 * EslParser with reused read buffers (EslConnection's socket `onread`): feedTransient must copy out
 * whatever it keeps, so overwriting the chunk after each call changes nothing; and a body that
 * arrives in many chunks is assembled in one buffer, with the same frames as a whole-stream parse.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EslParser, byteLength, encodeFrame, type EslFrame } from '../../src/esl/codec.js';
import { readRaw, rawFixtureNames } from '../helpers/fixtures.js';

/** Feeds `wire` through one scratch buffer cut at `cuts`, scribbling over it after every call. */
function viaScratch(wire: Buffer, cuts: number[]): { frames: EslFrame[]; parser: EslParser } {
  const parser = new EslParser();
  const scratch = Buffer.alloc(wire.length + 1);
  const frames: EslFrame[] = [];
  let prev = 0;
  for (const c of [...cuts, wire.length]) {
    const n = wire.copy(scratch, 0, prev, c);
    parser.feedTransient(scratch.subarray(0, n), (f) => frames.push(f));
    scratch.fill(0x58); // 'X': anything the parser kept a view of is now garbage
    prev = c;
  }
  return { frames, parser };
}

const cutsOf = (len: number) => fc.uniqueArray(fc.nat(len), { maxLength: 40 }).map((a) => a.sort((x, y) => x - y));

describe('EslParser.feedTransient', () => {
  it('parses every fixture the same through a reused buffer, cut anywhere', () => {
    for (const name of rawFixtureNames()) {
      const wire = readRaw(name);
      const want = new EslParser().push(wire);
      fc.assert(
        fc.property(cutsOf(wire.length), (cuts) => {
          const { frames, parser } = viaScratch(wire, cuts);
          expect(frames).toEqual(want);
          expect(parser.bufferedBytes).toBe(0);
        }),
        { numRuns: 60 },
      );
    }
  });

  it('assembles a large multi-byte body from many small chunks', () => {
    const body = 'é€😀 json_list '.repeat(20_000);
    const wire = Buffer.concat([
      encodeFrame([['Content-Type', 'api/response'], ['Content-Length', String(byteLength(body))]], body),
      encodeFrame([['Content-Type', 'command/reply'], ['Reply-Text', '+OK']]),
    ]);
    const cuts: number[] = [];
    for (let at = 7; at < wire.length; at += 1021) cuts.push(at); // odd step: splits UTF-8 sequences
    const parser = new EslParser();
    const scratch = Buffer.alloc(2048);
    const frames: EslFrame[] = [];
    let prev = 0;
    let midway = -1;
    for (const c of [...cuts, wire.length]) {
      const n = wire.copy(scratch, 0, prev, c);
      parser.feedTransient(scratch.subarray(0, n), (f) => frames.push(f));
      scratch.fill(0);
      if (frames.length === 0 && prev > wire.length / 2 && midway < 0) midway = parser.bufferedBytes;
      prev = c;
    }
    expect(frames.map((f) => f.type)).toEqual(['api/response', 'command/reply']);
    expect(frames[0]!.body).toBe(body);
    expect(midway).toBeGreaterThan(wire.length / 3); // the partial body is counted as buffered
    expect(parser.bufferedBytes).toBe(0);
  });

  it('keeps the tail of a chunk that ends inside a header block', () => {
    const wire = Buffer.from('Content-Type: command/reply\nReply-Text: +OK one\n\nContent-Type: command/re');
    const rest = Buffer.from('ply\nReply-Text: +OK two\n\n');
    const { frames, parser } = viaScratch(Buffer.concat([wire, rest]), [wire.length]);
    expect(frames.map((f) => f.headers['Reply-Text'])).toEqual(['+OK one', '+OK two']);
    expect(parser.bufferedBytes).toBe(0);
  });
});
