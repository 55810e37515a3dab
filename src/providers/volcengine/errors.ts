// Volcengine business codes and gateway errors to provider error classes (reference/providers.md 1.7).
import { snippet, type HttpJsonResponse, retryAfterMs } from '../http';
import {
  authFailed,
  contentRejected,
  invalidRequest,
  outputRejected,
  type ProviderError,
  rateLimited,
  transient,
} from '../types';

const CONTENT_REJECTED = new Set([50411, 50412, 50413, 50512, 50518]);
const OUTPUT_REJECTED_RETRYABLE = new Set([50511, 50519]);
const RATE_LIMITED = new Set([50429, 50430]);
const TRANSIENT = new Set([50500, 50501, 50520, 50521, 50522]);
const GATEWAY_AUTH = new Set([100009, 100010, 100013, 100006]);

interface GatewayError {
  ResponseMetadata?: { Error?: { CodeN?: number; Code?: string; Message?: string } };
}
interface Business {
  code?: number;
  message?: string;
}

/** The error in a response, or undefined when it is a success (code 10000). */
export function volcengineError(res: HttpJsonResponse): ProviderError | undefined {
  const body = res.json as (GatewayError & Business) | undefined;
  const d = { httpStatus: res.status, retryAfterMs: retryAfterMs(res.headers) };
  if (body === undefined || typeof body !== 'object' || body === null) {
    if (res.status === 429) return rateLimited(`HTTP 429: ${snippet(res.text)}`, d);
    if (res.status >= 400 && res.status < 500) return invalidRequest(`HTTP ${res.status}: ${snippet(res.text)}`, d);
    return transient(`HTTP ${res.status}, body is not JSON: ${snippet(res.text)}`, d);
  }
  const gw = body.ResponseMetadata?.Error;
  if (gw) {
    const code = gw.CodeN ?? gw.Code;
    const msg = `gateway ${gw.CodeN ?? ''} ${gw.Code ?? ''}: ${gw.Message ?? ''}`.replace(/\s+/g, ' ');
    if (typeof gw.CodeN === 'number' && GATEWAY_AUTH.has(gw.CodeN)) return authFailed(msg, { ...d, code });
    if (res.status === 429 || gw.Code === 'FlowLimitExceeded') return rateLimited(msg, { ...d, code });
    if (res.status >= 500 || gw.CodeN === 100014) return transient(msg, { ...d, code });
    if (res.status === 401 || res.status === 403) return authFailed(msg, { ...d, code });
    return invalidRequest(msg, { ...d, code });
  }
  const code = body.code;
  if (code === 10000) return undefined;
  const msg = `code ${code}: ${body.message ?? ''}`;
  const dc = { ...d, code };
  if (typeof code !== 'number') {
    return res.status >= 500
      ? transient(`HTTP ${res.status}: ${snippet(res.text)}`, d)
      : transient(`no code: ${snippet(res.text)}`, d);
  }
  if (CONTENT_REJECTED.has(code)) return contentRejected(msg, dc);
  if (OUTPUT_REJECTED_RETRYABLE.has(code)) return outputRejected(msg, dc);
  if (RATE_LIMITED.has(code)) return rateLimited(msg, dc);
  if (TRANSIENT.has(code) || res.status >= 500) return transient(msg, dc);
  if (code === 50400 || res.status === 401 || res.status === 403) return authFailed(msg, dc);
  return invalidRequest(msg, dc);
}
