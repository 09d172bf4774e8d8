/**
 * What a button shows about the command it sent: nothing yet, waiting for confmgr, its answer, or
 * the API's error. Success is shown only once the API answered.
 */
import { ApiError, type ApiResult } from '../api.js';

export type ActionStatus =
  | { state: 'pending'; action: string; text: string }
  | { state: 'ok'; action: string; text: string; requestId: string | undefined }
  | { state: 'error'; action: string; text: string; error: ApiError };

export function pending(action: string, what: string): ActionStatus {
  return { state: 'pending', action, text: `${what}: waiting for confmgr…` };
}

export function answered(action: string, what: string, result: ApiResult<unknown>): ActionStatus {
  return { state: 'ok', action, text: `✓ ${what}: OK (HTTP ${result.status})`, requestId: result.requestId };
}

export function failed(action: string, what: string, err: unknown): ActionStatus {
  const error = err instanceof ApiError ? err : new ApiError(0, 'CONSOLE', String((err as Error)?.message ?? err));
  const status = error.status > 0 ? `HTTP ${error.status} ` : '';
  return { state: 'error', action, text: `✗ ${what} failed: ${status}${error.describe()}`, error };
}
