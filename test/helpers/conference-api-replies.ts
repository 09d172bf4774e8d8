/** The exchanges of test/fixtures/freeswitch/api-replies.txt: each command sent and its raw reply. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EslParser, type EslFrame } from '../../src/esl/codec.js';
import { FIXTURE_DIR, unPythonRepr } from './fixtures.js';

export interface ApiExchange {
  scenario: string;
  /** The bytes sent, e.g. `api conference demo mute 2\n\n`. */
  sent: string;
  /** The command without `api ` / `bgapi ` and the trailing blank line. */
  command: string;
  kind: 'api' | 'bgapi';
  /** Every byte of the reply, verbatim. */
  raw: Buffer;
  frame: EslFrame;
}

const SENT_RE = /^=== \[([^\]]+)\] SENT \d+ bytes: b'(.*)'$/;
const REPLY_RE = /^--- RAW REPLY (\d+) bytes \(verbatim between markers\) ---$/;

export function readApiExchanges(): ApiExchange[] {
  const buf = readFileSync(join(FIXTURE_DIR, 'api-replies.txt'));
  const out: ApiExchange[] = [];
  let pos = 0;
  let pending: { scenario: string; sent: string } | undefined;
  while (pos < buf.length) {
    let nl = buf.indexOf(0x0a, pos);
    if (nl < 0) nl = buf.length;
    const line = buf.toString('utf8', pos, nl);
    const sent = SENT_RE.exec(line);
    const reply = REPLY_RE.exec(line);
    if (sent) {
      pending = { scenario: sent[1]!, sent: unPythonRepr(sent[2]!).toString('utf8') };
      pos = nl + 1;
    } else if (reply && pending) {
      const n = Number(reply[1]);
      const raw = buf.subarray(nl + 1, nl + 1 + n);
      const frames = new EslParser().push(Buffer.from(raw));
      if (frames.length !== 1) throw new Error(`expected one frame for ${pending.sent}, got ${frames.length}`);
      const first = pending.sent.split('\n')[0]!;
      const kind = first.startsWith('bgapi ') ? 'bgapi' : 'api';
      out.push({ ...pending, kind, command: first.slice(kind.length + 1), raw, frame: frames[0]! });
      pending = undefined;
      pos = nl + 1 + n;
    } else {
      pos = nl + 1;
    }
  }
  return out;
}
