/**
 * Reads mod_commands' `uuid_dump <uuid> [format]` reply: the channel's CHANNEL_DATA event
 * (switch_channel_event_set_data), serialized by switch_event_serialize_json for `json`, as
 * `Name: url-encoded value` lines otherwise. The resync uses it to learn the channel variables of
 * participants that joined while we were away (json_list carries none). Pure.
 *
 * Replies that are not a dump: `-ERR No such channel!` (gone meanwhile), `-USAGE: <uuid> [format]`,
 * `-ERR …` from older builds: UnrecognizedReplyError.
 */
import { InvalidArgumentError, UnrecognizedReplyError } from './errors.js';
import { isKeptChannelVar, keptChannelVars } from './channel-vars.js';

export interface ChannelDump {
  /** The kept `variable_<name>` headers (channel-vars.ts) as { name: value }. */
  channelVars: Record<string, string>;
  channelName?: string;
  presenceId?: string;
}

/**
 * Channel uuids are switch_uuid strings, but FreeSWITCH accepts caller-chosen ones (origination_uuid):
 * allow the usual id characters, refuse anything that would split or end the api line.
 */
const CALL_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.@:+=-]{0,255}$/;

/** The api line asking for a channel's data as JSON; refuses call ids that are not one token. */
export function uuidDumpCommand(callId: string): string {
  if (!CALL_ID_RE.test(callId)) throw new InvalidArgumentError(`not a channel uuid: ${JSON.stringify(callId.slice(0, 80))}`, { field: 'callId' });
  return `uuid_dump ${callId} json`;
}

/** Headers of a dump that confmgr reads besides the kept channel variables. */
const DUMP_HEADERS: ReadonlySet<string> = new Set(['Event-Name', 'Unique-ID', 'Channel-Name', 'Caller-Channel-Name', 'Channel-Presence-ID']);

/** Only what confmgr reads is copied (and url-decoded): a real dump has 200+ headers, a resync reads thousands. */
function wanted(name: string): boolean {
  return DUMP_HEADERS.has(name) || (name.startsWith('variable_') && isKeptChannelVar(name.slice(9)));
}

export function parseUuidDump(reply: string, command = 'uuid_dump'): ChannelDump {
  const text = reply.trim();
  const headers: Record<string, string> = {};
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new UnrecognizedReplyError(command, text);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UnrecognizedReplyError(command, text);
    const fields = parsed as Record<string, unknown>;
    // Array headers (switch_event_add_header with an index) are JSON arrays: not channel variables we use.
    for (const k in fields) {
      const v = fields[k];
      if (typeof v === 'string' && wanted(k)) headers[k] = v;
    }
  } else if (/^Event-Name: /m.test(text) && !text.startsWith('-')) {
    for (const line of text.split('\n')) {
      const i = line.indexOf(': ');
      if (i <= 0) continue;
      const name = line.slice(0, i);
      if (!wanted(name)) continue;
      const raw = line.slice(i + 2).replace(/\r$/, '');
      let value = raw;
      try {
        value = decodeURIComponent(raw);
      } catch {
        // not url-encoded after all (plain format): keep it as is
      }
      headers[name] = value;
    }
  } else {
    throw new UnrecognizedReplyError(command, text);
  }
  if (headers['Event-Name'] === undefined && headers['Unique-ID'] === undefined) throw new UnrecognizedReplyError(command, text);
  const channelVars = keptChannelVars(headers);
  const out: ChannelDump = { channelVars };
  const channelName = headers['Channel-Name'] ?? headers['Caller-Channel-Name'];
  if (channelName !== undefined) out.channelName = channelName;
  const presenceId = headers['Channel-Presence-ID'] ?? channelVars['presence_id'];
  if (presenceId !== undefined) out.presenceId = presenceId;
  return out;
}
