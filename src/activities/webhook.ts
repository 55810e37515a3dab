// The `--webhook` delivery: a POST of the summary JSON (or of an image's event, `--webhook-events image`), signed with the worker's IMAGEBATCH_WEBHOOK_SECRET when it has
// one, and what each answer means for a retry. HTTP cannot deliver exactly once: a receiver that answered but whose
// answer was lost (a worker killed mid-request) gets the POST again, with the same X-Imagebatch-Delivery id.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { WebhookEvent } from '../shared/batch-types';

const DELIVERY_HEADER = 'X-Imagebatch-Delivery';
const SIGNATURE_HEADER = 'X-Imagebatch-Signature';
/** What the body is: `batch` (the summary) or `image` (one image's event). */
const EVENT_HEADER = 'X-Imagebatch-Event';
export const SECRET_VAR = 'IMAGEBATCH_WEBHOOK_SECRET';

/** `sha256=<hex HMAC-SHA256 of the body bytes under the secret>`, as GitHub's webhooks sign. */
export function signBody(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** What a receiver does: recompute the signature over the raw body and compare in constant time. */
export function verifySignature(body: string | Buffer, header: string | undefined, secret: string): boolean {
  if (!header) return false;
  const want = Buffer.from(signBody(body, secret));
  const got = Buffer.from(header);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** The request's headers (the signature only when there is a secret). */
export function webhookHeaders(
  body: string,
  deliveryId: string,
  secret: string | undefined,
  event: WebhookEvent = 'batch',
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'imagebatch',
    [DELIVERY_HEADER]: deliveryId,
    [EVENT_HEADER]: event,
    ...(secret ? { [SIGNATURE_HEADER]: signBody(body, secret) } : {}),
  };
}

/**
 * What an answer means: `done` (2xx); `give up` (a 4xx other than 408 and 429: the receiver refuses this request and
 * will refuse it again; a redirect, which a POST should not follow: give the final URL); else `retry`, after
 * Retry-After when the receiver says.
 */
export function judgeAnswer(
  status: number,
  retryAfter: string | null,
): { kind: 'done' } | { kind: 'give up'; why: string } | { kind: 'retry'; why: string; afterMs?: number } {
  if (status >= 200 && status < 300) return { kind: 'done' };
  if (status >= 300 && status < 400) return { kind: 'give up', why: `HTTP ${status} (a redirect is not followed)` };
  if (status >= 400 && status < 500 && status !== 408 && status !== 429)
    return { kind: 'give up', why: `HTTP ${status}` };
  const seconds = retryAfter && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) : undefined;
  return { kind: 'retry', why: `HTTP ${status}`, ...(seconds !== undefined ? { afterMs: seconds * 1000 } : {}) };
}
