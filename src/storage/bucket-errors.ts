// A bucket's failures in words, the way local-storage.ts words a disk's: which ones heal by themselves (a busy or
// failing server: retryable), which mean the endpoint cannot be reached at all (unreachable), and which need a person
// (an unknown bucket, wrong credentials, a denied request). Only the error's code, status and host are used, never
// its message: a server's message may quote the request it refused.

export interface BucketFailure {
  reason: string;
  retryable: boolean;
  unreachable: boolean;
}

/** By the S3 error code (the XML `<Code>`, or the SDK's name for a bodiless answer such as HeadBucket's). */
const REFUSED: Record<string, string> = {
  NoSuchBucket: 'the bucket does not exist',
  NotFound: 'the bucket does not exist',
  AccessDenied: 'access denied (the credentials are not allowed this bucket)',
  Forbidden: 'access denied (wrong credentials, or not allowed this bucket)',
  AllAccessDisabled: 'access denied (all access to the bucket is disabled)',
  InvalidAccessKeyId: 'wrong credentials (the access key id is not known to the server)',
  // versitygw's answer to an unknown access key (404, where AWS answers 403 InvalidAccessKeyId).
  XAdminUserNotFound: 'wrong credentials (the access key id is not known to the server)',
  SignatureDoesNotMatch: 'wrong credentials (the secret key does not match the access key id)',
  InvalidToken: 'wrong credentials (the session token is not valid)',
  ExpiredToken: 'wrong credentials (the session token has expired)',
  TokenRefreshRequired: 'wrong credentials (the session token has expired)',
  AuthorizationHeaderMalformed: 'the request was refused: wrong region for this bucket (AWS_REGION)',
  PermanentRedirect: 'the request was refused: the bucket is in another region or needs another endpoint',
  InvalidBucketName: 'the bucket name is not valid',
  RequestTimeTooSkewed: "this machine's clock is too far from the server's",
};

const BUSY = new Set([
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
]);

/** Socket-level failures: nothing answered. */
const NETWORK: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
  TimeoutError: 'timed out',
  RequestTimeoutError: 'timed out',
};

/** TLS failures: something answered, but not as the endpoint it claims to be. A person must fix them. */
const TLS = new Set([
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
]);

/** An object whose bytes do not match the sha256 stored with it (changed by hand, or cut short): a person must look. */
export class ChangedObject extends Error {
  name = 'ChangedObject';
  constructor(readonly url: string) {
    super(`${url} does not match the sha256 stored with it: it was changed or cut short`);
  }
}

interface SdkError {
  name?: string;
  code?: string;
  hostname?: string;
  message?: string;
  cause?: unknown;
  errors?: unknown[];
  $metadata?: { httpStatusCode?: number };
}

/** The bucket's failure in `err`, or undefined when `err` is not one (a bug, a bad argument). */
export function bucketFailure(err: unknown): BucketFailure | undefined {
  for (let e = err as SdkError | undefined, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const found = words(e);
    if (found) return found;
    e = (e.cause ?? e.errors?.[0]) as SdkError | undefined;
  }
  return undefined;
}

function words(e: SdkError): BucketFailure | undefined {
  // Our own words, naming the object: no server's text in them.
  if (e instanceof ChangedObject) return { reason: e.message, retryable: false, unreachable: false };
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? '';
  const code = e.code ?? '';
  const net = NETWORK[code] ?? NETWORK[name];
  if (net && !status) {
    const host = e.hostname ? ` (${e.hostname})` : '';
    return { reason: `the endpoint cannot be reached: ${net}${host}`, retryable: true, unreachable: true };
  }
  if (TLS.has(code))
    return { reason: `the endpoint's TLS is not trusted (${code})`, retryable: false, unreachable: false };
  if (name === 'CredentialsProviderError') {
    const reason = 'no credentials found (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile)';
    return { reason, retryable: false, unreachable: false };
  }
  if (name === 'Error' && e.message === 'Region is missing') {
    return { reason: 'no region configured (AWS_REGION, or a profile)', retryable: false, unreachable: false };
  }
  if (BUSY.has(name) || (status !== undefined && status >= 500)) {
    const what = [name, status].filter(Boolean).join(' ');
    return { reason: `the server is busy or failing (${what})`, retryable: true, unreachable: false };
  }
  if (REFUSED[name]) return { reason: REFUSED[name], retryable: false, unreachable: false };
  if (status === 401 || status === 403) {
    return { reason: `access denied (${name || 'HTTP'} ${status})`, retryable: false, unreachable: false };
  }
  if (status !== undefined && status >= 400) {
    return { reason: `the request was refused (${name || 'HTTP'} ${status})`, retryable: false, unreachable: false };
  }
  return undefined;
}

/**
 * A batch's bucket cannot be reached (nothing answers at its endpoint, or it answers only with server errors):
 * printed as is, exit code 3, like a Temporal server that cannot be reached.
 */
export class StorageUnreachable extends Error {
  name = 'StorageUnreachable';
}
