/**
 * /conferencecalls — VoIPbin's conferencecall records, bodies in VoIPbin's exact format:
 * a record is returned bare; a list is `{"result": [...], "next_page_token": "..."}` (VoIPbin's list
 * shape). Pagination: newest first; `page_size` 1..100 (default 10); `page_token` is the `tm_create`
 * of the last record of the previous page; `next_page_token` is "" when there is no further page.
 * Filters: `conference_id`, `status`. The token's account is the customer (`customer_id`).
 * Errors use the same envelope as the rest of the API.
 */
import type { FastifyInstance } from 'fastify';
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import { CONFERENCECALL_STATUSES, toRecord } from '../../records/index.js';
import { checkConferenceId } from '../../records/index.js';
import { requestAccount, type ApiContext } from '../context.js';
import { requireOneOf } from '../one-of.js';
import { errors, ref, type RouteSchema } from '../schemas.js';

type ListQuery = { page_size?: string; page_token?: string; conference_id?: string; status?: string };

const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/;

function parsePageSize(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 10;
  if (!/^\d{1,3}$/.test(raw) || Number(raw) < 1 || Number(raw) > 100) {
    throw ValidationError.field('page_size', 'range', 'Must be an integer from 1 to 100', { min: 1, max: 100 });
  }
  return Number(raw);
}

const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: { type: 'string', description: 'The conferencecall id' } } };
const TAGS = ['conferencecalls'];

const SCHEMAS = {
  list: {
    summary: "The account's conferencecall records, newest first",
    tags: TAGS,
    querystring: {
      type: 'object',
      properties: {
        page_size: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
        page_token: { type: 'string', pattern: TIMESTAMP_RE.source, description: 'The previous page\'s next_page_token (a tm_create)' },
        conference_id: { type: 'string', description: 'Only the calls of this conference (name)' },
        status: { type: 'string', enum: [...CONFERENCECALL_STATUSES] },
      },
    },
    response: {
      200: {
        description: "VoIPbin's list: the records and the token of the next page (\"\" when there is none)",
        type: 'object',
        required: ['result', 'next_page_token'],
        properties: { result: { type: 'array', items: ref('Conferencecall') }, next_page_token: { type: 'string' } },
        additionalProperties: false,
      },
      ...errors(400, 401),
    },
  },
  get: {
    summary: 'One conferencecall record',
    tags: TAGS,
    params: ID_PARAMS,
    response: { 200: { description: 'The record', ...ref('Conferencecall') }, ...errors(401, 403, 404) },
  },
  leave: {
    summary: 'Make the call leave its conference (the record moves to leaving)',
    tags: TAGS,
    params: ID_PARAMS,
    response: { 200: { description: 'The record', ...ref('Conferencecall') }, ...errors(401, 403, 404, 409, 502, 503, 504) },
  },
} satisfies Record<string, RouteSchema>;

export function conferencecallRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const store = ctx.deps.storage.conferencecalls;

  async function owned(account: string, id: string) {
    const row = await store.get(id);
    if (!row) throw new NotFoundError('conferencecall', id);
    if (row.customer_id !== account) throw new ForbiddenError('the conferencecall belongs to another account', { id });
    return row;
  }

  app.get<{ Querystring: ListQuery }>('/conferencecalls', { schema: SCHEMAS.list }, async (request) => {
    const account = requestAccount(request);
    const q = request.query;
    const pageSize = parsePageSize(q.page_size);
    if (q.page_token !== undefined && q.page_token !== '' && !TIMESTAMP_RE.test(q.page_token)) {
      throw ValidationError.field('page_token', 'pattern', 'Must be a tm_create timestamp (YYYY-MM-DD HH:MM:SS.ffffff)');
    }
    const status = q.status === undefined ? undefined : requireOneOf('status', q.status, CONFERENCECALL_STATUSES);
    const rows = await store.list({
      customerId: account,
      pageSize,
      ...(q.page_token ? { pageToken: q.page_token } : {}),
      ...(q.conference_id !== undefined ? { conferenceId: checkConferenceId(q.conference_id) } : {}),
      ...(status !== undefined ? { status } : {}),
    });
    const last = rows[rows.length - 1];
    return { result: rows.map(toRecord), next_page_token: rows.length === pageSize && last ? last.tm_create : '' };
  });

  app.get<{ Params: { id: string } }>('/conferencecalls/:id', { schema: SCHEMAS.get }, async (request) => {
    return toRecord(await owned(requestAccount(request), request.params.id));
  });

  app.delete<{ Params: { id: string } }>('/conferencecalls/:id', { schema: SCHEMAS.leave }, async (request) => {
    const row = await owned(requestAccount(request), request.params.id);
    return toRecord(await ctx.tracker.requestLeave(row));
  });
}
