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

type ListQuery = { page_size?: string; page_token?: string; conference_id?: string; status?: string };

const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/;

function parsePageSize(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 10;
  if (!/^\d{1,3}$/.test(raw) || Number(raw) < 1 || Number(raw) > 100) {
    throw ValidationError.field('page_size', 'range', 'Must be an integer from 1 to 100', { min: 1, max: 100 });
  }
  return Number(raw);
}

export function conferencecallRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const store = ctx.deps.storage.conferencecalls;

  async function owned(account: string, id: string) {
    const row = await store.get(id);
    if (!row) throw new NotFoundError('conferencecall', id);
    if (row.customer_id !== account) throw new ForbiddenError('the conferencecall belongs to another account', { id });
    return row;
  }

  app.get<{ Querystring: ListQuery }>('/conferencecalls', async (request) => {
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

  app.get<{ Params: { id: string } }>('/conferencecalls/:id', async (request) => {
    return toRecord(await owned(requestAccount(request), request.params.id));
  });

  app.delete<{ Params: { id: string } }>('/conferencecalls/:id', async (request) => {
    const row = await owned(requestAccount(request), request.params.id);
    return toRecord(await ctx.tracker.requestLeave(row));
  });
}
