// Volcengine OpenAPI "HMAC-SHA256" V4 request signing (docs 6369/67269). Like AWS SigV4 but with no "AWS4"
// key prefix and the scope terminator "request". The secret key is used as is, never base64-decoded.
import { createHash, createHmac } from 'node:crypto';

export interface SignInput {
  method: string;
  path?: string;
  query: Record<string, string>;
  /** Headers to send; Host and Content-Type are signed, and every X-* header. */
  headers: Record<string, string>;
  body: string | Buffer;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
  service?: string;
  date?: Date;
}

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986: only A-Z a-z 0-9 - _ . ~ stay unescaped. */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function xDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

export function canonicalQuery(query: Record<string, string>): string {
  return Object.keys(query)
    .sort()
    .map((k) => `${uriEncode(k)}=${uriEncode(query[k])}`)
    .join('&');
}

export interface Signed {
  headers: Record<string, string>;
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
}

export function signRequest(input: SignInput): Signed {
  const region = input.region ?? 'cn-north-1';
  const service = input.service ?? 'cv';
  const date = xDate(input.date ?? new Date());
  const shortDate = date.slice(0, 8);
  const bodyHash = sha256Hex(input.body);
  const headers: Record<string, string> = { ...input.headers, 'X-Date': date, 'X-Content-Sha256': bodyHash };

  const toSign = Object.keys(headers)
    .filter((h) => /^(host|content-type|x-.*)$/i.test(h))
    .map((h) => [h.toLowerCase(), headers[h].trim()] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const signedHeaders = toSign.map(([h]) => h).join(';');
  const canonicalHeaders = toSign.map(([h, v]) => `${h}:${v}\n`).join('');
  const canonicalRequest = [
    input.method.toUpperCase(),
    input.path ?? '/',
    canonicalQuery(input.query),
    canonicalHeaders,
    signedHeaders,
    bodyHash,
  ].join('\n');
  const scope = `${shortDate}/${region}/${service}/request`;
  const stringToSign = ['HMAC-SHA256', date, scope, sha256Hex(canonicalRequest)].join('\n');
  const kDate = hmac(input.secretAccessKey, shortDate);
  const kSigning = hmac(hmac(hmac(kDate, region), service), 'request');
  const signature = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex');
  headers.Authorization = `HMAC-SHA256 Credential=${input.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { headers, canonicalRequest, stringToSign, signature };
}
