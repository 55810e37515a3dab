// fal.ai error bodies to provider error classes (reference/providers.md sections 4 and 7). Model errors carry
// `detail: [{loc, msg, type}]`; request errors (timeouts, runner failures) a string `detail` and an `error_type`.
import { type HttpJsonResponse } from '../http';
import { isSuccess, notJsonObject, statusError } from '../http-errors';
import { contentRejected, type ProviderError, taskFailed, taskGone } from '../types';

interface FalDetail {
  type?: string;
  msg?: string;
}

interface FalErrorBody {
  detail?: string | FalDetail[];
  error_type?: string;
}

export const FAL_POLICY_VIOLATION = 'content_policy_violation';

function body(res: HttpJsonResponse): FalErrorBody {
  return res.json !== null && typeof res.json === 'object' ? (res.json as FalErrorBody) : {};
}

function describe(b: FalErrorBody): string | undefined {
  if (typeof b.detail === 'string') return b.detail;
  if (Array.isArray(b.detail)) return b.detail.map((d) => `${d.type ?? 'error'}: ${d.msg ?? ''}`).join('; ');
  return undefined;
}

/** The error in an answer of the queue (submit, status, cancel), or undefined for a 2xx JSON object. */
export function falHttpError(res: HttpJsonResponse): ProviderError | undefined {
  if (isSuccess(res)) return notJsonObject(res);
  const b = body(res);
  const text = describe(b);
  const message = text === undefined ? undefined : `HTTP ${res.status}: ${text}`;
  const policy = Array.isArray(b.detail) && b.detail.some((d) => d.type === FAL_POLICY_VIOLATION);
  if (policy) return contentRejected(message ?? FAL_POLICY_VIOLATION, { code: FAL_POLICY_VIOLATION, httpStatus: 422 });
  return statusError(res, message, b.error_type);
}

/**
 * The error in the result of a COMPLETED request. That result is final: a runner failure reported there (a 5xx with
 * fal's `error_type`) will not change on a second look, so it fails the task; a 5xx without one is the gateway, and
 * looking again may help. A result fal no longer has is a task gone.
 */
export function falResultError(res: HttpJsonResponse): ProviderError | undefined {
  const err = falHttpError(res);
  if (!err) return undefined;
  if (res.status === 404) return taskGone(err.message, err.details);
  if (res.status >= 500 && body(res).error_type) return taskFailed(err.message, err.details);
  return err;
}
