/** The non-event frames mod_event_socket writes, byte for byte as the fixtures show them. */
import { byteLength, encodeFrame } from '../esl/index.js';

export const AUTH_REQUEST = encodeFrame([['Content-Type', 'auth/request']]);

export function commandReply(text: string, extra: ReadonlyArray<readonly [string, string]> = []): Buffer {
  return encodeFrame([['Content-Type', 'command/reply'], ['Reply-Text', text], ...extra]);
}

/** Replies put Content-Type first, then Content-Length. */
export function apiResponse(body: string): Buffer {
  return encodeFrame(
    [
      ['Content-Type', 'api/response'],
      ['Content-Length', String(byteLength(body))],
    ],
    body,
  );
}

export const GOODBYE_TEXT = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n';
export const SHUTDOWN_TEXT = 'The system is being shut down.\n';

export function disconnectNotice(text: string): Buffer {
  return encodeFrame(
    [
      ['Content-Type', 'text/disconnect-notice'],
      ['Content-Length', String(byteLength(text))],
    ],
    text,
  );
}
