import { describe, expect, it } from 'vitest';
import {
  EslParser,
  decodeEvent,
  decodeJsonEvent,
  decodePlainEvent,
  encode,
  encodeFrame,
  urlDecode,
  urlEncode,
  type EslFrame,
} from '../../src/esl/codec.js';
import { EslInvalidArgumentError, EslProtocolError } from '../../src/esl/errors.js';

function parseError(text: string | Buffer): unknown {
  try {
    new EslParser().push(typeof text === 'string' ? Buffer.from(text) : text);
    return undefined;
  } catch (err) {
    return err;
  }
}

describe('codec: malformed input is a typed protocol error', () => {
  it.each([
    ['non-numeric Content-Length', 'Content-Type: api/response\nContent-Length: 12abc\n\n'],
    ['negative Content-Length', 'Content-Type: api/response\nContent-Length: -1\n\n'],
    ['empty Content-Length', 'Content-Type: api/response\nContent-Length: \n\n'],
    ['fractional Content-Length', 'Content-Type: api/response\nContent-Length: 1.5\n\n'],
    ['header line without a colon', 'Content-Type: api/response\nthis line has no colon\n\n'],
    ['header line starting with a colon', 'Content-Type: api/response\n: nameless\n\n'],
    ['unknown content type', 'Content-Type: text/something-else\n\n'],
    ['no content type', 'Reply-Text: +OK\n\n'],
  ])('%s', (_what, text) => {
    const err = parseError(text);
    expect(err).toBeInstanceOf(EslProtocolError);
    expect((err as EslProtocolError).code).toBe('ESL_PROTOCOL');
  });

  it('a header block over 64 KiB, even without its blank line yet', () => {
    const p = new EslParser();
    const line = `X-Filler: ${'a'.repeat(1000)}\n`;
    let err: unknown;
    try {
      p.push(Buffer.from('Content-Type: api/response\n'));
      for (let i = 0; i < 70; i++) p.push(Buffer.from(line));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EslProtocolError);
    expect(p.bufferedBytes).toBe(0);
  });

  it('a complete header block over 64 KiB', () => {
    const text = `Content-Type: api/response\nX-Big: ${'b'.repeat(70 * 1024)}\n\n`;
    expect(parseError(text)).toBeInstanceOf(EslProtocolError);
  });

  it('a Content-Length over the body limit', () => {
    const p = new EslParser({ maxBodyBytes: 1000 });
    expect(() => p.push(Buffer.from('Content-Type: api/response\nContent-Length: 1001\n\n'))).toThrow(EslProtocolError);
  });

  it('the parser stays poisoned after an error (framing is lost)', () => {
    const p = new EslParser();
    expect(() => p.push(Buffer.from('Content-Type: nope\n\n'))).toThrow(EslProtocolError);
    expect(() => p.push(Buffer.from('Content-Type: command/reply\nReply-Text: +OK\n\n'))).toThrow(EslProtocolError);
  });

  it('feed() hands over the frames before a malformed one, then throws', () => {
    const p = new EslParser();
    const seen: string[] = [];
    const good = 'Content-Type: command/reply\nReply-Text: +OK accepted\n\n';
    expect(() => p.feed(Buffer.from(good + good + 'Content-Type: api/response\nContent-Length: x\n\n'), (f) => seen.push(f.headers['Reply-Text']!))).toThrow(
      EslProtocolError,
    );
    expect(seen).toEqual(['+OK accepted', '+OK accepted']);
    expect(p.bufferedBytes).toBe(0);
  });

  it('an event-json body that is not a JSON object', () => {
    expect(() => decodeJsonEvent('[1,2]')).toThrow(EslProtocolError);
    expect(() => decodeJsonEvent('{"Event-Name": "X"')).toThrow(EslProtocolError);
    expect(() => decodeJsonEvent('{"Core-UUID": "x"}')).toThrow(EslProtocolError); // no Event-Name
  });

  it('a frame that is not an event cannot be decoded as one', () => {
    const frame: EslFrame = { type: 'api/response', headers: {}, body: '+OK' };
    expect(() => decodeEvent(frame)).toThrow(EslProtocolError);
  });
});

