/**
 * What every route handler shares, built once by registerApi, plus the lookups that decide
 * 403 vs 404 for a conference id.
 */
import type { FastifyRequest } from 'fastify';
import type { Logger } from '../util/index.js';
import { ConferenceNotFoundError, NodeDownError } from '../conference/index.js';
import type { StoredConferenceDocument } from '../storage/index.js';
import type { ApiDeps, LiveConference } from '../records/index.js';
import type { ConferenceDocuments } from '../records/index.js';
import type { ConferencecallTracker } from '../records/index.js';
import { requireAccount, type TokenAuthenticator } from './auth.js';
import { conferenceOwner, type ConferenceAttributions } from '../records/index.js';
import { ConferenceUnattributedError, ForbiddenError, NotFoundError, UnauthorizedError } from './errors.js';
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
  const live = ctx.deps.registry.conference(id);
  const owner = conferenceOwner({ documentAccount: doc?.accountId, live, defaultAccount: ctx.deps.defaultAccountId, attributions: ctx.attributions });
  if (owner === undefined) throw live ? new ConferenceUnattributedError(id) : new NotFoundError('conference', id);
  if (owner !== account) throw new ForbiddenError('the conference belongs to another account', { conference_id: id });
  const out: ResolvedConference = { id };
  if (doc) out.doc = doc;
  if (live) out.live = live;
  return out;
}

/** The live instance, or 404 (not running) / 503 (its node is down). */
export function requireRunning(ctx: ApiContext, conf: ResolvedConference): LiveConference {
  if (!conf.live) throw new ConferenceNotFoundError(conf.id, { reason: 'the conference is not running' });
  if (!ctx.deps.nodeUp(conf.live.node)) throw new NodeDownError(conf.live.node, { conference: conf.id });
  return conf.live;
}
