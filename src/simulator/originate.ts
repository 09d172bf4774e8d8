/**
 * Parses `originate {vars}[leg vars]<url> <&app(args)|exten> [dialplan] [context] [cid_name] [cid_num]`
 * as mod_commands' originate reads it. Two ways into a conference:
 *  - the fixtures' FreeSWITCH dialplan: `loopback/conf-<name>` joins conference <name>,
 *    `loopback/mod-<name>` joins it as moderator (whatever the application);
 *  - the application itself: `&conference(<name>[@<profile>][+flags{mute|deaf|moderator|…}])` (a
 *    conference dial), for any endpoint: `sofia/…`, `user/…`, `loopback/…`. The endpoint answers as
 *    the simulator was told (ConferenceEngine.setDialOutcome; default: it answers).
 * `origination_uuid` names the joining channel, as switch_ivr_originate does.
 */
export type OriginateParse =
  | { kind: 'usage' }
  | { kind: 'error'; cause: string }
  | {
      kind: 'ok';
      conference: string;
      moderator: boolean;
      /** The endpoint (after its variable blocks), e.g. `sofia/internal/1000@example.com`. */
      target: string;
      destination: string;
      context: string;
      vars: Record<string, string>;
      callerIdNumber: string | undefined;
      callerIdName: string | undefined;
      app: string;
      /** From `&conference(…)`: its profile and join flags; undefined for the loopback dialplan form. */
      profile: string | undefined;
      flags: string[];
      /** `origination_uuid`, when given. */
      uuid: string | undefined;
      /** `originate_timeout` in seconds (FreeSWITCH's default 60). */
      timeoutS: number;
    };

/** Splits `{a=1,b='x,y'}` into variables; single quotes protect commas. */
export function parseChannelVars(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  let cur = '';
  let quoted = false;
  const flush = (): void => {
    const eq = cur.indexOf('=');
    if (eq > 0) {
      let value = cur.slice(eq + 1);
      if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) value = value.slice(1, -1);
      vars[cur.slice(0, eq).trim()] = value;
    }
    cur = '';
  };
  for (const ch of text) {
    if (ch === "'") quoted = !quoted;
    if (ch === ',' && !quoted) flush();
    else cur += ch;
  }
  flush();
  return vars;
}

const CONFERENCE_APP = /^&conference\(([^@+()\s]+)(?:@([^+()\s]+))?(?:\+flags\{([^}]*)\})?\)$/;
const DEFAULT_ORIGINATE_TIMEOUT_S = 60;

export function parseOriginate(args: string): OriginateParse {
  let rest = args.trim();
  let vars: Record<string, string> = {};
  for (const [open, close] of [
    ['{', '}'],
    ['[', ']'],
  ] as const) {
    if (!rest.startsWith(open)) continue;
    const end = rest.indexOf(close);
    if (end < 0) return { kind: 'error', cause: 'INVALID_URL' };
    vars = { ...vars, ...parseChannelVars(rest.slice(1, end)) };
    rest = rest.slice(end + 1);
  }
  const words = rest.split(/\s+/).filter((w) => w.length > 0);
  if (words.length < 2) return { kind: 'usage' };
  const [url, app, , contextArg, cidName, cidNumber] = words as [string, string, ...string[]];
  if (/[\x00-\x1f\x7f]/.test(url)) return { kind: 'error', cause: 'INVALID_URL' };
  const parts = url.split('/');
  const tech = parts[0]!.toLowerCase();
  if (tech !== 'loopback' && tech !== 'sofia' && tech !== 'user') return { kind: 'error', cause: 'CHAN_NOT_IMPLEMENTED' };
  const timeout = Number(vars.originate_timeout);
  const common = {
    target: url,
    vars,
    callerIdNumber: vars.origination_caller_id_number ?? cidNumber,
    callerIdName: vars.origination_caller_id_name ?? cidName,
    app,
    uuid: vars.origination_uuid,
    timeoutS: Number.isInteger(timeout) && timeout > 0 ? timeout : DEFAULT_ORIGINATE_TIMEOUT_S,
  };
  const joined = CONFERENCE_APP.exec(app);
  if (joined) {
    const flags = (joined[3] ?? '').split('|').filter((f) => f !== '');
    return {
      kind: 'ok',
      ...common,
      conference: joined[1]!,
      moderator: flags.includes('moderator'),
      destination: tech === 'loopback' ? (parts[1] ?? '') : parts.slice(1).join('/'),
      context: tech === 'loopback' ? parts[2] || contextArg || 'default' : 'default',
      profile: joined[2] ?? 'default',
      flags,
    };
  }
  // Outside a conference dial the simulator has only the fixtures' loopback dialplan.
  if (tech !== 'loopback') return { kind: 'error', cause: 'CHAN_NOT_IMPLEMENTED' };
  const destination = parts[1] ?? '';
  const m = /^(conf|mod)-(.+)$/.exec(destination);
  if (!m) return { kind: 'error', cause: 'NO_ROUTE_DESTINATION' };
  return {
    kind: 'ok',
    ...common,
    conference: m[2]!,
    moderator: m[1] === 'mod',
    destination,
    context: parts[2] || contextArg || 'default',
    profile: undefined,
    flags: [],
  };
}
