/**
 * X-Auth-Token → account. Tokens come from the config, each bound to one account. Comparison is
 * constant-time over SHA-256 digests so neither content nor length leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ForbiddenError, UnauthorizedError } from './errors.js';
import type { ApiToken } from '../records/index.js';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export class TokenAuthenticator {
  private readonly entries: Array<{ digest: Buffer; accountId: string }>;

  constructor(tokens: readonly ApiToken[]) {
    this.entries = tokens.filter((t) => t.token.length > 0).map((t) => ({ digest: digest(t.token), accountId: t.account_id }));
  }

  /** The account of `token`; throws UnauthorizedError when absent or unknown. */
  authenticate(token: unknown): string {
    if (typeof token !== 'string' || token.length === 0) throw new UnauthorizedError('missing X-Auth-Token');
    const d = digest(token);
    let found: string | undefined;
    for (const e of this.entries) {
      if (timingSafeEqual(e.digest, d) && found === undefined) found = e.accountId;
    }
    if (found === undefined) throw new UnauthorizedError('invalid X-Auth-Token');
    return found;
  }
}

/** 403 unless the authenticated account is the one in the path. */
export function requireAccount(authenticated: string, requested: string): void {
  if (authenticated !== requested) throw new ForbiddenError('the token does not give access to this account', { account_id: requested });
}
