/**
 * `api conference …`: argument splitting, member targets (id, all, last, non_moderator) and every
 * reply text as conference_api.c writes it in 1.10 (its spellings and bare usage texts included).
 */
import type { ApiEngine } from './api-engine.js';
import { jsonList, listAll, memberLines, xmlList } from './listings.js';
import type { Conference, Member } from './model.js';

type MemberHandler = (engine: ApiEngine, m: Member, data: string | undefined) => string;

interface MemberCommand {
  syntax: string;
  run: MemberHandler;
}

const TARGET_ALL = '<[member_id|all]|last|non_moderator>';
const TARGET_ANY = '<[member_id|all|last|non_moderator]>';
const VALUE_TARGET = '<member_id|all|last|non_moderator> [<newval>]';

/** C's atoi: leading digits (with sign), 0 when there are none. */
export function atoi(s: string | undefined): number {
  const m = /^\s*([+-]?\d+)/.exec(s ?? '');
  return m ? Number.parseInt(m[1]!, 10) : 0;
}

function optionalInt(data: string | undefined): number | undefined {
  return data === undefined || data === '' ? undefined : atoi(data);
}

const MEMBER_COMMANDS: Record<string, MemberCommand> = {
  energy: { syntax: VALUE_TARGET, run: (e, m, d) => e.setEnergy(m, optionalInt(d)) },
  volume_in: { syntax: VALUE_TARGET, run: (e, m, d) => e.setVolume(m, 'in', optionalInt(d)) },
  volume_out: { syntax: VALUE_TARGET, run: (e, m, d) => e.setVolume(m, 'out', optionalInt(d)) },
  dtmf: {
    syntax: `${TARGET_ANY} <digits>`,
    run: (e, m, d) => (d && /^[0-9A-Da-d*#wW]+$/.test(d) ? e.dtmf(m, d) : '-ERR Invalid DTMF\n'),
  },
  kick: {
    syntax: `${TARGET_ANY} [<optional sound file>]`,
    run: (e, m) => {
      e.kick(m);
      return `+OK kicked ${m.id}\n`;
    },
  },
  hup: {
    syntax: TARGET_ANY,
    run: (e, m) => {
      e.hup(m);
      return `+OK hup ${m.id}\n`;
    },
  },
  mute: { syntax: `${TARGET_ALL} [<quiet>]`, run: (e, m, d) => e.mute(m, isQuiet(d)) },
  tmute: { syntax: `${TARGET_ALL} [<quiet>]`, run: (e, m, d) => (m.canSpeak ? e.mute(m, isQuiet(d)) : e.unmute(m, isQuiet(d))) },
  unmute: { syntax: `${TARGET_ALL} [<quiet>]`, run: (e, m, d) => e.unmute(m, isQuiet(d)) },
  deaf: { syntax: TARGET_ALL, run: (e, m) => e.deaf(m, true) },
  undeaf: { syntax: TARGET_ALL, run: (e, m) => e.deaf(m, false) },
  hold: { syntax: `${TARGET_ALL} [<quiet>]`, run: (e, m) => e.holdMember(m, true) },
  unhold: { syntax: `${TARGET_ALL} [<quiet>]`, run: (e, m) => e.holdMember(m, false) },
  floor: {
    syntax: '<member_id|last>',
    run: (e, m) => {
      const conf = m.conference;
      if (conf.floor === m) {
        e.setFloor(conf, undefined);
        return '+OK floor none\n';
      }
      if (!conf.floor) {
        e.setFloor(conf, m);
        return `+OK floor ${m.id}\n`;
      }
      return `-ERR floor is held by ${conf.floor.id}\n`;
    },
  },
};

function isQuiet(data: string | undefined): boolean {
  return data !== undefined && data.includes('quiet');
}

type SplitHandler = (engine: ApiEngine, conf: Conference, argv: string[]) => string | undefined;

interface SplitCommand {
  syntax: string;
  /** undefined = bad arguments: the usage text is written instead. */
  run: SplitHandler;
}

const SPLIT_COMMANDS: Record<string, SplitCommand> = {
  list: {
    syntax: '[delim <string>]|[count]',
    run: (_e, conf, argv) => {
      if (argv[2]?.toLowerCase() === 'count') return String(conf.members.length);
      if (argv[2]?.toLowerCase() === 'delim') return argv[3] ? memberLines(conf, argv[3]) : undefined;
      return memberLines(conf);
    },
  },
  xml_list: { syntax: '', run: (e, conf) => xmlList([conf], e.now()) },
  json_list: { syntax: '', run: (e, conf) => jsonList([conf], e.now()) },
  count: { syntax: '', run: (_e, conf) => String(conf.members.length) },
  get: {
    syntax: '<parameter-name>',
    run: (e, conf, argv) => {
      if (argv.length !== 3) return undefined;
      const now = e.now();
      switch (argv[2]!.toLowerCase()) {
        case 'run_time':
          return String(Math.floor((now - conf.createdAt) / 1000));
        case 'count':
          return String(conf.members.length);
        case 'count_ghosts':
          return '0';
        case 'max_members':
          return String(conf.maxMembers);
        case 'caller_id_name':
          return conf.callerIdName ?? '';
        case 'caller_id_number':
          return conf.callerIdNumber ?? '';
        case 'rate':
          return String(conf.profile.rate);
        case 'profile_name':
          return conf.profile.name;
        case 'is_locked':
          return conf.locked ? 'locked' : '';
        case 'uuid':
          return conf.uuid;
        case 'wait_mod':
          return '';
        default:
          return undefined;
      }
    },
  },
  set: {
    syntax: '<max_members|sound_prefix|caller_id_name|caller_id_number|endconference_grace_time> <value>',
    // conference_api_sub_set: exactly four words; writes the previous value, then changes it.
    run: (_e, conf, argv) => {
      if (argv.length !== 4) return undefined;
      const value = argv[3]!;
      switch (argv[2]!.toLowerCase()) {
        case 'max_members': {
          const n = atoi(value);
          if (n < 0) return undefined;
          const before = conf.maxMembers;
          conf.maxMembers = n;
          return String(before);
        }
        case 'caller_id_name': {
          const before = conf.callerIdName ?? '';
          conf.callerIdName = value;
          return before;
        }
        case 'caller_id_number': {
          const before = conf.callerIdNumber ?? '';
          conf.callerIdNumber = value;
          return before;
        }
        default:
          return undefined;
      }
    },
  },
  lock: { syntax: '', run: (e, conf) => e.lock(conf, true) },
  unlock: { syntax: '', run: (e, conf) => e.lock(conf, false) },
  play: {
    syntax: '<file_path> [async|<member_id> [nomux]]',
    run: (e, conf, argv) => {
      const file = argv[2];
      if (!file) return undefined;
      const target = argv[3];
      if (target && target.toLowerCase() !== 'async') {
        const id = atoi(target);
        const m = conf.members.find((x) => x.id === id);
        if (!m) return `-ERR Member: ${id} not found.\n`;
        e.playToMember(m, file, true);
        return `+OK (play) Playing file ${file} to member ${id}\n`;
      }
      e.playToConference(conf, file, { async: target?.toLowerCase() === 'async' });
      return `+OK (play) Playing file ${file}\n`;
    },
  },
  stop: {
    syntax: '<[current|all|async|last]> [<member_id>]',
    run: (e, conf, argv) => {
      const mode = (argv[2] ?? 'all').toLowerCase();
      if (mode !== 'current' && mode !== 'all' && mode !== 'async') return undefined;
      if (argv.length >= 4) {
        const id = atoi(argv[3]);
        const m = conf.members.find((x) => x.id === id);
        if (!m) return `-ERR Member: ${id} not found.\n`;
        return `+OK Stopped ${e.stopPlays(conf, mode, m)} files.\n`;
      }
      return `+OK Stopped ${e.stopPlays(conf, mode)} files.\n`;
    },
  },
  record: {
    syntax: '<filename>',
    run: (e, conf, argv) => (argv[2] ? e.startRecording(conf, argv.slice(2).join(' ')) : undefined),
  },
  norecord: {
    syntax: '<[filename|all]>',
    run: (e, conf, argv) => (argv[2] ? e.stopRecording(conf, argv.slice(2).join(' ')) : undefined),
  },
  relate: {
    syntax: '<member_id> <other_member_id> [nospeak|nohear|clear]',
    run: (_e, conf, argv) => {
      if (argv.length < 5) return undefined;
      // Texts as conference_api_sub_relate writes them (1.10 prefixes its OKs with `+`):
      // `+OK <id>-><oid> <how> set`, `relationship <id>-><oid> cleared.`, `relationship <id>-><oid> not found.`
      const id = atoi(argv[2]);
      const oid = atoi(argv[3]);
      const a = conf.members.find((x) => x.id === id);
      const b = conf.members.find((x) => x.id === oid);
      const how = argv[4]!.toLowerCase();
      if (how !== 'clear' && how !== 'nospeak' && how !== 'nohear') return undefined;
      if (!a || !b) return `relationship ${id}->${oid} not found.\n`;
      if (how === 'clear') {
        a.noSpeakTo.delete(b.id);
        a.noHear.delete(b.id);
        return `+OK relationship ${a.id}->${b.id} cleared.\n`;
      }
      if (how === 'nospeak') a.noSpeakTo.add(b.id);
      else a.noHear.add(b.id);
      return `+OK ${a.id}->${b.id} ${argv[4]} set\n`;
    },
  },
};

type TextHandler = (engine: ApiEngine, conf: Conference, text: string) => { out: string; ok: boolean };

/**
 * CONF_API_SUB_ARGS_AS_ONE commands: the handler gets the text after the first occurrence of its
 * name in the whole command line (strstr, conference name included); on failure the dispatcher
 * appends the usage line.
 */
const TEXT_COMMANDS: Record<string, { syntax: string; run: TextHandler }> = {
  say: {
    syntax: '<text>',
    run: (e, conf, text) => {
      if (text === '') return { out: '(say) Error! No text.\n', ok: false };
      const out = e.say(conf, text);
      return { out, ok: out.startsWith('(say) OK') };
    },
  },
  saymember: {
    syntax: '<member_id> <text>',
    run: (e, conf, text) => {
      if (text === '') return { out: '(saymember) No Text!\n', ok: false };
      const space = text.indexOf(' ');
      const id = atoi(space < 0 ? text : text.slice(0, space));
      const rest = space < 0 ? '' : text.slice(space + 1);
      if (!id || rest === '') return { out: '(saymember) No Text!\n', ok: false };
      const m = conf.members.find((x) => x.id === id);
      if (!m) return { out: `(saymember) Unknown Member ${id}!\n`, ok: false };
      const out = e.sayMember(m, rest);
      return { out, ok: out.startsWith('(saymember) OK') };
    },
  },
};

const HELP_ORDER = [
  ['list', SPLIT_COMMANDS.list!.syntax],
  ['xml_list', ''],
  ['json_list', ''],
  ...Object.entries(MEMBER_COMMANDS).map(([k, v]) => [k, v.syntax] as const),
  ...Object.entries(SPLIT_COMMANDS)
    .filter(([k]) => !['list', 'xml_list', 'json_list'].includes(k))
    .map(([k, v]) => [k, v.syntax] as const),
] as const;

function helpText(): string {
  return HELP_ORDER.map(([cmd, syntax]) => `<conf name> ${cmd} ${syntax}\n`).join('');
}

export function runConferenceApi(engine: ApiEngine, args: string): string {
  const argv = args.split(' ').filter((w) => w.length > 0);
  if (argv.length === 0) return helpText();
  const conf = engine.conference(argv[0]!);
  if (!conf) {
    const first = argv[0]!.toLowerCase();
    if (first === 'list') {
      // FreeSWITCH ignores `count` here and lists everything; `summary` leaves the members out.
      const opt = argv[1]?.toLowerCase();
      return listAll(engine.allConferences(), { summary: opt === 'summary', delim: opt === 'delim' ? argv[2] : undefined });
    }
    if (first === 'xml_list') return xmlList(engine.allConferences(), engine.now());
    if (first === 'json_list') return jsonList(engine.allConferences(), engine.now());
    if (first === 'help' || first === 'commands') return helpText();
    return `-ERR Conference ${argv[0]} not found\n`;
  }
  if (argv.length < 2) return "Conference command, not specified.\nTry 'help'\n";
  return dispatch(engine, conf, argv, args);
}

function dispatch(engine: ApiEngine, conf: Conference, argv: string[], line: string): string {
  const sub = argv[1]!.toLowerCase();
  const text = TEXT_COMMANDS[sub];
  if (text) {
    const at = line.indexOf(sub);
    const rest = at < 0 ? line : line.slice(at + sub.length).replace(/^[ \t]+/, '');
    const r = text.run(engine, conf, rest.replace(/\s+$/, ''));
    return r.ok ? r.out : `${r.out}${sub} ${text.syntax}`;
  }
  const split = SPLIT_COMMANDS[sub];
  if (split) {
    const out = split.run(engine, conf, argv);
    return out ?? `${sub} ${split.syntax}`;
  }
  const member = MEMBER_COMMANDS[sub];
  if (!member) return `-ERR Conference command '${argv[1]}' not found.\n`;
  return runOnTargets(engine, conf, argv, sub, member);
}

function runOnTargets(engine: ApiEngine, conf: Conference, argv: string[], sub: string, cmd: MemberCommand): string {
  const target = argv[2];
  const data = argv[3];
  const id = atoi(target);
  if (id) {
    const m = conf.members.find((x) => x.id === id);
    return m ? cmd.run(engine, m, data) : `-ERR Non-Existant ID ${id}\n`;
  }
  const t = target?.toLowerCase();
  if (t === 'all' || t === 'non_moderator') {
    let out = '';
    for (const m of [...conf.members]) {
      if (t === 'non_moderator' && m.moderator) {
        out += `Skipping moderator (member id ${m.id}).\n`;
        continue;
      }
      if (m.conference.members.includes(m)) out += cmd.run(engine, m, data);
    }
    return out;
  }
  if (t === 'last') {
    let last: Member | undefined;
    for (const m of conf.members) if (!last || m.id > last.id) last = m;
    return last ? cmd.run(engine, last, data) : '';
  }
  return `${sub} ${cmd.syntax}`;
}
