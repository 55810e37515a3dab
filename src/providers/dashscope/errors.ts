// DashScope error codes to provider error classes (reference/providers.md 3.3).
import { snippet, type HttpJsonResponse, retryAfterMs } from '../http';
import { authFailed, contentRejected, invalidRequest, type ProviderError, rateLimited, transient } from '../types';

const MODERATION = new Set(['DataInspectionFailed', 'IPInfringementSuspect', 'CustomRoleBlocked', 'FaqRuleBlocked']);
const RETRYABLE_LIMITS = new Set(['Throttling', 'Throttling.RateQuota', 'Throttling.BurstRate', 'LimitRequests']);
/** Account state: retrying cannot help. */
const ACCOUNT = new Set([
  'Throttling.AllocationQuota',
  'PrepaidBillOverdue',
  'PostpaidBillOverdue',
  'CommodityNotPurchased',
  'Arrearage',
  'InvalidApiKey',
]);
const TRANSIENT = new Set([
  'RequestTimeOut',
  'InternalError',
  'InternalError.Algo',
  'InternalError.Timeout',
  'SystemError',
  'ModelUnavailable',
]);

export function dashscopeCodeError(
  code: string,
  message: string,
  httpStatus?: number,
  retryAfter?: number,
): ProviderError {
  const msg = `${code}: ${message}`;
  const d = { code, httpStatus, retryAfterMs: retryAfter };
  if (MODERATION.has(code)) return contentRejected(msg, d);
  if (RETRYABLE_LIMITS.has(code)) return rateLimited(msg, d);
  if (ACCOUNT.has(code) || code.startsWith('AccessDenied') || code.endsWith('.AccessDenied')) return authFailed(msg, d);
  if (TRANSIENT.has(code) || (httpStatus !== undefined && httpStatus >= 500)) return transient(msg, d);
  if (httpStatus === 429) return rateLimited(msg, d);
  return invalidRequest(msg, d);
}

/** The error in a non-2xx response (or a 2xx without JSON). */
export function dashscopeHttpError(res: HttpJsonResponse): ProviderError | undefined {
  const body = res.json as { code?: string; message?: string } | undefined;
  const retry = retryAfterMs(res.headers);
  if (body && typeof body === 'object' && typeof body.code === 'string' && body.code) {
    return dashscopeCodeError(body.code, body.message ?? '', res.status, retry);
  }
  if (res.status >= 200 && res.status < 300) {
    return body && typeof body === 'object'
      ? undefined
      : transient(`HTTP ${res.status}, body is not JSON: ${snippet(res.text)}`);
  }
  const d = { httpStatus: res.status, retryAfterMs: retry };
  if (res.status === 429) return rateLimited(`HTTP 429: ${snippet(res.text)}`, d);
  if (res.status === 401 || res.status === 403) return authFailed(`HTTP ${res.status}: ${snippet(res.text)}`, d);
  if (res.status >= 400 && res.status < 500) return invalidRequest(`HTTP ${res.status}: ${snippet(res.text)}`, d);
  return transient(`HTTP ${res.status}: ${snippet(res.text)}`, d);
}
