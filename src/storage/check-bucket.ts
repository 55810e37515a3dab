// The preflight of a batch in a bucket, before anything starts (nothing paid): the bucket exists, the credentials
// are right, and this process may write, list and remove under the batch's prefix, the operations the batch uses.
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { UsageError } from '../shared/usage-error';
import { bucketFailure, StorageUnreachable } from './bucket-errors';
import { openBucketStore } from './bucket-store';
import { s3ClientFor, s3Endpoint } from './s3-client';
import { parseS3Location } from './s3-location';

const PROBE = '.imagebatch/write-check';

/**
 * Throws UsageError (exit 2) naming the bucket and the cause when the bucket is unknown, the credentials are wrong or
 * the request is denied; StorageUnreachable (exit 3) when its endpoint does not answer or answers only with server
 * errors. `location` is the batch's (`s3://BUCKET/PREFIX/<batchId>`): the probe goes where the batch's files will.
 */
export async function checkBucket(location: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const store = openBucketStore(location, env);
  try {
    try {
      await s3ClientFor(env).send(new HeadBucketCommand({ Bucket: store.bucket }));
    } catch (err) {
      // A HEAD answer has no body, so 403 and 404 say too little: 403 is wrong credentials or a denial, and a clone
      // may answer an unknown access key with 404 (versitygw does). The probe's PUT gets the server's own code
      // (NoSuchBucket, SignatureDoesNotMatch, InvalidAccessKeyId, AccessDenied); some policies allow objects only.
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 403 && status !== 404) throw err;
    }
    await store.write([{ name: PROBE, data: '' }]);
    await store.remove(PROBE);
  } catch (err) {
    throw bucketCliError(err, location, env);
  }
}

/**
 * A command's error for a bucket's failure: UsageError (exit 2) naming the location, the bucket, its endpoint and the
 * cause; StorageUnreachable (exit 3) when nothing answers or only server errors do. Anything else is returned as is.
 */
export function bucketCliError(err: unknown, location: string, env: NodeJS.ProcessEnv = process.env): unknown {
  const failure = bucketFailure(err);
  if (!failure) return err;
  const { bucket } = parseS3Location(location, 'batch location');
  const endpoint = s3Endpoint(env);
  const at = `${location}: bucket "${bucket}" at ${endpoint ? origin(endpoint) : 'AWS S3'}`;
  if (failure.unreachable || failure.retryable) return new StorageUnreachable(`${at}: ${failure.reason}`);
  return new UsageError(`${at}: ${failure.reason}`);
}

/** The endpoint without any user or password a URL may carry. */
function origin(endpoint: string): string {
  try {
    const u = new URL(endpoint);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'the configured endpoint';
  }
}
