/**
 * CONFMGR_* environment overrides, applied to the raw document before validation.
 * The variable name is the key path in upper case with `__` between levels, e.g.
 *   CONFMGR_AMQP__URL, CONFMGR_LOG__LEVEL, CONFMGR_HTTP__LISTEN, CONFMGR_FREESWITCH__NODES__0__PASSWORD,
 *   CONFMGR_PUBLISH_PARTICIPANT_EVENT="add-member,del-member".
 * Values stay strings (the schema converts numbers, booleans and comma lists); a value starting with
 * `[` or `{` is parsed as YAML flow syntax.
 */
import { parse as parseYaml } from 'yaml';
import { fileSchema } from './schema.js';
import { MAX_ALIAS_COUNT } from './yaml-document.js';

export const OVERRIDE_PREFIX = 'CONFMGR_';

export interface AppliedOverride {
  variable: string;
  /** Dotted path as the schema reports it, e.g. `freeswitch.nodes[0].password`. */
  key: string;
}

/**
 * Only variables whose first key is a top-level config key are overrides; other CONFMGR_* variables
 * (CONFMGR_CONFIG, the CLI's CONFMGR_URL/CONFMGR_TOKEN/CONFMGR_ACCOUNT…) are left alone.
 */
export const TOP_LEVEL_KEYS: ReadonlySet<string> = new Set(Object.keys(fileSchema([]).shape));

type Json = Record<string, unknown> | unknown[];

export function applyEnvOverrides(doc: Record<string, unknown>, env: NodeJS.ProcessEnv): AppliedOverride[] {
  const applied: AppliedOverride[] = [];
  const names = Object.keys(env)
    .filter((n) => n.startsWith(OVERRIDE_PREFIX) && TOP_LEVEL_KEYS.has(n.slice(OVERRIDE_PREFIX.length).split('__')[0]!.toLowerCase()))
    .sort();
  for (const variable of names) {
    const raw = env[variable];
    if (raw === undefined) continue;
    const segments = variable
      .slice(OVERRIDE_PREFIX.length)
      .split('__')
      .map((s) => s.toLowerCase());
    if (segments.some((s) => s === '')) continue;
    let target: Json = doc;
    for (const seg of segments.slice(0, -1)) {
      const key = keyFor(target, seg);
      let next = (target as Record<string | number, unknown>)[key];
      if (next === null || typeof next !== 'object') {
        next = {};
        (target as Record<string | number, unknown>)[key] = next;
      }
      target = next as Json;
    }
    const leaf = keyFor(target, segments[segments.length - 1]!);
    const t = target as Record<string | number, unknown>;
    t[leaf] = parseValue(raw);
    // An override of `x` replaces `x_env` from the file and vice versa, instead of conflicting with it.
    if (typeof leaf === 'string') {
      if (leaf.endsWith('_env')) delete t[leaf.slice(0, -4)];
      else delete t[`${leaf}_env`];
    }
    applied.push({ variable, key: formatPath(segments.map((s) => (/^\d+$/.test(s) ? Number(s) : s))) });
  }
  return applied;
}

/** `[a, b]` / `{k: v}` as YAML flow syntax; anything else (including `[::1]:8000`) stays a string. */
function parseValue(raw: string): unknown {
  if (!/^\s*[[{]/.test(raw)) return raw;
  try {
    return parseYaml(raw, { maxAliasCount: MAX_ALIAS_COUNT, logLevel: 'error' }) as unknown;
  } catch {
    return raw;
  }
}

function keyFor(target: Json, seg: string): string | number {
  return Array.isArray(target) && /^\d+$/.test(seg) ? Number(seg) : seg;
}

/** ['freeswitch', 'nodes', 0, 'port'] → `freeswitch.nodes[0].port`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}
