// What an HTTP status says when the body names nothing more specific. The same for every provider that speaks plain
// HTTP statuses (fal, OpenAI-compatible, ComfyUI): each classifier picks out its own codes first, then falls here.
import { type HttpJsonResponse, retryAfterMs, snippet } from './http';
import { authFailed, invalidRequest, type ProviderError, rateLimited, transient } from './types';

/** `message` defaults to the status and the start of the body; `code` is the provider's own, when it gave one. */
export function statusError(res: HttpJsonResponse, message?: string, code?: string): ProviderError {
  const msg = message ?? `HTTP ${res.status}: ${snippet(res.text)}`;
  const d = { code, httpStatus: res.status, retryAfterMs: retryAfterMs(res.headers) };
  if (res.status === 429) return rateLimited(msg, d);
  if (res.status === 401 || res.status === 403) return authFailed(msg, d);
  // 408 Request Timeout: the request may go again as it is.
  if (res.status === 408 || res.status >= 500 || res.status < 400) return transient(msg, d);
  return invalidRequest(msg, d);
}

/** A 2xx whose body is not a JSON object: cut off or from something that is not the provider. */
export function notJsonObject(res: HttpJsonResponse): ProviderError | undefined {
  const body = res.json;
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) return undefined;
  return transient(`HTTP ${res.status}, body is not a JSON object: ${snippet(res.text)}`, { httpStatus: res.status });
}

export const isSuccess = (res: HttpJsonResponse) => res.status >= 200 && res.status < 300;
