/**
 * Encoders, pure: commands from client to FreeSWITCH (refusing any argument that would change the
 * command's shape on the wire), and frames from FreeSWITCH to client (for the simulator and tests).
 */
import { EslInvalidArgumentError } from './errors.js';

// ---------------------------------------------------------------------------------------------
// Commands (client → FreeSWITCH)

// CR, LF and NUL end or split a command on the wire; other C0 controls and DEL have no business there.
const FORBIDDEN = /[\x00-\x1f\x7f]/;

/** Throws EslInvalidArgumentError when `value` could not travel as one line of an ESL command. */
export function assertWireSafe(value: string, what: string): void {
  if (typeof value !== 'string') throw new EslInvalidArgumentError(`${what} must be a string`);
  const m = FORBIDDEN.exec(value);
  if (m) {
    throw new EslInvalidArgumentError(`${what} contains a control character (0x${m[0].charCodeAt(0).toString(16).padStart(2, '0')})`, {
      what,
      offset: m.index,
    });
  }
}

function assertNonEmpty(value: string, what: string): void {
  assertWireSafe(value, what);
  if (value.trim() === '') throw new EslInvalidArgumentError(`${what} must not be empty`);
}

function frameOf(line: string, headers?: Readonly<Record<string, string>>): Buffer {
  let text = line + '\n';
  if (headers) {
    for (const [name, value] of Object.entries(headers)) {
      assertNonEmpty(name, 'header name');
      if (name.includes(':')) throw new EslInvalidArgumentError(`header name ${JSON.stringify(name)} contains ':'`);
      assertWireSafe(value, `header ${name}`);
      text += `${name}: ${value}\n`;
    }
  }
  return Buffer.from(text + '\n', 'utf8');
}

export const encode = {
  auth(password: string): Buffer {
    assertNonEmpty(password, 'password');
    return frameOf(`auth ${password}`);
  },
  api(command: string): Buffer {
    assertNonEmpty(command, 'api command');
    return frameOf(`api ${command}`);
  },
  bgapi(command: string, jobUuid: string): Buffer {
    assertNonEmpty(command, 'bgapi command');
    assertNonEmpty(jobUuid, 'Job-UUID');
    return frameOf(`bgapi ${command}`, { 'Job-UUID': jobUuid });
  },
  /** `event json CUSTOM conference::maintenance` — CUSTOM subclasses must come after the event names. */
  event(format: 'plain' | 'json' | 'xml', events: readonly string[]): Buffer {
    if (events.length === 0) throw new EslInvalidArgumentError('event needs at least one event name');
    for (const e of events) {
      assertNonEmpty(e, 'event name');
      if (/\s/.test(e)) throw new EslInvalidArgumentError(`event name ${JSON.stringify(e)} contains whitespace`);
    }
    return frameOf(`event ${format} ${events.join(' ')}`);
  },
  filter(header: string, value: string): Buffer {
    assertNonEmpty(header, 'filter header');
    if (/\s/.test(header)) throw new EslInvalidArgumentError('filter header contains whitespace');
    assertNonEmpty(value, 'filter value');
    return frameOf(`filter ${header} ${value}`);
  },
  filterDelete(header: string, value?: string): Buffer {
    assertNonEmpty(header, 'filter header');
    if (value !== undefined) assertNonEmpty(value, 'filter value');
    return frameOf(value === undefined ? `filter delete ${header}` : `filter delete ${header} ${value}`);
  },
  nixevent(events: readonly string[]): Buffer {
    for (const e of events) assertNonEmpty(e, 'event name');
    return frameOf(`nixevent ${events.join(' ')}`);
  },
  noevents(): Buffer {
    return frameOf('noevents');
  },
  exit(): Buffer {
    return frameOf('exit');
  },
};

// ---------------------------------------------------------------------------------------------
// Frames (FreeSWITCH → client), for the simulator and for tests.

/**
 * Serializes a frame with its headers in exactly the given order. The caller decides where
 * Content-Length goes (FreeSWITCH puts it first on events and second on replies); use byteLength().
 */
export function encodeFrame(headers: ReadonlyArray<readonly [string, string]>, body = ''): Buffer {
  let text = '';
  for (const [name, value] of headers) text += `${name}: ${value}\n`;
  return Buffer.from(text + '\n' + body, 'utf8');
}

export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
