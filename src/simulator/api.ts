/**
 * The api commands the simulator answers (`api X` and `bgapi X` run this), with FreeSWITCH's reply
 * texts: conference, originate, uuid_kill, uuid_dump, status, fsctl, version, uuid_exists, hostname.
 */
import type { ApiEngine } from './api-engine.js';
import { serializeJson, serializePlain, serializeXml } from './event.js';
import { channelHeaders } from './member-headers.js';
import { SITES } from './sites.js';
import { runConferenceApi } from './conference-api.js';
import { parseOriginate } from './originate.js';

export const FS_VERSION_LINE = 'FreeSWITCH (Version 1.10.12-release git a88d069 2024-08-02 21:02:27Z 64bit) is ready';
export const FS_VERSION =
  'FreeSWITCH Version 1.10.12-release+git~20240802T210227Z~a88d069d6f~64bit (git a88d069 2024-08-02 21:02:27Z 64bit)';

const ORIGINATE_USAGE =
  '-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n';

/** Splits `cmd args` the way switch_api_execute sees it: the first word, then the rest trimmed. */
export function splitCommand(line: string): { cmd: string; args: string } {
  const trimmed = line.replace(/^\s+/, '');
  const sp = trimmed.search(/\s/);
  if (sp < 0) return { cmd: trimmed, args: '' };
  return { cmd: trimmed.slice(0, sp), args: trimmed.slice(sp).trim() };
}

export function runApi(engine: ApiEngine, line: string): string {
  const { cmd, args } = splitCommand(line);
  let out: string;
  switch (cmd.toLowerCase()) {
    case 'conference':
      out = runConferenceApi(engine, args);
      break;
    case 'originate':
      out = originate(engine, args);
      break;
    case 'xml_locate':
      out = xmlLocate(engine, args);
      break;
    case 'uuid_kill':
      out = uuidKill(engine, args);
      break;
    case 'uuid_dump':
      out = uuidDump(engine, args);
      break;
    case 'uuid_exists':
      out = engine.memberByChannel(args.split(/\s+/)[0] ?? '') ? 'true' : 'false';
      break;
    case 'status':
      out = statusText(engine);
      break;
    case 'version':
      out = FS_VERSION + '\n';
      break;
    case 'hostname':
      out = engine.events.hostname;
      break;
    case 'fsctl':
      out = fsctl(engine, args);
      break;
    default:
      out = `-ERR ${cmd} Command not found!\n`;
  }
  // mod_event_socket answers an empty result with this text.
  return out === '' ? '-ERR no reply\n' : out;
}

/**
 * mod_commands' originate: `+OK <uuid>` once the endpoint answered and the application started on
 * it, `-ERR <cause>` when it did not (switch_ivr_originate's hangup cause). Under `api` the answer
 * comes at once; under `bgapi` the BACKGROUND_JOB waits as the call would (backgroundDelayMs).
 */
function originate(engine: ApiEngine, args: string): string {
  const parsed = parseOriginate(args);
  if (parsed.kind === 'usage') return ORIGINATE_USAGE;
  if (parsed.kind === 'error') return `-ERR ${parsed.cause}\n`;
  const answer = engine.dialOutcome(parsed.target);
  if (answer.kind === 'busy') return '-ERR USER_BUSY\n';
  if (answer.kind === 'no_answer') return '-ERR NO_ANSWER\n';
  if (answer.kind === 'fail') return `-ERR ${answer.cause}\n`;
  const viaApp = parsed.profile !== undefined;
  const { uuid, member } = engine.join({
    conference: parsed.conference,
    moderator: parsed.moderator,
    callerIdNumber: parsed.callerIdNumber,
    callerIdName: parsed.callerIdName,
    vars: parsed.vars,
    destination: parsed.destination,
    context: parsed.context,
    ...(viaApp
      ? {
          profile: parsed.profile,
          mute: parsed.flags.includes('mute'),
          deaf: parsed.flags.includes('deaf'),
          flags: parsed.flags,
          channelName: parsed.target,
          ...(parsed.uuid !== undefined ? { uuid: parsed.uuid } : {}),
        }
      : {}),
  });
  // The application runs on the originated leg itself: its uuid (origination_uuid) is the answer.
  if (viaApp) return `+OK ${member?.channel.uuid ?? parsed.uuid ?? uuid}\n`;
  return `+OK ${uuid}\n`;
}

