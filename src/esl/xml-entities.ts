/**
 * XML character data: entity and character references → text. The one XML unescaper: event-xml
 * bodies use it, and so may any reader of FreeSWITCH's XML replies (e.g. `conference xml_list`).
 */
import { EslProtocolError } from './errors.js';

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML 1.0's Char production: the only characters a character reference may name. */
function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/**
 * Decodes the five predefined entities and numeric character references; an unknown entity stays as
 * written. A reference to no XML character (past U+10FFFF, a surrogate, NUL or another control) is
 * an EslProtocolError: no XML writer produces one, so the peer is not speaking XML.
 */
export function xmlUnescape(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (m, e: string) => {
    if (e.charCodeAt(0) !== 0x23 /* # */) return XML_ENTITIES[e] ?? m;
    const cp = e.charCodeAt(1) === 0x78 /* x */ ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    if (!isXmlChar(cp)) {
      throw new EslProtocolError(`XML character reference ${JSON.stringify(m.slice(0, 24))} names no XML character`);
    }
    return String.fromCodePoint(cp);
  });
}
