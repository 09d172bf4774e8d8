/**
 * Event decoding: the body of a text/event-plain, text/event-json or text/event-xml frame → EslEvent.
 * Pure; a body that is not an event is an EslProtocolError.
 */
import { EslProtocolError } from './errors.js';
import { parseHeaderBlock, type EslFrame } from './frame-parser.js';
import { xmlUnescape } from './xml-entities.js';
import { HeaderIndex } from './header-index.js';
import { LazyEslEvent } from './lazy-event.js';
import type { EslEvent } from './event.js';

export type { EslEvent } from './event.js';

export function isEventFrame(frame: EslFrame): boolean {
  return frame.type === 'text/event-plain' || frame.type === 'text/event-json' || frame.type === 'text/event-xml';
}

/**
 * Decodes the body of an event frame into an EslEvent. Throws EslProtocolError when it is not one.
 * Plain events are decoded selectively (header-index.ts): a header becomes a string when it is read; a
 * body the selective scan does not accept is decoded whole, which also gives the error.
 */
export function decodeEvent(frame: EslFrame): EslEvent {
  switch (frame.type) {
    case 'text/event-plain':
      return decodePlainEventLazily(frame.body);
    case 'text/event-json':
      // Through the header index: only the headers read become strings (a body the scan does not
      // accept is decoded whole by JSON.parse, which also gives the error).
      return decodeJsonEventSelectively(frame.body);
    case 'text/event-xml':
      return decodeXmlEvent(frame.body);
    default:
      throw new EslProtocolError(`frame of type ${frame.type} is not an event`);
  }
}

function makeEvent(headers: Record<string, string>, body: string): EslEvent {
  const name = headers['Event-Name'];
  if (name === undefined) throw new EslProtocolError('event has no Event-Name header');
  return { name, subclass: headers['Event-Subclass'], headers, body };
}

/** Every header decoded up front: the reference the selective decoders agree with. */
export function decodeEventWhole(frame: EslFrame): EslEvent {
  switch (frame.type) {
    case 'text/event-plain':
      return decodePlainEvent(frame.body);
    case 'text/event-json':
      return decodeJsonEvent(frame.body);
    case 'text/event-xml':
      return decodeXmlEvent(frame.body);
    default:
      throw new EslProtocolError(`frame of type ${frame.type} is not an event`);
  }
}

function decodePlainEventLazily(text: string): EslEvent {
  const blank = text.indexOf('\n\n');
  const index = HeaderIndex.plain(text, blank < 0 ? text.length : blank);
  if (index === undefined) return decodePlainEvent(text);
  const name = index.get('Event-Name');
  if (name === undefined) throw new EslProtocolError('event has no Event-Name header');
  let body = '';
  const lengthText = blank >= 0 ? index.get('Content-Length') : undefined;
  if (lengthText !== undefined) {
    const length = Number(lengthText);
    const rest = text.slice(blank + 2);
    body = Number.isFinite(length) && length >= 0 ? Buffer.from(rest, 'utf8').toString('utf8', 0, length) : rest;
  }
  return new LazyEslEvent(name, index.get('Event-Subclass'), body, index, plainHeadersWhole);
}

/**
 * A json event read through the header index (FreeSWITCH's compact json; any other body decoded whole by
 * JSON.parse, which also gives the error): what decodeEvent would call to ingest json selectively.
 */
export function decodeJsonEventSelectively(text: string): EslEvent {
  const index = HeaderIndex.json(text);
  if (index === undefined) return decodeJsonEvent(text);
  const name = index.get('Event-Name');
  if (name === undefined) throw new EslProtocolError('event has no Event-Name header');
  return new LazyEslEvent(name, index.get('Event-Subclass'), index.body, index, jsonHeadersWhole);
}

const plainHeadersWhole = (text: string): Record<string, string> => decodePlainEvent(text).headers as Record<string, string>;
const jsonHeadersWhole = (text: string): Record<string, string> => decodeJsonEvent(text).headers as Record<string, string>;

export function decodePlainEvent(text: string): EslEvent {
  const blank = text.indexOf('\n\n');
  const headerText = blank < 0 ? text : text.slice(0, blank);
  const headers = parseHeaderBlock(headerText, 'event', true);
  let body = '';
  if (blank >= 0 && headers['Content-Length'] !== undefined) {
    // A nested body: Content-Length counts bytes, so cut by bytes.
    const length = Number(headers['Content-Length']);
    const rest = text.slice(blank + 2);
    body = Number.isFinite(length) && length >= 0 ? Buffer.from(rest, 'utf8').toString('utf8', 0, length) : rest;
  }
  return makeEvent(headers, body);
}

export function decodeJsonEvent(text: string): EslEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new EslProtocolError(`event-json body is not JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new EslProtocolError('event-json body is not a JSON object');
  }
  // The parsed object becomes the headers in place (this is the hot path: no second object, no entry
  // arrays). FreeSWITCH sends strings; a header given twice arrives as an array; `_body` is the body.
  const headers = parsed as Record<string, unknown>;
  let body = '';
  for (const key in headers) {
    const value = headers[key];
    if (typeof value === 'string') continue;
    if (key === '_body') continue;
    headers[key] = Array.isArray(value) ? value.map(String).join('|') : String(value);
  }
  if (Object.prototype.hasOwnProperty.call(headers, '_body')) {
    const value = headers['_body'];
    body = typeof value === 'string' ? value : JSON.stringify(value);
    // `_body` is the last key FreeSWITCH writes; deleting the last-added property is cheap in V8.
    delete headers['_body'];
  }
  return makeEvent(headers as Record<string, string>, body);
}

export function decodeXmlEvent(text: string): EslEvent {
  const headersMatch = /<headers>([\s\S]*?)<\/headers>/.exec(text);
  if (!headersMatch) throw new EslProtocolError('event-xml body has no <headers>');
  const headers: Record<string, string> = {};
  const re = /<([A-Za-z0-9_:.-]+)>([\s\S]*?)<\/\1>/g;
  for (let m = re.exec(headersMatch[1]!); m; m = re.exec(headersMatch[1]!)) {
    headers[m[1]!] = xmlUnescape(m[2]!);
  }
  const bodyMatch = /<body>([\s\S]*?)<\/body>/.exec(text);
  return makeEvent(headers, bodyMatch ? xmlUnescape(bodyMatch[1]!) : '');
}
