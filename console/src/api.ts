/**
 * confmgr's REST API (src/api/README.md) as the console uses it: Kazoo's envelope, X-Auth-Token,
 * typed errors with the API's own `code` and message. URLs are relative to the page (served at
 * `<root>/console/`), so the console works behind a proxy that adds a path prefix.
 */
import type { ApiConference, ApiConferenceListEntry, ConferenceAction, ParticipantAction } from './types.js';

/** A refused or failed request: the HTTP status (0: no answer), the API's error code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** "Member 7 not found in conference demo [MEMBER_NOT_FOUND]" */
  describe(): string {
    return `${this.message} [${this.code}]`;
  }
}

export interface ApiResult<T> {
  data: T;
  status: number;
  requestId: string | undefined;
}

type Envelope = { status?: unknown; data?: unknown; message?: unknown; error?: unknown; request_id?: unknown };

function errorFrom(status: number, body: Envelope | undefined, requestId: string | undefined): ApiError {
  const data = (typeof body?.data === 'object' && body.data !== null ? body.data : {}) as Record<string, unknown>;
  let code = typeof data.code === 'string' ? data.code : undefined;
  let message = typeof data.message === 'string' ? data.message : typeof body?.message === 'string' ? body.message : undefined;
  if (code === undefined && status === 400) {
    // A validation error: data is {"<field>": {"<rule>": {"message"}}}.
    const [field, rules] = Object.entries(data)[0] ?? [];
    const first = rules && typeof rules === 'object' ? (Object.values(rules)[0] as { message?: unknown } | undefined) : undefined;
    code = 'VALIDATION_FAILED';
    if (field !== undefined && typeof first?.message === 'string') message = `${field}: ${first.message}`;
  }
  return new ApiError(status, code ?? `HTTP_${status}`, message ?? `HTTP ${status}`, requestId);
}

export class ApiClient {
  private readonly base: URL;

  constructor(
    readonly token: string,
    readonly account: string,
    pageUrl: string,
    private readonly fetchFn: typeof fetch = (...args) => fetch(...args),
  ) {
    this.base = new URL(`../v2/accounts/${encodeURIComponent(account)}/`, pageUrl);
  }

  async request<T>(method: 'GET' | 'PUT', path: string, body?: unknown): Promise<ApiResult<T>> {
    const headers: Record<string, string> = { 'x-auth-token': this.token, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchFn(new URL(path, this.base), {
        method,
        headers,
        credentials: 'omit',
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new ApiError(0, 'NETWORK', `confmgr did not answer (${(err as Error).message})`);
    }
    const requestId = res.headers.get('x-request-id') ?? undefined;
    let parsed: Envelope | undefined;
    try {
      parsed = (await res.json()) as Envelope;
    } catch {
      parsed = undefined;
    }
    if (!res.ok || parsed?.status !== 'success') throw errorFrom(res.status, parsed, requestId);
    return { data: parsed.data as T, status: res.status, requestId };
  }

  conferences(): Promise<ApiResult<ApiConferenceListEntry[]>> {
    return this.request('GET', 'conferences');
  }

  conference(id: string): Promise<ApiResult<ApiConference>> {
    return this.request('GET', `conferences/${encodeURIComponent(id)}`);
  }

  participantAction(conference: string, member: number, action: ParticipantAction): Promise<ApiResult<Record<string, unknown>>> {
    return this.request('PUT', `conferences/${encodeURIComponent(conference)}/participants/${member}`, { data: { action } });
  }

  /** mute/unmute/deaf/undeaf of every participant without the moderator flag. */
  nonModeratorsAction(conference: string, action: ParticipantAction): Promise<ApiResult<Record<string, unknown>>> {
    return this.request('PUT', `conferences/${encodeURIComponent(conference)}/participants`, { data: { action, target: 'non_moderator' } });
  }

  conferenceAction(conference: string, action: ConferenceAction): Promise<ApiResult<Record<string, unknown>>> {
    return this.request('PUT', `conferences/${encodeURIComponent(conference)}`, { data: { action } });
  }
}
