// OpenAI-style error bodies, `{"error": {"code", "type", "message"}}`, to provider error classes. The same shape
// comes from Azure OpenAI and Volcengine Ark (reference/providers.md sections 2 and 7), so their codes are here too.
import { type HttpJsonResponse } from '../http';
import { isSuccess, notJsonObject, statusError } from '../http-errors';
import { authFailed, contentRejected, type ProviderError } from '../types';

interface OpenaiErrorBody {
  error?: { code?: unknown; type?: unknown; message?: unknown };
}

/** OpenAI's moderation codes; Ark's are `{Input,Output}{Text,Image}SensitiveContentDetected[...]`. */
const MODERATION = new Set(['moderation_blocked', 'content_policy_violation', 'content_filter']);
/** A 429 that waiting does not cure: the quota or the spending cap is used up. */
const ACCOUNT = new Set([
  'insufficient_quota',
  'billing_hard_limit_reached',
  'SetLimitExceeded',
  'AccountOverdueError',
]);

const text = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** The error in an answer, or undefined for a 2xx JSON object. */
export function openaiHttpError(res: HttpJsonResponse): ProviderError | undefined {
  if (isSuccess(res)) return notJsonObject(res);
  const e = (res.json as OpenaiErrorBody | undefined)?.error;
  const code = text(e?.code) ?? text(e?.type);
  const message = e ? `HTTP ${res.status}: ${code ?? 'error'}: ${text(e.message) ?? ''}` : undefined;
  const d = { code, httpStatus: res.status };
  if (code && (MODERATION.has(code) || code.includes('SensitiveContentDetected'))) {
    return contentRejected(message ?? code, d);
  }
  if (code && ACCOUNT.has(code)) return authFailed(message ?? code, d);
  return statusError(res, message, code);
}
