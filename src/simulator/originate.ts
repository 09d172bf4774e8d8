/**
 * Parses `originate {vars}loopback/<dest>/<context> <&app|exten> [dialplan] [context] [cid_name] [cid_num]`
 * as the fixtures' FreeSWITCH was configured: `conf-<name>` joins conference <name>, `mod-<name>` joins
 * it as moderator.
 */
export type OriginateParse =
  | { kind: 'usage' }
  | { kind: 'error'; cause: string }
  | {
      kind: 'ok';
      conference: string;
      moderator: boolean;
      destination: string;
      context: string;
      vars: Record<string, string>;
      callerIdNumber: string | undefined;
      callerIdName: string | undefined;
      app: string;
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

export function parseOriginate(args: string): OriginateParse {
  let rest = args.trim();
  let vars: Record<string, string> = {};
  if (rest.startsWith('{')) {
    const end = rest.indexOf('}');
    if (end < 0) return { kind: 'error', cause: 'INVALID_URL' };
    vars = parseChannelVars(rest.slice(1, end));
    rest = rest.slice(end + 1);
  }
  const words = rest.split(/\s+/).filter((w) => w.length > 0);
  if (words.length < 2) return { kind: 'usage' };
  const [url, app, , contextArg, cidName, cidNumber] = words as [string, string, ...string[]];
  const parts = url.split('/');
  if (parts[0]!.toLowerCase() !== 'loopback') return { kind: 'error', cause: 'CHAN_NOT_IMPLEMENTED' };
  const destination = parts[1] ?? '';
  const m = /^(conf|mod)-(.+)$/.exec(destination);
  if (!m || /[\x00-\x1f\x7f]/.test(m[2]!)) return { kind: 'error', cause: 'NO_ROUTE_DESTINATION' };
  return {
    kind: 'ok',
    conference: m[2]!,
    moderator: m[1] === 'mod',
    destination,
    context: parts[2] || contextArg || 'default',
    vars,
    callerIdNumber: vars.origination_caller_id_number ?? cidNumber,
    callerIdName: vars.origination_caller_id_name ?? cidName,
    app,
  };
}
