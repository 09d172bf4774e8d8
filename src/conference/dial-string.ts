/**
 * The dial strings confmgr accepts for a conference `dial`, validated before anything reaches
 * FreeSWITCH. In FreeSWITCH's originate a dial string is a small language: `,` and `|` separate
 * simultaneous and failover legs, `&` starts the application, `{…}` / `[…]` carry channel variables
 * (switch_ivr_originate.c), a space ends the argument. One endpoint here is exactly one leg:
 *
 *   endpoint  := [ "{" vars "}" ] [ "[" vars "]" ] target
 *   target    := "sofia/" word "/" user "@" host params      a SIP URI through a sofia profile
 *              | "sofia/gateway/" word "/" user               a number through a gateway
 *              | "user/" user [ "@" host ]                    a directory user
 *              | "loopback/" user [ "/" word [ "/" word ] ]   back into the dialplan (exten/context/dialplan)
 *   vars      := var { "," var }          (the only place a `,` may appear)
 *   var       := name "=" value
 *   name      := [A-Za-z_][A-Za-z0-9_-]{0,63}     (sip_h_X-Header names have dashes)
 *   value     := [A-Za-z0-9_.+*#@:/%-]{0,256}
 *   word      := [A-Za-z0-9_.-]{1,64}
 *   user      := [A-Za-z0-9_.+*#%=-]{1,128}
 *   host      := [A-Za-z0-9.-]{1,253} [ ":" port ]
 *   params    := { ";" [A-Za-z0-9_-]{1,32} [ "=" [A-Za-z0-9_.-]{1,64} ] }
 *
 * So `&`, `|`, spaces, quotes and control characters never appear, and `,` only between variables.
 * The variables confmgr sets itself (call id, caller id, timeout) may not be given by an endpoint.
 */
import { InvalidArgumentError } from './errors.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const VALUE = /^[A-Za-z0-9_.+*#@:/%-]{0,256}$/;
const TARGETS: readonly RegExp[] = [
  /^sofia\/gateway\/[A-Za-z0-9_.-]{1,64}\/[A-Za-z0-9_.+*#%=-]{1,128}$/,
  /^sofia\/[A-Za-z0-9_.-]{1,64}\/[A-Za-z0-9_.+*#%=-]{1,128}@[A-Za-z0-9.-]{1,253}(?::\d{1,5})?(?:;[A-Za-z0-9_-]{1,32}(?:=[A-Za-z0-9_.-]{1,64})?)*$/,
  /^user\/[A-Za-z0-9_.+*#%=-]{1,128}(?:@[A-Za-z0-9.-]{1,253}(?::\d{1,5})?)?$/,
  /^loopback\/[A-Za-z0-9_.+*#%=-]{1,128}(?:\/[A-Za-z0-9_.-]{1,64}(?:\/[A-Za-z0-9_.-]{1,64})?)?$/,
];
/** Longest endpoint accepted (FreeSWITCH has no such limit; a bound keeps one request small). */
export const MAX_ENDPOINT_LENGTH = 1024;
/** Channel variables confmgr sets on every dialled leg; an endpoint may not override them. */
export const RESERVED_DIAL_VARIABLES: ReadonlySet<string> = new Set([
  'origination_uuid',
  'origination_caller_id_name',
  'origination_caller_id_number',
  'originate_timeout',
]);

export interface DialString {
  /** The `{…}` variables, in order. */
  global: Array<[string, string]>;
  /** The `[…]` variables, in order. */
  leg: Array<[string, string]>;
  /** The endpoint itself, e.g. `sofia/internal/1000@example.com`. */
  target: string;
}

function fail(field: string, message: string): never {
  throw new InvalidArgumentError(`${field}: ${message}`, { field });
}

function parseVars(text: string, field: string): Array<[string, string]> {
  if (text === '') fail(field, 'an empty variable block');
  return text.split(',').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) fail(field, `"${pair.slice(0, 64)}" is not name=value`);
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (!NAME.test(name)) fail(field, `variable name "${name.slice(0, 64)}" is not [A-Za-z_][A-Za-z0-9_-]*`);
    if (!VALUE.test(value)) fail(field, `the value of ${name} may hold only letters, digits and _ . + * # @ : / % -`);
    if (RESERVED_DIAL_VARIABLES.has(name)) fail(field, `${name} is set by confmgr`);
    return [name, value];
  });
}

/** Parses one endpoint by the grammar above; throws InvalidArgumentError (naming `field`) otherwise. */
export function parseDialString(endpoint: unknown, field = 'endpoint'): DialString {
  if (typeof endpoint !== 'string' || endpoint === '') fail(field, 'must be a non-empty string');
  if (endpoint.length > MAX_ENDPOINT_LENGTH) fail(field, `longer than ${MAX_ENDPOINT_LENGTH} characters`);
  if (/[\x00-\x1f\x7f]/.test(endpoint)) fail(field, 'control characters are not allowed');
  let rest = endpoint;
  let global: Array<[string, string]> = [];
  let leg: Array<[string, string]> = [];
  if (rest.startsWith('{')) {
    const end = rest.indexOf('}');
    if (end < 0) fail(field, 'unterminated {');
    global = parseVars(rest.slice(1, end), field);
    rest = rest.slice(end + 1);
  }
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0) fail(field, 'unterminated [');
    leg = parseVars(rest.slice(1, end), field);
    rest = rest.slice(end + 1);
  }
  if (/[&|, {}[\]'"]/.test(rest)) fail(field, 'one endpoint only: no & | , spaces, quotes or braces outside the variable blocks');
  if (!TARGETS.some((re) => re.test(rest))) {
    fail(field, 'not a dial string confmgr accepts (sofia/<profile>/<user>@<host>, sofia/gateway/<gateway>/<number>, user/<user>[@<domain>], loopback/<exten>[/<context>])');
  }
  return { global, leg, target: rest };
}
