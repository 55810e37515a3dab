// One S3Client per process for each endpoint and configuration, made from the process's own environment: the
// endpoint, credentials and region never travel in a batch's history. Settings that S3 clones need: checksums only
// where an operation requires one (OSS and several clones refuse the SDK's default aws-chunked CRC trailers), and
// path-style addressing where no per-bucket DNS name can exist.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

/** The endpoint the AWS SDK's own variables name (the S3-specific one first), or undefined for AWS itself. */
export function s3Endpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * Path-style addressing (`host/bucket/key`) when asked (IMAGEBATCH_S3_PATH_STYLE=1) or when the endpoint's host is an
 * IP address or localhost; else virtual-hosted (`bucket.host/key`), the only style OSS and TOS accept.
 */
export function usesPathStyle(endpoint: string | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.IMAGEBATCH_S3_PATH_STYLE === '1') return true;
  if (!endpoint) return false;
  let host: string;
  try {
    host = new URL(endpoint).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  return isIP(host) !== 0 || host === 'localhost' || host.endsWith('.localhost');
}

const clients = new Map<string, S3Client>();

/** The client for `env`'s endpoint, credentials and region; made once, then shared by every store of the process. */
export function s3ClientFor(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = s3Endpoint(env);
  const config: S3ClientConfig = {
    endpoint,
    forcePathStyle: usesPathStyle(endpoint, env),
    profile: env.AWS_PROFILE || undefined,
    region: env.AWS_REGION || regionFromProfiles(env.AWS_PROFILE, endpoint),
    // Keys in `env` first, as the standard chain does for process.env; else the chain (profiles, SSO, IMDS...).
    credentials:
      env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? {
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
            sessionToken: env.AWS_SESSION_TOKEN || undefined,
          }
        : undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A host that drops packets fails within seconds instead of the system's TCP timeout (minutes).
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
  };
  // The key holds a digest, not the secret: the map is never printed, but nothing needs the secret in it.
  const key = createHash('sha256')
    .update(JSON.stringify([endpoint, config.forcePathStyle, config.profile, env.AWS_REGION, config.credentials]))
    .digest('hex');
  let client = clients.get(key);
  if (!client) {
    client = new S3Client(config);
    sendContentMd5(client);
    clients.set(key, client);
  }
  return client;
}

/**
 * The region the SDK's chain finds in the shared config files. S3 clones (MinIO, versitygw, R2 accept any) are often
 * used with no region set anywhere, and the SDK refuses to sign without one: with an endpoint set and no region
 * found, 'us-east-1' (the region those servers default to). AWS itself still needs a region configured.
 */
function regionFromProfiles(profile: string | undefined, endpoint: string | undefined): () => Promise<string> {
  let found: Promise<string> | undefined;
  return () =>
    (found ??= (async () => {
      const probe = new S3Client({ profile: profile || undefined });
      try {
        return await probe.config.region();
      } catch (err) {
        if (endpoint) return 'us-east-1';
        throw err;
      } finally {
        probe.destroy();
      }
    })());
}

/**
 * DeleteObjects is the one operation S3 requires a body checksum for. The SDK sends a CRC32 header, which older MinIO,
 * OSS and other clones refuse ("Missing required header: Content-MD5"): send Content-MD5 instead, as the SDK's own
 * supplemental docs (MD5_FALLBACK.md) show. Priority low: it runs after the SDK's checksum middleware of the same step.
 */
function sendContentMd5(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown } | undefined;
      if (context.commandName !== 'DeleteObjectsCommand' || !request?.headers || request.body === undefined) {
        return next(args);
      }
      for (const h of Object.keys(request.headers)) {
        if (/^x-amz-(sdk-)?checksum-/i.test(h)) delete request.headers[h];
      }
      const body = request.body as string | Uint8Array;
      request.headers['content-md5'] = createHash('md5').update(body).digest('base64');
      return next(args);
    },
    { step: 'build', priority: 'low', name: 'imagebatchContentMd5' },
  );
}
