/**
 * What every route handler shares, built once by registerApi, plus the lookups that decide
 * 403 vs 404 for a conference id.
 */
import type { FastifyRequest } from 'fastify';
import type { Logger } from '../util/index.js';
import { ConferenceNotFoundError, NodeDownError } from '../conference/index.js';
import type { StoredConferenceDocument } from '../storage/index.js';
import type { ApiDeps, ClusterDirectory, LiveConference, RemoteConferenceLookup } from '../records/index.js';
import type { CommandResult, ConferenceCommand } from '../conference/index.js';
import type { ConferenceDocuments } from '../records/index.js';
import type { ConferencecallTracker } from '../records/index.js';
import { requireAccount, type TokenAuthenticator } from './auth.js';
import { conferenceOwner, type ConferenceAttributions } from '../records/index.js';
import { ConferenceUnattributedError, ForbiddenError, NotFoundError, PartialNotFoundError, UnauthorizedError } from './errors.js';
import { checkConferenceId } from '../records/index.js';

export interface ApiContext {
  deps: ApiDeps;
  documents: ConferenceDocuments;
  tracker: ConferencecallTracker;
  auth: TokenAuthenticator;
  /** Running conferences' first attributions (conferenceOwner's `attributions`). */
  attributions: ConferenceAttributions;
  log: Logger;
  /** Template resolving a Kazoo media id (config `media.location`); undefined: bare ids are refused. */
  mediaLocation?: string | undefined;
}

const accounts = new WeakMap<FastifyRequest, string>();

export function setRequestAccount(request: FastifyRequest, account: string): void {
  accounts.set(request, account);
}

/** The account of the request's token (set by the auth hook). */
export function requestAccount(request: FastifyRequest): string {
  const a = accounts.get(request);
  if (a === undefined) throw new UnauthorizedError('missing X-Auth-Token');
  return a;
}

/** The URL's `accountId`, once the request's token is shown to give access to it (403 otherwise). */
export function requestedAccount(request: FastifyRequest & { params: { accountId: string } }): string {
  const account = requestAccount(request);
  requireAccount(account, request.params.accountId);
  return account;
}

export interface ResolvedConference {
  id: string;
  doc?: StoredConferenceDocument;
  live?: LiveConference;
}

/**
 * The conference `id` as `account` may see it: its document and/or its live instance.
 * 404 when neither exists (CONFERENCE_UNATTRIBUTED when it runs but belongs to no account); 403 when
 * another account owns it.
 */
export async function resolveConference(ctx: ApiContext, account: string, rawId: string): Promise<ResolvedConference> {
  const id = checkConferenceId(rawId);
  const doc = await ctx.documents.get(id);
  const local = ctx.deps.registry.conference(id);
  const cluster = ctx.deps.cluster;
  // Not run here (unknown, or a standby's copy of a node another instance serves): ask the cluster.
  const remote = cluster && (!local || !cluster.serves(local.node)) ? await remoteConference(cluster, account, id, doc?.accountId) : undefined;
  if (remote?.live) return doc ? { id, doc, live: remote.live } : { id, live: remote.live };
  const live = local;
  const owner = conferenceOwner({ documentAccount: doc?.accountId, live, defaultAccount: ctx.deps.defaultAccountId, attributions: ctx.attributions });
  if (owner === undefined) {
    if (live) throw new ConferenceUnattributedError(id);
    // Not found, but not every instance answered: it may run on a silent one.
    if (remote?.missing.length) throw new PartialNotFoundError('conference', id, remote.missing);
    throw new NotFoundError('conference', id);
  }
  if (owner !== account) throw new ForbiddenError('the conference belongs to another account', { conference_id: id });
  const out: ResolvedConference = { id };
  if (doc) out.doc = doc;
  if (live) out.live = live;
  return out;
}

/**
 * The conference as the instance serving it shows it, when another one does; undefined when no
 * instance reports it running (then the local view and document decide, as for one instance alone).
 * 403 when it runs there for another account (and no document here says it is this account's).
 */
async function remoteConference(
  cluster: ClusterDirectory,
  account: string,
  id: string,
  documentAccount: string | undefined,
): Promise<{ live?: LiveConference; missing: string[] }> {
  const gathered = await cluster.conference(account, id);
  const hit = gathered.answers.find((a) => a.data?.found === true && a.data.owned) ?? gathered.answers.find((a) => a.data?.found === true);
  if (!hit) return { missing: gathered.missing };
  const data = hit.data as RemoteConferenceLookup;
  if (documentAccount !== undefined && documentAccount !== account) throw new ForbiddenError('the conference belongs to another account', { conference_id: id });
  if (!data.found || !data.owned) throw new ForbiddenError('the conference belongs to another account', { conference_id: id });
  return { live: { ...data.conference, instance: hit.instance }, missing: gathered.missing };
}

/** The live instance, or 404 (not running) / 503 (its node is down). */
export function requireRunning(ctx: ApiContext, conf: ResolvedConference): LiveConference {
  if (!conf.live) throw new ConferenceNotFoundError(conf.id, { reason: 'the conference is not running' });
  // Another instance's conference: that instance answers for its node.
  if (conf.live.instance === undefined && !ctx.deps.nodeUp(conf.live.node)) throw new NodeDownError(conf.live.node, { conference: conf.id });
  return conf.live;
}

/** Runs a command on a resolved conference: here, or forwarded to the instance serving it (its reply mirrored). */
export function executeOn(ctx: ApiContext, conf: ResolvedConference, account: string, command: ConferenceCommand): Promise<CommandResult> {
  if (conf.live?.instance !== undefined && ctx.deps.cluster) return ctx.deps.cluster.execute(command, account);
  return ctx.deps.executor.execute(command);
}
