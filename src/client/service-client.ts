/**
 * The operator commands' view of a running confmgr: its Kazoo-style REST API over HTTP.
 * Unwraps the `{ data, status }` envelope and turns error envelopes into ServiceError (keeping the code).
 */
import { ServiceError, ServiceUnreachableError } from './errors.js';

/** A list the service gathered from every instance (the cluster view): partial when some did not answer. */
export interface GatheredList {
  data: unknown;
  partial: boolean;
  /** The instances that did not answer in time. */
  missing: string[];
}

export interface ServiceClientOptions {
  /** Base URL, e.g. http://127.0.0.1:8000 */
  url: string;
  token?: string;
  accountId: string;
  timeoutMs?: number;
}

export class ServiceClient {
  private readonly base: string;

  constructor(private readonly options: ServiceClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  private accountPath(path: string): string {
    return `/v2/accounts/${encodeURIComponent(this.options.accountId)}${path}`;
  }

  listConferences(): Promise<unknown> {
    return this.request('GET', this.accountPath('/conferences'));
  }

  /** The conferences list with whether every instance answered. */
  async listConferencesGathered(): Promise<GatheredList> {
    return gathered(await this.requestEnvelope('GET', this.accountPath('/conferences')));
  }

  /** Every FreeSWITCH node of the cluster and the instances serving it (`GET /v2/nodes`). */
  async listNodes(): Promise<GatheredList> {
    return gathered(await this.requestEnvelope('GET', '/v2/nodes'));
  }

  getConference(conference: string): Promise<unknown> {
    return this.request('GET', this.accountPath(`/conferences/${encodeURIComponent(conference)}`));
  }

  listParticipants(conference: string): Promise<unknown> {
    return this.request('GET', this.accountPath(`/conferences/${encodeURIComponent(conference)}/participants`));
  }

  /** lock / unlock */
  conferenceAction(conference: string, action: string): Promise<unknown> {
    return this.request('PUT', this.accountPath(`/conferences/${encodeURIComponent(conference)}`), { data: { action } });
  }

  /**
   * mute/unmute/deaf/undeaf/kick of many participants: by default everyone except moderators (Kazoo's
   * participants action); `target: 'all'` includes the moderators.
   */
  participantsAction(conference: string, action: string, target?: 'all' | 'non_moderator'): Promise<unknown> {
    const data = target === undefined ? { action } : { action, target };
    return this.request('PUT', this.accountPath(`/conferences/${encodeURIComponent(conference)}/participants`), { data });
  }

  participantAction(conference: string, participant: number, action: string): Promise<unknown> {
    return this.request(
      'PUT',
      this.accountPath(`/conferences/${encodeURIComponent(conference)}/participants/${participant}`),
      { data: { action } },
    );
  }

  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const env = await this.requestEnvelope(method, path, body);
    return 'data' in env ? env.data : env.json;
  }

  /** The whole response envelope (`json`: the body as parsed, when it is not an envelope). */
  async requestEnvelope(method: string, path: string, body?: unknown): Promise<Record<string, unknown> & { json?: unknown }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.token) headers['x-auth-token'] = this.options.token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      const reason = (err as Error).name === 'TimeoutError' ? 'no answer in time' : (cause?.code ?? (err as Error).message);
      throw new ServiceUnreachableError(this.base, reason);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    const env = (json ?? {}) as Record<string, unknown>;
    if (!res.ok || env.status === 'error') {
      throw errorFromEnvelope(res.status, env, text);
    }
    return 'data' in env ? env : { json };
  }
}

function gathered(env: Record<string, unknown>): GatheredList {
  const missing = Array.isArray(env.missing_instances) ? env.missing_instances.filter((m): m is string => typeof m === 'string') : [];
  return { data: env.data, partial: env.partial === true, missing };
}

function errorFromEnvelope(status: number, env: Record<string, unknown>, text: string): ServiceError {
  const data = (env.data ?? {}) as Record<string, unknown>;
  const code =
    (typeof data.code === 'string' && data.code) ||
    (typeof env.code === 'string' && env.code) ||
    (status === 401 ? 'UNAUTHORIZED' : status === 404 ? 'NOT_FOUND' : `HTTP_${status}`);
  const message =
    (typeof data.message === 'string' && data.message) ||
    (typeof env.message === 'string' && env.message) ||
    (text.slice(0, 200) || `HTTP ${status}`);
  return new ServiceError(status, code, message);
}
