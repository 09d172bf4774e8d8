/**
 * `conference list`, `json_list` and `xml_list` texts, byte for byte as FreeSWITCH 1.10 prints them
 * (member order newest first; json_list is cJSON's tab-indented print; xml_list is switch_xml_toxml).
 */
import { cjsonPrint, type CJsonValue } from './cjson.js';
import type { Conference, Member } from './model.js';

/** The conference flags FreeSWITCH reports, in its order (json_list keys, list `flags:`, xml attributes). */
function conferenceFlags(conf: Conference): Array<[string, boolean]> {
  return [
    ['locked', conf.locked],
    ['destruct', false],
    ['wait_mod', false],
    ['audio_always', false],
    ['running', true],
    ['answered', true],
    ['enforce_min', true],
    ['bridge_to', false],
    ['dynamic', true],
    ['exit_sound', conf.profile.exitSound !== undefined],
    ['enter_sound', conf.profile.enterSound !== undefined],
    ['recording', conf.recordings.length > 0],
    ['video_bridge', false],
    ['video_floor_only', false],
    ['video_rfc4579', false],
  ];
}

function secondsSince(now: number, then: number): number {
  return Math.max(0, Math.floor((now - then) / 1000));
}

function memberFlagText(m: Member): string {
  const flags: string[] = [];
  if (m.canHear) flags.push('hear');
  if (m.canSpeak) flags.push('speak');
  if (m.talking) flags.push('talking');
  if (m.video) flags.push('video');
  if (m.conference.floor === m) flags.push('floor');
  if (m.moderator) flags.push('moderator');
  return flags.join('|');
}

/** One member line: id;channel;uuid;name;number;flags;volume_in;volume_out;energy */
export function memberLines(conf: Conference, delim = ';'): string {
  let out = '';
  for (const m of conf.members) {
    const c = m.channel;
    out +=
      [m.id, c.name, c.uuid, c.callerIdName ?? '', c.callerIdNumber, memberFlagText(m), m.volumeIn, m.volumeOut, m.energy].join(delim) +
      '\n';
  }
  return out;
}

/**
 * `conference list` without a name: a header line per conference (` locked` after the rate when
 * locked, as conference_api_sub_list prints it), then its members unless `summary`.
 */
export function listAll(conferences: readonly Conference[], opts: { summary?: boolean; delim?: string } = {}): string {
  if (conferences.length === 0) return '+OK No active conferences.\n';
  let out = '';
  for (const conf of conferences) {
    const flags = conferenceFlags(conf)
      .filter(([, on]) => on)
      .map(([name]) => name);
    flags.push('json_status');
    const n = conf.members.length;
    out += `+OK Conference ${conf.name} (${n} member${n === 1 ? '' : 's'} rate: ${conf.profile.rate}${conf.locked ? ' locked' : ''} flags: ${flags.join('|')})\n`;
    if (!opts.summary) out += memberLines(conf, opts.delim);
  }
  return out;
}

function memberJson(m: Member, now: number): CJsonValue {
  const c = m.channel;
  return {
    type: 'caller',
    id: m.id,
    flags: {
      can_hear: m.canHear,
      can_see: m.canSee,
      can_speak: m.canSpeak,
      hold: m.hold,
      mute_detect: m.muteDetect,
      talking: m.talking,
      has_video: m.video,
      video_bridge: false,
      has_floor: m.conference.floor === m,
      is_moderator: m.moderator,
      end_conference: false,
      mandatory_member_end_conference: false,
      pass_digits: false,
    },
    uuid: c.uuid,
    caller_id_name: c.callerIdName ?? '',
    caller_id_number: c.callerIdNumber,
    join_time: secondsSince(now, m.joinedAt),
    last_talking: m.lastTalkingAt === undefined || m.talking ? 0 : secondsSince(now, m.lastTalkingAt),
    energy: m.energy,
    volume_in: m.volumeIn,
    volume_out: m.volumeOut,
    'output-volume': m.volumeOut,
    'input-volume': m.volumeIn,
  };
}

export function jsonList(conferences: readonly Conference[], now: number): string {
  const list: CJsonValue[] = conferences.map((conf) => {
    const obj: { [k: string]: CJsonValue } = {
      conference_name: conf.name,
      member_count: conf.members.length,
      ghost_count: 0,
      rate: conf.profile.rate,
      run_time: secondsSince(now, conf.createdAt),
      conference_uuid: conf.uuid,
      canvas_count: 0,
      max_bw_in: 0,
      force_bw_in: 0,
      video_floor_packets: 0,
    };
    for (const [k, v] of conferenceFlags(conf)) obj[k] = v;
    obj.variables = {};
    obj.members = conf.members.map((m) => memberJson(m, now));
    return obj;
  });
  return cjsonPrint(list);
}

function xmlText(s: string): string {
  return s.replace(/[&<>"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'));
}

function memberXml(m: Member, now: number): string {
  const c = m.channel;
  const b = (x: boolean): string => (x ? 'true' : 'false');
  const flag = (name: string, v: boolean): string => `          <${name}>${b(v)}</${name}>\n`;
  const field = (name: string, v: string | number): string => `        <${name}>${typeof v === 'number' ? v : xmlText(v)}</${name}>\n`;
  return (
    '      <member type="caller">\n' +
    field('id', m.id) +
    '        <flags>\n' +
    flag('can_hear', m.canHear) +
    flag('can_see', m.canSee) +
    flag('can_speak', m.canSpeak) +
    flag('mute_detect', m.muteDetect) +
    flag('talking', m.talking) +
    flag('hold', m.hold) +
    flag('has_video', m.video) +
    flag('video_bridge', false) +
    flag('has_floor', m.conference.floor === m) +
    flag('is_moderator', m.moderator) +
    flag('end_conference', false) +
    flag('mandatory_member_end_conference', false) +
    flag('is_ghost', false) +
    '        </flags>\n' +
    field('uuid', c.uuid) +
    field('caller_id_name', c.callerIdName ?? '') +
    field('caller_id_number', c.callerIdNumber) +
    field('join_time', secondsSince(now, m.joinedAt)) +
    field('last_talking', m.lastTalkingAt === undefined ? 'N/A' : m.talking ? 0 : secondsSince(now, m.lastTalkingAt)) +
    field('energy', m.energy) +
    field('volume_in', m.volumeIn) +
    field('volume_out', m.volumeOut) +
    field('output-volume', m.volumeOut) +
    '      </member>\n'
  );
}

export function xmlList(conferences: readonly Conference[], now: number): string {
  let out = '<?xml version="1.0"?>\n<conferences>\n';
  for (const conf of conferences) {
    let attrs = `name="${xmlText(conf.name)}" member-count="${conf.members.length}" ghost-count="0" rate="${conf.profile.rate}" uuid="${conf.uuid}"`;
    for (const [k, on] of conferenceFlags(conf)) if (on) attrs += ` ${k}="true"`;
    attrs += ` run_time="${secondsSince(now, conf.createdAt)}"`;
    out += `  <conference ${attrs}>\n    <variables></variables>\n`;
    if (conf.members.length === 0) out += '    <members></members>\n';
    else out += '    <members>\n' + conf.members.map((m) => memberXml(m, now)).join('') + '    </members>\n';
    out += '  </conference>\n';
  }
  return out + '</conferences>\n';
}
