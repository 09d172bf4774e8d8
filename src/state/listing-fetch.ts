/**
 * What a resync asks a FreeSWITCH node, as plain functions with no state of their own: the node's
 * conferences (whole or paged listing) and the channel variables of participants seen for the first
 * time (`uuid_dump`). The caller (node-sync.ts) says when to give up (`superseded`): no further
 * request is made and no reply parsed once it is true.
 */
import type { Logger } from '../util/index.js';
import { forEachConcurrently } from '../util/index.js';
import { ConferenceNotFoundError } from '../conference/index.js';
import { parseJsonList, parseListSummary, parseXmlList, type ListedConference, type ListedMember } from '../conference/index.js';
import { logRefusals } from '../conference/index.js';
import { parseUuidDump, uuidDumpCommand } from '../conference/index.js';

/** Runs `api <command>` on `node` and resolves with the reply body (the pool's EslNode.api). */
export type NodeApi = (node: string, command: string) => Promise<string>;

/** Who is asked, and until when. */
export interface FetchContext {
  node: string;
  api: NodeApi;
  log: Logger;
  now: () => number;
  /** True once the answer is no longer wanted (node down, a newer up, sync closed). */
  superseded: () => boolean;
}

/** A node's conferences as one listing told them. */
export interface Listing {
  listed: ListedConference[];
  /** The listing command that answered (`conference xml_list` when json_list was refused, PAGED_LIST). */
  command: string;
  /** Our clock (ms) when the listing that answered was requested, and when it was in hand. */
  requestedAtMs: number;
  receivedAtMs: number;
}

export interface ListingOptions {
  /** `whole`: one `conference json_list`; `paged`: summary then one json_list per conference. */
  listing: 'whole' | 'paged';
  /** Paged listing: page requests in flight at once. */
  pageConcurrency: number;
  /** Called as each listing reply is in hand, before it is parsed (twice when json_list is refused). */
  onReply?: () => void;
}

export const JSON_LIST = 'conference json_list';
export const XML_LIST = 'conference xml_list';
export const LIST_SUMMARY = 'conference list summary';
/** Listing.command of a paged listing. */
export const PAGED_LIST = 'conference <name> json_list';

/**
 * The node's conferences, parsed; undefined when superseded while a reply was on its way. A paged
 * listing that is not understood falls back to the whole one.
 */
export async function fetchListing(ctx: FetchContext, options: ListingOptions): Promise<Listing | undefined> {
  if (options.listing === 'paged') {
    const requestedAtMs = ctx.now();
    const listed = await fetchPagedListing(ctx, options.pageConcurrency);
    if (ctx.superseded()) return undefined;
    if (listed) {
      options.onReply?.();
      return { listed, command: PAGED_LIST, requestedAtMs, receivedAtMs: ctx.now() };
    }
  }
  return fetchWholeListing(ctx, options.onReply);
}

/**
 * Every conference in one reply: json_list first; a reply it refuses (a build answering "Conference
 * json_list not found", usage text, …) → xml_list; if that is refused too, the json_list error is
 * thrown. Undefined when superseded. Its own frame so that the reply text (one string holding every
 * conference) is garbage as soon as it is parsed, not held through the diff by the caller's frame.
 */
export async function fetchWholeListing(ctx: FetchContext, onReply?: () => void): Promise<Listing | undefined> {
  const { node, api, log, now, superseded } = ctx;
  let requestedAtMs = now();
  let reply = await api(node, JSON_LIST);
  if (superseded()) return undefined;
  onReply?.();
  let jsonError: unknown;
  try {
    return { listed: parseJsonList(reply, JSON_LIST, logRefusals(log, node)), command: JSON_LIST, requestedAtMs, receivedAtMs: now() };
  } catch (err) {
    jsonError = err;
  }
  log.warn({ node, err: jsonError, reply: reply.slice(0, 200) }, 'conference json_list refused; trying conference xml_list');
  reply = '';
  requestedAtMs = now();
  reply = await api(node, XML_LIST);
  if (superseded()) return undefined;
  onReply?.();
  try {
    return { listed: parseXmlList(reply, XML_LIST, logRefusals(log, node)), command: XML_LIST, requestedAtMs, receivedAtMs: now() };
  } catch (xmlError) {
    log.warn({ node, err: xmlError, reply: reply.slice(0, 200) }, 'conference xml_list refused too');
    throw jsonError;
  }
}

