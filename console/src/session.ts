/**
 * The API token, kept for this browser tab only (sessionStorage): it survives a reload, is gone when
 * the tab closes, and is never put into a URL or a cookie.
 */
const KEY = 'confmgr.console.token';

export function savedToken(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) ?? undefined;
  } catch {
    return undefined; // storage disabled: the operator signs in again after a reload
  }
}

export function saveToken(token: string): void {
  try {
    sessionStorage.setItem(KEY, token);
  } catch {
    // storage disabled: the session lasts as long as the page
  }
}

export function forgetToken(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing stored
  }
}