/** How long a `bgapi` of `line` takes before its BACKGROUND_JOB: an originate waits on its endpoint. */
export function backgroundDelayMs(engine: ApiEngine, line: string): number {
  const { cmd, args } = splitCommand(line);
  if (cmd.toLowerCase() !== 'originate') return 0;
  const parsed = parseOriginate(args);
  if (parsed.kind !== 'ok') return 0;
  const answer = engine.dialOutcome(parsed.target);
  if (answer.kind === 'no_answer') return parsed.timeoutS * 1000;
  return answer.afterMs ?? 0;
}

/**
 * mod_commands' xml_locate for conference.conf (`xml_locate configuration configuration name
 * conference.conf`): the configuration section with the profiles the simulator has.
 */
function xmlLocate(engine: ApiEngine, args: string): string {
  const words = args.split(/\s+/);
  if (words[0] !== 'configuration' || words[1] !== 'configuration' || words[2] !== 'name' || words[3] !== 'conference.conf') {
    return "can't find anything\n";
  }
  const profiles = engine
    .profileList()
    .map((p) => `    <profile name="${p.name}">\n      <param name="rate" value="${p.rate}"/>\n      <param name="energy-level" value="${p.energyLevel}"/>\n    </profile>\n`)
    .join('');
  return `<configuration name="conference.conf" description="Audio Conference">\n  <profiles>\n${profiles}  </profiles>\n</configuration>\n`;
}

function uuidKill(engine: ApiEngine, args: string): string {
  const [uuid, cause] = args.split(/\s+/);
  if (!uuid) return '-USAGE: <uuid> [cause]\n';
  const m = engine.memberByChannel(uuid);
  if (!m) return '-ERR No such channel!\n';
  engine.removeMember(m, { cause: cause && /^[A-Z_]+$/.test(cause) ? cause : 'NORMAL_CLEARING' });
  return '+OK\n';
}

/**
 * mod_commands' uuid_dump: a CHANNEL_DATA event with the channel's data and variables
 * (switch_channel_event_set_data), printed as `json` (switch_event_serialize_json), `xml`, `plain`
 * (lines, not url-encoded) or, by default (`txt` or any other word), url-encoded lines. Not fired.
 */
function uuidDump(engine: ApiEngine, args: string): string {
  const [uuid, format = 'txt'] = args.split(/\s+/).filter((a) => a !== '');
  if (!uuid) return '-USAGE: <uuid> [format]\n';
  const m = engine.memberByChannel(uuid);
  if (!m) return '-ERR No such channel!\n';
  const event = engine.events.create('CHANNEL_DATA', undefined, SITES.uuidDump, channelHeaders(m, true));
  switch (format.toLowerCase()) {
    case 'json':
      return serializeJson(event);
    case 'xml':
      return serializeXml(event);
    case 'plain': {
      let out = '';
      for (const [k, v] of event.headers) out += `${k}: ${v}\n`;
      return out + '\n';
    }
    default:
      return serializePlain(event);
  }
}

function fsctl(engine: ApiEngine, args: string): string {
  const [sub] = args.split(/\s+/);
  if ((sub ?? '').toLowerCase() === 'shutdown') {
    engine.requestShutdown();
    return '+OK\n';
  }
  return '-ERR Unsupported by the simulator\n';
}

/** `status`: the text FreeSWITCH 1.10.12 prints, with this process's uptime and session counters. */
export function statusText(engine: ApiEngine): string {
  let rest = engine.uptimeMs * 1000;
  const micro = Math.floor(rest % 1000);
  rest = Math.floor(rest / 1000);
  const ms = rest % 1000;
  rest = Math.floor(rest / 1000);
  const sec = rest % 60;
  rest = Math.floor(rest / 60);
  const min = rest % 60;
  rest = Math.floor(rest / 60);
  const hours = rest % 24;
  rest = Math.floor(rest / 24);
  const days = rest % 365;
  const years = Math.floor(rest / 365);
  const s = engine.sessionCounters;
  return (
    `UP ${years} years, ${days} days, ${hours} hours, ${min} minutes, ${sec} seconds, ${ms} milliseconds, ${micro} microseconds\n` +
    `${FS_VERSION_LINE}\n` +
    `${s.sinceStartup} session(s) since startup\n` +
    `${s.current} session(s) - peak ${s.peak}, last 5min ${s.peak} \n` +
    `${s.current} session(s) per Sec out of max 100, peak ${s.peak}, last 5min ${s.peak} \n` +
    '1000 session(s) max\n' +
    'min idle cpu 0.00/99.67\n' +
    'Current Stack Size/Max 240K/8192K\n'
  );
}