/**
 * The paged listing: names from `conference list summary`, then each conference's own json_list,
 * `concurrency` at once, so that no reply ever holds every conference. A conference gone meanwhile
 * (`Conference <name> not found`) is left out (its destroy is among the buffered events). Undefined
 * when superseded, when the layout is not understood or a page fails: the caller then takes the
 * whole listing.
 */
export async function fetchPagedListing(ctx: FetchContext, concurrency: number): Promise<ListedConference[] | undefined> {
  const { node, api, log, superseded } = ctx;
  const refused = logRefusals(log, node);
  let names: string[] | undefined;
  try {
    names = parseListSummary(await api(node, LIST_SUMMARY), refused);
  } catch (err) {
    log.warn({ node, err }, 'conference list summary failed; listing every conference at once');
    return undefined;
  }
  if (names === undefined) {
    log.warn({ node }, 'conference list summary not understood; listing every conference at once');
    return undefined;
  }
  const pages = new Array<ListedConference | undefined>(names.length);
  let failed = false;
  await forEachConcurrently(
    names,
    concurrency,
    async (name, i) => {
      const command = `conference ${name} json_list`;
      let listed: ListedConference[];
      try {
        listed = parseJsonList(await api(node, command), command, refused);
      } catch (err) {
        if (err instanceof ConferenceNotFoundError) return; // ended since the summary
        log.warn({ node, err, command }, 'a conference json_list page failed; listing every conference at once');
        failed = true;
        return;
      }
      if (listed.length === 1 && listed[0]!.name === name) pages[i] = listed[0];
      else if (listed.length !== 0) failed = true;
    },
    { stop: () => failed || superseded() },
  );
  if (failed || superseded()) return undefined;
  return pages.filter((c): c is ListedConference => c !== undefined);
}

/** Bounds of one resync's `uuid_dump` requests. */
export interface UuidDumpLimits {
  /** Requests in flight at once. */
  concurrency: number;
  /** Per request. */
  timeoutMs: number;
  /** For all of them; members not reached by then go without. */
  budgetMs: number;
}

/**
 * Fills `channelVars` (and channel name / presence id) of `members` in place from
 * `uuid_dump <call id> json`, within `limits`. Whoever is not reached (hung up meanwhile, timeout,
 * budget spent) goes without: counted, and logged once. Stops asking once superseded.
 */
export async function fetchChannelVars(
  ctx: Omit<FetchContext, 'now'>,
  members: readonly ListedMember[],
  limits: UuidDumpLimits,
): Promise<{ fetched: number; failed: number }> {
  const { node, api, log, superseded } = ctx;
  const counts = { fetched: 0, failed: 0 };
  const deadline = performance.now() + limits.budgetMs;
  let firstError: unknown;
  await forEachConcurrently(
    members,
    limits.concurrency,
    async (m) => {
      if (performance.now() > deadline) {
        counts.failed++;
        return;
      }
      try {
        const dump = parseUuidDump(await apiWithin(api, node, uuidDumpCommand(m.callId), limits.timeoutMs));
        m.channelVars = dump.channelVars;
        if (dump.channelName !== undefined) m.channelName = dump.channelName;
        if (dump.presenceId !== undefined) m.presenceId = dump.presenceId;
        counts.fetched++;
      } catch (err) {
        // Usually the call hung up meanwhile (its del-member is on its way); emitted without.
        counts.failed++;
        firstError ??= err;
      }
    },
    { stop: superseded },
  );
  if (counts.failed > 0) {
    log.warn(
      { node, failed: counts.failed, fetched: counts.fetched, err: firstError },
      'channel variables of some newly discovered participants could not be fetched; their add-member carries none',
    );
  }
  return counts;
}

/** api() that rejects after `timeoutMs` (the request itself is left to the connection's own timeout). */
function apiWithin(api: NodeApi, node: string, command: string, timeoutMs: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command.split(' ')[0]} timed out after ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    api(node, command).then(
      (reply) => {
        clearTimeout(timer);
        resolve(reply);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
