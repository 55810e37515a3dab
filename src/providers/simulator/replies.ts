// JSON replies and the two providers' envelopes, shared by their routes and by the fault injector.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(text);
}

export function volcOk(data: unknown) {
  return { code: 10000, data, message: 'Success', request_id: randomUUID(), status: 10000, time_elapsed: '1ms' };
}

export function volcErr(code: number, message: string) {
  return { code, data: null, message, request_id: randomUUID(), status: code, time_elapsed: '1ms' };
}

/** A Volcengine task status with no image. */
export function volcStatus(status: string) {
  return volcOk({ status, binary_data_base64: null, image_urls: null });
}

export const VOLC_CONCURRENT_LIMIT = 'Request Has Reached API Concurrent Limit, Please Try Later';

export function dashscopeErr(code: string, message: string, requestId: string) {
  return { code, message, request_id: requestId };
}

/** DashScope's answer to both rate and concurrency limits. */
export function dashscopeThrottled(requestId: string) {
  return dashscopeErr('Throttling.RateQuota', 'Requests rate limit exceeded, please try again later.', requestId);
}
