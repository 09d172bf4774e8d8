/**
 * A scripted stand-in for a real FreeSWITCH 1.10 Event Socket, for behaviour the simulator does not
 * show: replies chosen by the test (e.g. `-ERR no reply` to `conference json_list`), HEARTBEAT events,
 * and member events built from the recorded fixture (demo-json.raw) with values a busy switch has
 * (member ids in the thousands, UTF-8 caller names). Written from the wire format only; no src/ import.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { readFixture } from './fixtures.js';

/** The JSON bodies of every `text/event-json` frame of a fixture, in order. */
export function fixtureJsonEvents(name = 'demo-json.raw'): Array<Record<string, string>> {
  const raw = readFixture(name);
  const out: Array<Record<string, string>> = [];
  let pos = 0;
  while (pos < raw.length) {
    const end = raw.indexOf('\n\n', pos);
    if (end < 0) break;
    const headers = raw.subarray(pos, end).toString('utf8');
    const len = Number(/Content-Length: (\d+)/.exec(headers)?.[1] ?? 0);
    const body = raw.subarray(end + 2, end + 2 + len);
    if (headers.includes('text/event-json')) out.push(JSON.parse(body.toString('utf8')) as Record<string, string>);
    pos = end + 2 + len;
  }
  return out;
}

type ApiHandler = (command: string) => string;

export class FakeFreeSwitch {
  readonly commands: string[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly subscribed = new Set<Socket>();
  private server: Server | undefined;
  port = 0;

  constructor(
    private readonly api: ApiHandler,
    private readonly password = 'ClueCon',
  ) {}

  async listen(): Promise<number> {
    this.server = createServer((s) => this.onSocket(s));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    const a = this.server.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
    return this.port;
  }

  get subscribers(): number {
    return this.subscribed.size;
  }

  /** Sends an event (as FreeSWITCH's json format) to every subscribed connection. */
  emit(event: Record<string, string>): void {
    const body = Buffer.from(JSON.stringify(event), 'utf8');
    const frame = Buffer.concat([Buffer.from(`Content-Length: ${body.length}\nContent-Type: text/event-json\n\n`), body]);
    for (const s of this.subscribed) s.write(frame);
  }

  private onSocket(s: Socket): void {
    this.sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => {
      this.sockets.delete(s);
      this.subscribed.delete(s);
    });
    s.write('Content-Type: auth/request\n\n');
    let buf = '';
    let authed = false;
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const cmd = buf.slice(0, i).split('\n')[0]!.trim();
        buf = buf.slice(i + 2);
        this.commands.push(cmd);
        if (!authed) {
          authed = cmd === `auth ${this.password}`;
          s.write(`Content-Type: command/reply\nReply-Text: ${authed ? '+OK accepted' : '-ERR command not found'}\n\n`);
          continue;
        }
        if (cmd.startsWith('event ')) {
          this.subscribed.add(s);
          s.write('Content-Type: command/reply\nReply-Text: +OK event listener enabled json\n\n');
        } else if (cmd.startsWith('api ')) {
          const body = Buffer.from(this.api(cmd.slice(4)), 'utf8');
          s.write(`Content-Type: api/response\nContent-Length: ${body.length}\n\n`);
          s.write(body);
        } else if (cmd === 'exit') {
          s.write('Content-Type: command/reply\nReply-Text: +OK bye\n\n');
          s.end();
        } else {
          s.write('Content-Type: command/reply\nReply-Text: -ERR command not found\n\n');
        }
      }
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

export const STATUS_REPLY =
  'UP 0 years, 3 days, 4 hours, 5 minutes, 6 seconds, 7 milliseconds, 8 microseconds\n' +
  'FreeSWITCH (Version 1.10.12-release git a88d069 2024-08-02 21:02:27Z 64bit) is ready\n' +
  '123456 session(s) since startup\n2 session(s) - peak 40, last 5min 3 \n' +
  '0 session(s) per Sec out of max 30, peak 12, last 5min 1 \n1000 session(s) max\n' +
  'min idle cpu 0.00/97.23\nCurrent Stack Size/Max 240K/8192K\n';
