// `--out s3://BUCKET/PREFIX`: which bucket, and the key prefix a batch's folder goes under. A batch's location is
// `s3://BUCKET/PREFIX/<batchId>` (no trailing slash), the same string parsed again by every process that opens it.
import { isIP } from 'node:net';
import { UsageError } from '../shared/usage-error';

export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing slash; '' for the bucket's root. */
  prefix: string;
}

/** S3's rules for new buckets (the ones OSS, TOS, R2 and MinIO share): 3-63 of a-z 0-9 . -, ends alnum. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Room left for a batch id and the files' names under a prefix (S3 keys are at most 1024 bytes). */
const MAX_PREFIX_BYTES = 512;

/** Parses an `s3://` URL; `flag` names where it came from (`--out`) in every error. */
export function parseS3Location(url: string, flag = '--out'): S3Location {
  const bad = (why: string) => new UsageError(`${flag} ${url}: ${why}`);
  if (!url.startsWith('s3://')) throw bad('not an s3:// URL (s3://BUCKET/PREFIX)');
  const rest = url.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = (slash < 0 ? '' : rest.slice(slash + 1)).replace(/\/+$/, '');
  if (!bucket) throw bad('no bucket name (s3://BUCKET/PREFIX)');
  if (!BUCKET.test(bucket) || bucket.includes('..') || isIP(bucket)) {
    throw bad(`"${bucket}" is not a bucket name (3-63 characters: lower-case letters, digits, dots and hyphens)`);
  }
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f\\?#]/.test(prefix)) throw bad('the prefix has a control character, a backslash, ? or #');
  if (prefix) {
    const parts = prefix.split('/');
    if (parts.some((p) => p === '' || p === '.' || p === '..')) {
      throw bad('the prefix has an empty, "." or ".." part');
    }
  }
  if (Buffer.byteLength(prefix) > MAX_PREFIX_BYTES) throw bad(`the prefix is longer than ${MAX_PREFIX_BYTES} bytes`);
  return { bucket, prefix };
}

/** A batch's location under `--out s3://BUCKET/PREFIX`: `s3://BUCKET/PREFIX/<batchId>`. */
export function batchLocation(out: string, batchId: string, flag = '--out'): string {
  const { bucket, prefix } = parseS3Location(out, flag);
  return `s3://${bucket}/${prefix ? `${prefix}/` : ''}${batchId}`;
}

/** A batch's own location (`s3://BUCKET/PREFIX/<batchId>`), parsed: it always names a folder under the bucket. */
export function parseBatchLocation(location: string): S3Location & { location: string } {
  const { bucket, prefix } = parseS3Location(location, 'batch location');
  if (!prefix) throw new Error(`a batch's location names its folder under the bucket: ${location}`);
  return { bucket, prefix, location: `s3://${bucket}/${prefix}` };
}
