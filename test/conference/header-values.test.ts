/**
 * The header value readers answer exactly as their definitions: an integer header is `/^-?\d+$/`
 * after trimming, a flag is true/yes/1 or false/no/0 in any case, and a conference name is refused
 * for any whitespace or control character (`/[\s\p{Cc}]/u`), whatever shortcut they take.
 */
import { describe, expect, it } from 'vitest';
import { parseBool, parseIntHeader } from '../../src/conference/events.js';
import { conferenceNameProblem } from '../../src/conference/refusals.js';

const integerByDefinition = (v: string, fallback: number): number => (/^-?\d+$/.test(v.trim()) ? Number(v.trim()) : fallback);

const SAMPLES = [
  '', '-', '--1', '0', '-0', '007', '53', '-12', '1765019123456789', '99999999999999999999', ' 12', '12 ', '\t7\n', '\u00a05\u00a0', '1e3',
  '1.5', '0x10', '+4', '12a', 'a12', '١٢', '\ufeff3', '3\u2028', 'true', 'TRUE', 'Yes', 'no', '1', 'False', 'maybe', ' true',
];

describe('parseIntHeader', () => {
  it.each(SAMPLES)('%j reads as the definition says', (v) => {
    expect(Object.is(parseIntHeader(v, NaN), integerByDefinition(v, NaN))).toBe(true);
    expect(parseIntHeader(v, -7)).toBe(integerByDefinition(v, -7));
  });
  it('a missing header is the fallback', () => {
    expect(parseIntHeader(undefined, 4)).toBe(4);
  });
});

describe('parseBool', () => {
  const byDefinition = (v: string, fallback: boolean): boolean => {
    const l = v.toLowerCase();
    return l === 'true' || l === 'yes' || l === '1' ? true : l === 'false' || l === 'no' || l === '0' ? false : fallback;
  };
  it.each(SAMPLES)('%j reads as the definition says', (v) => {
    expect(parseBool(v, true)).toBe(byDefinition(v, true));
    expect(parseBool(v, false)).toBe(byDefinition(v, false));
  });
});

describe('conferenceNameProblem', () => {
  const names = ['room', 'bench-conf-3', 'a b', 'a\tb', 'x\u0000', 'x\u007f', 'x\u0085', 'x\u00a0y', 'caf\u00e9', 'x\u2003', 'x\u3000', '\ufeffx', 'ü', '~!@#$%^&*()'];
  it.each(names)('%j: refused exactly when it holds whitespace or a control character', (name) => {
    expect(conferenceNameProblem(name) === undefined).toBe(!/[\s\p{Cc}]/u.test(name));
  });
  it('every single character, alone and inside a name', () => {
    for (let c = 0; c < 0x10000; c++) {
      const ch = String.fromCharCode(c);
      const bad = /[\s\p{Cc}]/u.test(ch);
      expect(conferenceNameProblem(`a${ch}b`) === undefined).toBe(!bad);
    }
  });
});
