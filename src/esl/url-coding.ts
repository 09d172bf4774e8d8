/**
 * URL coding of plain event header values, as FreeSWITCH does it: tolerant decoding (a malformed
 * `%` sequence stays literal) and switch_url_encode.
 */

/**
 * FreeSWITCH's URL-decoding of plain event header values, tolerant: a malformed `%` sequence is
 * kept literally instead of throwing (one bad byte must not take the process down).
 */
export function urlDecode(value: string): string {
  let i = value.indexOf('%');
  if (i < 0) return value;
  // Fast path: escapes of ASCII bytes only (the usual `%20`, `%3A`, `%40`), decoded here. An escape of
  // a UTF-8 byte or a malformed one → the exact path below (same result as decodeURIComponent).
  let out = '';
  let from = 0;
  while (i >= 0) {
    const hi = hexValue(value.charCodeAt(i + 1));
    const lo = hexValue(value.charCodeAt(i + 2));
    if (hi < 0 || hi > 7 || lo < 0) return urlDecodeExact(value);
    out += value.slice(from, i) + String.fromCharCode((hi << 4) | lo);
    from = i + 3;
    i = value.indexOf('%', from);
  }
  return out + value.slice(from);
}

function urlDecodeExact(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return lenientDecode(value);
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function lenientDecode(value: string): string {
  const src = Buffer.from(value, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x25 && i + 2 < src.length) {
      const hi = hexValue(src[i + 1]!);
      const lo = hexValue(src[i + 2]!);
      if (hi >= 0 && lo >= 0) {
        out[n++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    out[n++] = c;
  }
  return out.toString('utf8', 0, n);
}

// switch_url_encode: printable ASCII passes through except SWITCH_URL_UNSAFE (space " # % & + : ; < = > ? @ [ \\ ] ^ ` { | });
// every other byte (controls, DEL, each UTF-8 byte) becomes %XX, upper-case hex. '%' itself is always encoded.
const URL_SAFE = /^[!$'()*,\-./0-9A-Z_a-z~]*$/;
const URL_SAFE_BYTE: boolean[] = (() => {
  const table = new Array<boolean>(256).fill(false);
  for (let b = 0x20; b <= 0x7e; b++) table[b] = !' "#%&+:;<=>?@[\\]^`{|}'.includes(String.fromCharCode(b));
  return table;
})();
const HEX = '0123456789ABCDEF';

/**
 * URL-encodes a value the way FreeSWITCH's plain events do (switch_url_encode, as the fixtures show:
 * `tone_stream%3A//%25(200,0,500)`, `Sun,%2022%20Nov`).
 */
export function urlEncode(value: string): string {
  if (URL_SAFE.test(value)) return value;
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out += URL_SAFE_BYTE[byte] ? String.fromCharCode(byte) : '%' + HEX[byte >> 4]! + HEX[byte & 0x0f]!;
  }
  return out;
}
