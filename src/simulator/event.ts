/**
 * A FreeSWITCH event as the simulator fires it: headers in FreeSWITCH's order (duplicates allowed,
 * as FreeSWITCH allows them), an optional body, and its three wire encodings, each built once and
 * shared by every subscriber that asked for that format.
 */
import { byteLength, encodeFrame, urlEncode } from '../esl/codec.js';

export type Header = readonly [string, string];
export type EventFormat = 'plain' | 'json' | 'xml';

export class SimEvent {
  private plain?: Buffer;
  private json?: Buffer;
  private xml?: Buffer;

  constructor(
    readonly name: string,
    readonly subclass: string | undefined,
    readonly headers: readonly Header[],
    readonly body?: string,
  ) {}

  /** First value of a header, as FreeSWITCH's switch_event_get_header returns it. */
  header(name: string): string | undefined {
    for (const [k, v] of this.headers) if (k === name) return v;
    return undefined;
  }

  frame(format: EventFormat): Buffer {
    switch (format) {
      case 'plain':
        return (this.plain ??= frameOf('text/event-plain', serializePlain(this)));
      case 'json':
        return (this.json ??= frameOf('text/event-json', serializeJson(this)));
      case 'xml':
        return (this.xml ??= frameOf('text/event-xml', serializeXml(this)));
    }
  }
}

/** Events put Content-Length before Content-Type (replies do the opposite). */
function frameOf(type: string, text: string): Buffer {
  return encodeFrame(
    [
      ['Content-Length', String(byteLength(text))],
      ['Content-Type', type],
    ],
    text,
  );
}

/** switch_event_serialize: `Name: url-encoded value` lines, then the body behind its own Content-Length. */
export function serializePlain(event: SimEvent): string {
  let out = '';
  for (const [k, v] of event.headers) out += `${k}: ${urlEncode(v)}\n`;
  if (event.body !== undefined) out += `Content-Length: ${byteLength(event.body)}\n\n${event.body}`;
  else out += '\n';
  return out;
}

/** Compact JSON, raw UTF-8, duplicate keys kept; a body becomes Content-Length + _body. */
export function serializeJson(event: SimEvent): string {
  let out = '{';
  let first = true;
  for (const [k, v] of event.headers) {
    out += (first ? '' : ',') + JSON.stringify(k) + ':' + JSON.stringify(v);
    first = false;
  }
  if (event.body !== undefined) {
    out += `${first ? '' : ','}"Content-Length":"${byteLength(event.body)}","_body":${JSON.stringify(event.body)}`;
  }
  return out + '}';
}

export function xmlEscape(s: string): string {
  return s.replace(/[&<>"'\n\r\t]/g, (c) => XML_ESCAPES[c]!);
}
const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\n': '&#10;',
  '\r': '&#13;',
  '\t': '&#9;',
};

/** switch_event_xmlize (not in the fixtures; the layout follows FreeSWITCH's source). */
export function serializeXml(event: SimEvent): string {
  let out = '<event>\n  <headers>\n';
  for (const [k, v] of event.headers) out += `    <${k}>${xmlEscape(v)}</${k}>\n`;
  out += '  </headers>\n';
  if (event.body !== undefined) {
    out += `  <Content-Length>${byteLength(event.body)}</Content-Length>\n  <body>${xmlEscape(event.body)}</body>\n`;
  }
  return out + '</event>\n';
}

export interface CoreIdentity {
  coreUuid: string;
  hostname: string;
  switchname: string;
  ipv4: string;
  ipv6: string;
}

/** Where FreeSWITCH says an event came from (Event-Calling-File/Function/Line-Number). */
export type CallingSite = readonly [file: string, fn: string, line: number];

/**
 * Stamps events with the core headers every FreeSWITCH event carries, in FreeSWITCH's order, and
 * one process-wide Event-Sequence.
 */
export class EventFactory {
  private sequence = 0;
  private cachedSecond = -1;
  private cachedLocal = '';
  private cachedGmt = '';

  constructor(
    private core: CoreIdentity,
    private readonly now: () => number,
  ) {}

  setCore(core: CoreIdentity): void {
    this.core = core;
    this.sequence = 0;
  }

  get coreUuid(): string {
    return this.core.coreUuid;
  }

  get hostname(): string {
    return this.core.hostname;
  }

  create(name: string, subclass: string | undefined, site: CallingSite, extra: readonly Header[], body?: string): SimEvent {
    const ms = this.now();
    const second = Math.floor(ms / 1000);
    if (second !== this.cachedSecond) {
      this.cachedSecond = second;
      const d = new Date(second * 1000);
      this.cachedLocal = formatLocal(d);
      this.cachedGmt = d.toUTCString();
    }
    const micros = ms * 1000 + (this.sequence % 1000);
    const headers: Header[] = [];
    if (subclass !== undefined) headers.push(['Event-Subclass', subclass]);
    headers.push(
      ['Event-Name', name],
      ['Core-UUID', this.core.coreUuid],
      ['FreeSWITCH-Hostname', this.core.hostname],
      ['FreeSWITCH-Switchname', this.core.switchname],
      ['FreeSWITCH-IPv4', this.core.ipv4],
      ['FreeSWITCH-IPv6', this.core.ipv6],
      ['Event-Date-Local', this.cachedLocal],
      ['Event-Date-GMT', this.cachedGmt],
      ['Event-Date-Timestamp', String(micros)],
      ['Event-Calling-File', site[0]],
      ['Event-Calling-Function', site[1]],
      ['Event-Calling-Line-Number', String(site[2])],
      ['Event-Sequence', String(++this.sequence)],
    );
    for (const h of extra) headers.push(h);
    return new SimEvent(name, subclass, headers, body);
  }
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Event-Date-Local: `YYYY-MM-DD HH:MM:SS` in the process's time zone. */
export function formatLocal(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
