// Credentials out of text that leaves the worker: a provider may echo the request's Authorization header or the key
// itself in its error, and that text becomes a failure message (history, manifest, results log, gallery).
import { DASHSCOPE_ENV } from './dashscope/env';
import { FAL_ENV } from './fal/env';
import { OPENAI_ENV } from './openai/env';
import { VOLCENGINE_ENV } from './volcengine/env';

export const REDACTED = '[redacted]';

/** The providers' credentials (ComfyUI's is its URL: an address, not a secret; a password in it is a pattern below). */
const CREDENTIAL_VARS: readonly string[] = [
  ...[VOLCENGINE_ENV, DASHSCOPE_ENV, FAL_ENV, OPENAI_ENV].flatMap((e) => Object.values(e.credentials)),
  'IMAGEBATCH_WEBHOOK_SECRET',
];

/** Any other variable of the worker whose name says it is a secret (AWS_SECRET_ACCESS_KEY, TEMPORAL_API_KEY, ...). */
const SECRET_NAME = /SECRET|TOKEN|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL/i;
/** Shorter values are not searched for: they would match ordinary words. */
const MIN_SECRET_CHARS = 6;

/** What is a credential however it got into the text: the header schemes and the key=value names of signed requests. */
const PATTERNS: [RegExp, string][] = [
  // "Authorization: <scheme> <credential>" (the scheme too: it may be a key itself), and the key headers.
  [
    /\b(authorization|x-api-key|api-key|x-goog-api-key)(["']?\s*[:=]\s*["']?)(?:[A-Za-z][\w-]*\s+)?[^\s"',;}]+/gi,
    `$1$2${REDACTED}`,
  ],
  [/\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=:-]{6,}/g, `$1 ${REDACTED}`],
  // fal's scheme: "Key <id>:<secret>"; long enough not to be the word "key" in a sentence.
  [/\bKey\s+[A-Za-z0-9._~+/=:-]{16,}/g, `Key ${REDACTED}`],
  [/\bsk-[A-Za-z0-9_-]{6,}/g, `sk-${REDACTED}`],
  // Signed requests (Volcengine's HMAC, AWS-style query signing) and keys sent as fields.
  [
    /\b(AccessKey(?:Id)?|SecretKey|Signature|Credential|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|api_?key|access_token|secret)(["']?\s*[=:]\s*["']?)[^\s"'&,;}]+/gi,
    `$1$2${REDACTED}`,
  ],
  // A password in a URL: scheme://user:password@host
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi, `$1${REDACTED}@`],
];

/** The values to search for: each credential the worker holds (its environment), longest first. */
function secretValues(env: NodeJS.ProcessEnv): string[] {
  const names = Object.keys(env).filter((n) => CREDENTIAL_VARS.includes(n) || SECRET_NAME.test(n));
  const values = names.map((n) => env[n] ?? '').filter((v) => v.length >= MIN_SECRET_CHARS);
  // Also as a URL or JSON would carry them.
  const forms = values.flatMap((v) => [v, encodeURIComponent(v), JSON.stringify(v).slice(1, -1)]);
  return [...new Set(forms)].sort((a, b) => b.length - a.length);
}

/** `text` with every credential the worker holds, and everything shaped like one, replaced by [redacted]. */
export function redactSecrets(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text;
  for (const v of secretValues(env)) out = out.split(v).join(REDACTED);
  for (const [re, to] of PATTERNS) out = out.replace(re, to);
  return out;
}
