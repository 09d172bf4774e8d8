/**
 * A FreeSWITCH event as the simulator fires it: headers in FreeSWITCH's order (duplicates allowed,
 * as FreeSWITCH allows them), an optional body, and its three wire encodings, each built once and
 * shared by every subscriber that asked for that format.
 */
import { byteLength, encodeFrame, urlEncode } from '../esl/index.js';

export type Header = readonly [string, string];
export type EventFormat = 'plain' | 'json' | 'xml';

/**
 * A run of headers that recurs unchanged in many events (a member's channel data, the core
 * identity): serialized once per format and reused, which keeps floods cheap.
 */
export class HeaderBlock {
  private plainText?: string;
  private jsonText?: string;

  constructor(readonly headers: readonly Header[]) {}

  get plain(): string {
    if (this.plainText === undefined) {
      let out = '';
      for (const [k, v] of this.headers) out += `${k}: ${urlEncode(v)}\n`;
      this.plainText = out;
    }
    return this.plainText;
  }

  /** `"k":"v"` pairs joined by commas (no leading or trailing comma). */
  get json(): string {
    if (this.jsonText === undefined) {
      let out = '';
      for (const [k, v] of this.headers) out += (out === '' ? '' : ',') + jsonString(k) + ':' + jsonString(v);
      this.jsonText = out;
    }
    return this.jsonText;
  }
}

export type HeaderEntry = Header | HeaderBlock;

export class SimEvent {
  private plain?: Buffer;
  private json?: Buffer;
  private xml?: Buffer;
  private flat?: readonly Header[];

  constructor(
    readonly name: string,
    readonly subclass: string | undefined,
    readonly entries: readonly HeaderEntry[],
    readonly body?: string,
  ) {}

  /** Every header in order (duplicates kept). */
  get headers(): readonly Header[] {
    if (this.flat === undefined) {
      const out: Header[] = [];
      for (const e of this.entries) {
        if (e instanceof HeaderBlock) for (const h of e.headers) out.push(h);
        else out.push(e);
      }
      this.flat = out;
    }
    return this.flat;
  }

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
  for (const e of event.entries) {
    if (e instanceof HeaderBlock) out += e.plain;
    else out += `${e[0]}: ${urlEncode(e[1])}\n`;
  }
  if (event.body !== undefined) out += `Content-Length: ${byteLength(event.body)}\n\n${event.body}`;
  else out += '\n';
  return out;
}

const NEEDS_JSON_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A JSON string literal; most header values need no escaping, so skip JSON.stringify for them. */
function jsonString(s: string): string {
  return NEEDS_JSON_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"';
}

/** Compact JSON, raw UTF-8, duplicate keys kept; a body becomes Content-Length + _body. */
export function serializeJson(event: SimEvent): string {
  let out = '{';
  let first = true;
  for (const e of event.entries) {
    const part = e instanceof HeaderBlock ? e.json : jsonString(e[0]) + ':' + jsonString(e[1]);
    if (part === '') continue;
    out += (first ? '' : ',') + part;
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
  private dateBlock: HeaderBlock | undefined;
  private readonly identityBlocks = new Map<string, HeaderBlock>();
  private readonly siteBlocks = new Map<CallingSite, HeaderBlock>();

  constructor(
    private core: CoreIdentity,
    private readonly now: () => number,
  ) {}

  setCore(core: CoreIdentity): void {
    this.core = core;
    this.sequence = 0;
    this.identityBlocks.clear();
  }

  get coreUuid(): string {
    return this.core.coreUuid;
  }

  get hostname(): string {
    return this.core.hostname;
  }

  create(name: string, subclass: string | undefined, site: CallingSite, extra: readonly HeaderEntry[], body?: string): SimEvent {
    const ms = this.now();
    const second = Math.floor(ms / 1000);
    if (second !== this.cachedSecond) {
      this.cachedSecond = second;
      const d = new Date(second * 1000);
      this.dateBlock = new HeaderBlock([
        ['Event-Date-Local', formatLocal(d)],
        ['Event-Date-GMT', d.toUTCString()],
      ]);
    }
    const micros = ms * 1000 + (this.sequence % 1000);
    const entries: HeaderEntry[] = [
      this.identityBlock(name, subclass),
      this.dateBlock!,
      ['Event-Date-Timestamp', String(micros)],
      this.siteBlock(site),
      ['Event-Sequence', String(++this.sequence)],
    ];
    for (const h of extra) entries.push(h);
    return new SimEvent(name, subclass, entries, body);
  }

  private identityBlock(name: string, subclass: string | undefined): HeaderBlock {
    const key = `${name}\u0000${subclass ?? ''}`;
    let block = this.identityBlocks.get(key);
    if (!block) {
      const headers: Header[] = [];
      if (subclass !== undefined) headers.push(['Event-Subclass', subclass]);
      headers.push(
        ['Event-Name', name],
        ['Core-UUID', this.core.coreUuid],
        ['FreeSWITCH-Hostname', this.core.hostname],
        ['FreeSWITCH-Switchname', this.core.switchname],
        ['FreeSWITCH-IPv4', this.core.ipv4],
        ['FreeSWITCH-IPv6', this.core.ipv6],
      );
      block = new HeaderBlock(headers);
      this.identityBlocks.set(key, block);
    }
    return block;
  }

  private siteBlock(site: CallingSite): HeaderBlock {
    let block = this.siteBlocks.get(site);
    if (!block) {
      block = new HeaderBlock([
        ['Event-Calling-File', site[0]],
        ['Event-Calling-Function', site[1]],
        ['Event-Calling-Line-Number', String(site[2])],
      ]);
      this.siteBlocks.set(site, block);
    }
    return block;
  }
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Event-Date-Local: `YYYY-MM-DD HH:MM:SS` in the process's time zone. */
export function formatLocal(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