describe('codec: json events', () => {
  it('a repeated header (JSON array) joins with |, `_body` becomes the body and leaves the headers', () => {
    const e = decodeJsonEvent('{"Event-Name":"CUSTOM","Event-Subclass":"conference::maintenance","X":["a","b"],"N":5,"_body":"hello"}');
    expect(e.name).toBe('CUSTOM');
    expect(e.subclass).toBe('conference::maintenance');
    expect(e.headers).toEqual({ 'Event-Name': 'CUSTOM', 'Event-Subclass': 'conference::maintenance', X: 'a|b', N: '5' });
    expect(Object.keys(e.headers)).not.toContain('_body');
    expect(e.body).toBe('hello');
  });

  it('a header named __proto__ stays an ordinary header', () => {
    const e = decodeJsonEvent('{"Event-Name":"CUSTOM","__proto__":"x"}');
    expect(Object.getOwnPropertyDescriptor(e.headers, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(e.headers)).toBe(Object.prototype);
  });
});

describe('codec: xml events', () => {
  const xmlFrame = (value: string): EslFrame => ({
    type: 'text/event-xml',
    headers: {},
    body: `<event>\n  <headers>\n    <Event-Name>CUSTOM</Event-Name>\n    <X>${value}</X>\n  </headers>\n</event>\n`,
  });

  it('entities and character references decode to their characters', () => {
    const e = decodeEvent(xmlFrame('&lt;a&gt; &amp; &quot;&apos; &#x41;&#66; &#x1F600; &#9;&#10;&#13; &nbsp;'));
    expect(e.name).toBe('CUSTOM');
    expect(e.headers.X).toBe('<a> & "\' AB \u{1F600} \t\n\r &nbsp;');
  });

  it.each(['&#x110000;', '&#99999999999;', '&#1114112;', '&#xD800;', '&#xdfff;', '&#0;', '&#x0;', '&#1;', '&#xFFFE;', `&#${'9'.repeat(40)};`])(
    'a character reference to no XML character (%s) is a typed protocol error',
    (ref) => {
      let err: unknown;
      try {
        decodeEvent(xmlFrame(`before ${ref} after`));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(EslProtocolError);
      expect((err as EslProtocolError).code).toBe('ESL_PROTOCOL');
    },
  );
});

describe('codec: tolerant URL decoding', () => {
  it.each([
    ['100%', '100%'],
    ['%', '%'],
    ['%4', '%4'],
    ['%zz', '%zz'],
    ['a%2', 'a%2'],
    ['%E2%82', '\uFFFD'], // a truncated UTF-8 sequence: replacement char, never a throw
    ['tone_stream://%(100,0,300)', 'tone_stream://%(100,0,300)'],
    ['ok%20then%ZZ', 'ok then%ZZ'],
    ['%C3%A9t%C3%A9', 'été'],
    ['plain', 'plain'],
  ])('%j decodes to %j', (input, expected) => {
    expect(urlDecode(input)).toBe(expected);
  });

  it('a malformed value inside a plain event does not stop the event', () => {
    const text = 'Event-Name: CUSTOM\nEvent-Subclass: conference%3A%3Amaintenance\nFile: tone_stream://%(100,0,300)\nBad: %E0%A4%A\n';
    const e = decodePlainEvent(text);
    expect(e.subclass).toBe('conference::maintenance');
    expect(e.headers['File']).toBe('tone_stream://%(100,0,300)');
    expect(typeof e.headers['Bad']).toBe('string');
  });

  it('urlEncode round-trips through urlDecode', () => {
    for (const s of ['a b', 'conference::maintenance', 'été 😀 %', 'x=y&z', '']) expect(urlDecode(urlEncode(s))).toBe(s);
  });
});

describe('codec: multi-byte UTF-8 split across reads', () => {
  const body = 'Zoë 😀 ünïcödé — 会议';
  const frame = encodeFrame([['Content-Type', 'api/response'], ['Content-Length', String(Buffer.byteLength(body))]], body);

  it('Content-Length counts bytes, not characters', () => {
    expect(Buffer.byteLength(body)).toBeGreaterThan(body.length);
    const [f] = new EslParser().push(frame);
    expect(f!.body).toBe(body);
  });

  it('every split offset, including inside each multi-byte character, gives the same body', () => {
    for (let i = 1; i < frame.length; i++) {
      const p = new EslParser();
      const frames = [...p.push(frame.subarray(0, i)), ...p.push(frame.subarray(i))];
      expect(frames.length).toBe(1);
      expect(frames[0]!.body).toBe(body);
    }
  });

  it('one byte at a time', () => {
    const p = new EslParser();
    const frames: EslFrame[] = [];
    for (let i = 0; i < frame.length; i++) frames.push(...p.push(frame.subarray(i, i + 1)));
    expect(frames.map((f) => f.body)).toEqual([body]);
  });

  it('a multi-byte character in a plain event header value, percent-encoded and split', () => {
    const inner = `Event-Name: CUSTOM\nCaller-Caller-ID-Name: ${urlEncode('Zoë 😀')}\n`;
    const outer = encodeFrame([['Content-Length', String(Buffer.byteLength(inner))], ['Content-Type', 'text/event-plain']], inner);
    for (let i = 1; i < outer.length; i += 3) {
      const p = new EslParser();
      const [f] = [...p.push(outer.subarray(0, i)), ...p.push(outer.subarray(i))];
      expect(decodeEvent(f!).headers['Caller-Caller-ID-Name']).toBe('Zoë 😀');
    }
  });
});

describe('codec: the encoder refuses CR, LF and NUL in every argument', () => {
  const bad = ['\r', '\n', '\0', '\r\n', 'x\n\nexit', 'x\0y'];
  const cases: [string, (v: string) => Buffer][] = [
    ['auth password', (v) => encode.auth(v)],
    ['api command', (v) => encode.api(`status${v}`)],
    ['bgapi command', (v) => encode.bgapi(`status${v}`, 'uuid')],
    ['bgapi Job-UUID', (v) => encode.bgapi('status', `uuid${v}`)],
    ['event name', (v) => encode.event('json', ['HEARTBEAT', `CUSTOM${v}`])],
    ['filter header', (v) => encode.filter(`Unique-ID${v}`, 'x')],
    ['filter value', (v) => encode.filter('Unique-ID', `x${v}`)],
    ['filter delete header', (v) => encode.filterDelete(`Unique-ID${v}`)],
    ['filter delete value', (v) => encode.filterDelete('Unique-ID', `x${v}`)],
    ['nixevent name', (v) => encode.nixevent([`HEARTBEAT${v}`])],
  ];
  for (const [what, build] of cases) {
    it(what, () => {
      for (const v of bad) {
        expect(() => build(v), JSON.stringify(v)).toThrow(EslInvalidArgumentError);
      }
    });
  }

  it('well-formed commands encode to the exact bytes FreeSWITCH saw', () => {
    expect(encode.auth('ClueCon').toString()).toBe('auth ClueCon\n\n');
    expect(encode.api('conference list').toString()).toBe('api conference list\n\n');
    expect(encode.bgapi('originate loopback/conf-bgdemo/default &park()', '11111111-2222-3333-4444-555555555555').toString()).toBe(
      'bgapi originate loopback/conf-bgdemo/default &park()\nJob-UUID: 11111111-2222-3333-4444-555555555555\n\n',
    );
    expect(encode.event('json', ['CUSTOM', 'conference::maintenance']).toString()).toBe('event json CUSTOM conference::maintenance\n\n');
    expect(encode.exit().toString()).toBe('exit\n\n');
  });
});
