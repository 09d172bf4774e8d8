/**
 * The commands of FreeSWITCH's outbound Event Socket (mod_event_socket.c): `connect` (answered with
 * the channel's data), `myevents` (this channel's events, plain), `linger` (keep the socket after
 * hangup until the last events are out), and `api` (any api command, answered in turn), `sendmsg` with `call-command: execute` (run a dialplan
 * application; its `Event-UUID` comes back as `Application-UUID` in CHANNEL_EXECUTE_COMPLETE) or
 * `call-command: hangup`. Every value is checked to stay on its line.
 */
import { EslInvalidArgumentError, assertWireSafe } from '../esl/index.js';

function frame(line: string, headers: ReadonlyArray<readonly [string, string]> = []): Buffer {
  let text = `${line}\n`;
  for (const [k, v] of headers) {
    assertWireSafe(v, k);
    text += `${k}: ${v}\n`;
  }
  return Buffer.from(`${text}\n`, 'utf8');
}

export const outbound = {
  connect: (): Buffer => frame('connect'),
  myevents: (): Buffer => frame('myevents'),
  linger: (): Buffer => frame('linger'),
  /** `api <command>`: answered with an api/response in turn with the other replies. */
  api(command: string): Buffer {
    assertWireSafe(command, 'api');
    return frame(`api ${command}`);
  },
  execute(app: string, arg: string, eventUuid: string): Buffer {
    if (!/^[a-z_][a-z0-9_]*$/i.test(app)) throw new EslInvalidArgumentError(`application name ${JSON.stringify(app)} is not a word`);
    const headers: Array<[string, string]> = [
      ['call-command', 'execute'],
      ['execute-app-name', app],
    ];
    if (arg !== '') headers.push(['execute-app-arg', arg]);
    headers.push(['event-lock', 'true'], ['Event-UUID', eventUuid]);
    return frame('sendmsg', headers);
  },
  hangup: (cause: string): Buffer =>
    frame('sendmsg', [
      ['call-command', 'hangup'],
      ['hangup-cause', cause],
    ]),
};
