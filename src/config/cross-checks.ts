/**
 * Rules that span several keys, checked on the raw document (after overrides) so that they are reported
 * together with the schema's per-key problems instead of only after those are fixed.
 */
import { shorten, type ConfigIssue } from './errors.js';

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Exactly one of `key` / `key_env` (or at most one when `required` is false). */
function oneOf(o: Record<string, unknown>, key: string, at: string, required: boolean, issues: ConfigIssue[]): void {
  const has = o[key] !== undefined && o[key] !== null;
  const hasEnv = o[`${key}_env`] !== undefined && o[`${key}_env`] !== null;
  if (has && hasEnv) issues.push({ key: `${at}.${key}`, message: `set either ${key} or ${key}_env, not both` });
  else if (required && !has && !hasEnv) issues.push({ key: `${at}.${key}`, message: `missing: set ${key} or ${key}_env` });
}

export function crossChecks(raw: Record<string, unknown>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const nodes = obj(raw.freeswitch)?.nodes;
  if (Array.isArray(nodes)) {
    const seen = new Map<unknown, number>();
    nodes.forEach((n, i) => {
      const node = obj(n);
      if (!node) return;
      oneOf(node, 'password', `freeswitch.nodes[${i}]`, true, issues);
      if (typeof node.name === 'string') {
        const first = seen.get(node.name);
        if (first !== undefined) {
          issues.push({ key: `freeswitch.nodes[${i}].name`, message: `duplicate node name "${shorten(node.name)}" (also nodes[${first}])` });
        } else seen.set(node.name, i);
      }
    });
  }
  const amqp = obj(raw.amqp);
  if (amqp) oneOf(amqp, 'url', 'amqp', false, issues);
  const storage = obj(raw.storage);
  if (storage) {
    oneOf(storage, 'url', 'storage', false, issues);
    const hasUrl = (storage.url ?? storage.url_env) !== undefined && (storage.url ?? storage.url_env) !== null;
    const hasPath = storage.path !== undefined && storage.path !== null;
    if (hasUrl && hasPath) {
      issues.push({ key: 'storage.path', message: 'set either path (SQLite) or url/url_env (PostgreSQL), not both' });
    }
    if (storage.driver === 'postgres' && !hasUrl) {
      issues.push({ key: 'storage.url', message: 'missing: driver postgres needs url or url_env (a postgres:// URL)' });
    }
    if (storage.driver === 'sqlite' && hasUrl) {
      issues.push({ key: 'storage.url', message: 'driver sqlite takes path, not url/url_env (set driver: postgres for PostgreSQL)' });
    }
  }
  const tokens = obj(raw.http)?.tokens;
  if (Array.isArray(tokens)) {
    tokens.forEach((t, i) => {
      const tok = obj(t);
      if (tok) oneOf(tok, 'token', `http.tokens[${i}]`, true, issues);
    });
  }
  return issues;
}
