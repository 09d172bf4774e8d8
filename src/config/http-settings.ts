/**
 * The part of the operator file the operator commands (`confmgr conferences`, `mute`, …) need: where the
 * service listens, its API tokens and the default account. Read on its own, with the same YAML, CONFMGR_*
 * overrides and schema as the service, so that a shell without the service's other secrets (the
 * FreeSWITCH password or AMQP URL in environment variables) can still use the file.
 */
import { ConfigError, type ConfigIssue } from './errors.js';
import { applyEnvOverrides, formatPath } from './overrides.js';
import { httpSchema } from './schema.js';
import { parseYamlMapping } from './yaml-document.js';
import { readConfigText } from './read-file.js';
import { shownEnvName } from './secret-values.js';

export interface HttpSettings {
  /** As written in http.listen (brackets removed from IPv6). */
  host: string;
  port: number;
  /** Tokens whose secret is available here (a `token_env` not set in this shell is left out). */
  tokens: Array<{ token: string; accountId: string }>;
  /**
   * `token_env` variables of tokens that could not be resolved, for error messages (a name not in
   * UPPER_CASE form, which may be a secret pasted there, is replaced by the key naming it).
   */
  unresolvedTokenEnv: string[];
  defaultAccountId: string | undefined;
}

export function loadHttpSettings(file: string, env: NodeJS.ProcessEnv = process.env): HttpSettings {
  const text = readConfigText(file);
  const raw = parseYamlMapping(text, file);
  applyEnvOverrides(raw, env);
  const parsed = httpSchema.prefault({}).safeParse(raw.http ?? undefined);
  if (!parsed.success) {
    const issues: ConfigIssue[] = parsed.error.issues.map((i) => ({ key: formatPath(['http', ...i.path]), message: i.message }));
    throw new ConfigError(file, issues);
  }
  const http = parsed.data;
  const colon = http.listen.lastIndexOf(':');
  const tokens: HttpSettings['tokens'] = [];
  const unresolvedTokenEnv: string[] = [];
  http.tokens.forEach((t, i) => {
    const token = t.token ?? (t.token_env ? env[t.token_env] : undefined);
    if (token) tokens.push({ token, accountId: t.account_id });
    else if (t.token_env) unresolvedTokenEnv.push(shownEnvName(t.token_env, `http.tokens[${i}].token_env`));
  });
  return {
    host: http.listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1'),
    port: Number(http.listen.slice(colon + 1)),
    tokens,
    unresolvedTokenEnv,
    defaultAccountId: http.default_account_id,
  };
}

/** The URL a client on this machine uses for `http.listen` (a wildcard address means loopback). */
export function clientUrlFor(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}
