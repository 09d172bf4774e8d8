/**
 * Which channel variables confmgr keeps for a participant. A FreeSWITCH channel carries 100-200
 * variables (several KB: sip_*, rtp_*, codec lists, …); uuid_dump and verbose events bring them all.
 * confmgr reads only these, so only these are kept, from the moment an event or a dump is parsed:
 *  - `ecallmgr_*`: Kazoo's custom channel variables (the payload's `custom_channel_vars`);
 *  - `account_id`, `customer_id`: who owns the call on a dialplan without Kazoo's CCVs;
 *  - `presence_id`: `channel_presence_id` when the Channel-Presence-ID header is missing.
 * Keeping every variable would make them most of what a large node's participants cost in memory.
 */

/** Kazoo's CCV prefix on FreeSWITCH channel variables (`variable_ecallmgr_Account-ID`). */
export const CCV_PREFIX = 'ecallmgr_';

const KEPT_NAMES: ReadonlySet<string> = new Set(['account_id', 'customer_id', 'presence_id']);

export function isKeptChannelVar(name: string): boolean {
  return name.startsWith(CCV_PREFIX) || KEPT_NAMES.has(name);
}

/** The kept `variable_<name>` headers of an event or a dump, as { name: value }. */
export function keptChannelVars(headers: Readonly<Record<string, string>>): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const k in headers) {
    if (!k.startsWith('variable_')) continue;
    const name = k.slice(9);
    if (isKeptChannelVar(name)) vars[name] = headers[k]!;
  }
  return vars;
}
