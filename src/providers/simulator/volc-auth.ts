// The simulator's own check of Volcengine V4 signatures, written apart from the client's signer so that a
// signer bug is caught rather than mirrored. It rebuilds the canonical request from what arrived on the wire.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export type AuthVerdict = { ok: true } | { ok: false; codeN: number; code: string; message: string; status: number };

const MAX_SKEW_MS = 15 * 60 * 1000;

function encodeRfc3986(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function parseXDate(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : undefined;
}

export function verifyVolcSignature(
  method: string,
  rawUrl: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
  keys: { accessKey: string; secretKey: string },
  now = Date.now(),
): AuthVerdict {
  const deny = (codeN: number, code: string, message: string, status = 401): AuthVerdict => ({
    ok: false,
    codeN,
    code,
    message,
    status,
  });
  const auth = String(headers.authorization ?? '');
  const m =
    /^HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return deny(100010, 'SignatureDoesNotMatch', 'missing or malformed Authorization');
  const [, ak, shortDate, region, service, signedHeaders, signature] = m;
  if (ak !== keys.accessKey) return deny(100009, 'InvalidAccessKey', `access key ${ak} is not valid`);
  const xdate = String(headers['x-date'] ?? '');
  const t = parseXDate(xdate);
  if (t === undefined || !xdate.startsWith(shortDate)) return deny(100006, 'InvalidTimestamp', 'bad X-Date', 400);
  if (Math.abs(now - t) > MAX_SKEW_MS)
    return deny(100006, 'InvalidTimestamp', 'X-Date is outside the 15 min window', 400);
  const bodyHash = createHash('sha256').update(body).digest('hex');
  if (headers['x-content-sha256'] && headers['x-content-sha256'] !== bodyHash) {
    return deny(100010, 'SignatureDoesNotMatch', 'X-Content-Sha256 does not match the body');
  }
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-date')) {
    return deny(100010, 'SignatureDoesNotMatch', 'host and x-date must be signed');
  }
  const url = new URL(rawUrl, 'http://placeholder');
  const pairs: [string, string][] = [];
  url.searchParams.forEach((v, k) => pairs.push([encodeRfc3986(k), encodeRfc3986(v)]));
  pairs.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
  const lines = [
    method,
    url.pathname || '/',
    pairs.map((p) => p.join('=')).join('&'),
    names.map((n) => `${n}:${String(headers[n] ?? '').trim()}\n`).join(''),
    signedHeaders,
    bodyHash,
  ];
  const scope = `${shortDate}/${region}/${service}/request`;
  const toSign = `HMAC-SHA256\n${xdate}\n${scope}\n${createHash('sha256').update(lines.join('\n')).digest('hex')}`;
  let key: Buffer = Buffer.from(keys.secretKey, 'utf8');
  for (const part of [shortDate, region, service, 'request']) key = createHmac('sha256', key).update(part).digest();
  const expected = createHmac('sha256', key).update(toSign).digest();
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return deny(
      100010,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided.',
    );
  }
  return { ok: true };
}
