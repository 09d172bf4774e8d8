/**
 * What a config error may show of a value. Keys that hold a secret (`password`, `token`, a `url` with
 * credentials) and keys that name the environment variable holding one (`*_env`) are never echoed:
 * an operator who pastes the secret itself under `password_env`, or a URL under `url_env`, must not
 * find it in `check-config`'s output, in `start`'s stderr or in a log line.
 */
import { CONFIG_LIMITS } from './limits.js';

/** Keys whose values are never echoed back in an error message. */
const SECRET_KEY = /(password|passwd|token|url|secret|credentials?|_env)$/i;

/** A `user:password@` part, wherever it was put (a URL under `host`, in an override…): never echoed. */
export function hasCredentials(value: unknown): boolean {
  return typeof value === 'string' && /[^\s:/@]*:[^\s/@]*@/.test(value);
}

/** What an environment variable name may be (POSIX: letters, digits and `_`, not starting with a digit). */
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

const MAX_ENV_NAME_LENGTH = CONFIG_LIMITS.envNameLength;

/**
 * A name shown in messages: only the conventional form (UPPER_CASE words joined by `_`). Anything else
 * that passes ENV_NAME_RE (`SuperSecretPw6`) may be a password pasted where its variable's name goes.
 */
const CONVENTIONAL_ENV_NAME = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/;

/** True when a value at this key path must not appear in an error message. */
export function isSecretPath(path: ReadonlyArray<PropertyKey>): boolean {
  return path.some((p) => typeof p === 'string' && SECRET_KEY.test(p));
}

/**
 * Why `value` cannot be the name of an environment variable, without quoting it; undefined if it can.
 * A URL and anything else that is not a name get different hints, since a URL is the usual mistake.
 */
export function envNameProblem(value: string): string | undefined {
  if (value.includes('://')) {
    return 'looks like a URL, not the name of an environment variable (value not shown): put the URL in an environment variable and its name here';
  }
  if (!ENV_NAME_RE.test(value) || value.length > MAX_ENV_NAME_LENGTH) {
    return `not the name of an environment variable (letters, digits and _, at most ${MAX_ENV_NAME_LENGTH}); the value is not shown, as it may be a secret put here by mistake`;
  }
  return undefined;
}

/**
 * `environment variable NAME <what>` for a conventional name; for any other name the same sentence
 * without it, so a secret pasted under `*_env` is not echoed by the "not set" message either.
 */
export function aboutEnvVariable(name: string, what: string): string {
  if (CONVENTIONAL_ENV_NAME.test(name)) return `environment variable ${name} ${what}`;
  return `the environment variable named here ${what} (its name is not shown: not in UPPER_CASE form, it may be a secret put here by mistake)`;
}

/** The name itself when conventional, else where it is configured (for lists of unresolved variables). */
export function shownEnvName(name: string, key: string): string {
  return CONVENTIONAL_ENV_NAME.test(name) ? name : `the variable named in ${key}`;
}
