// PLACEHOLDER (being written now, issue 25): a batch's files in an S3-compatible bucket.
import type { BatchStore } from './batch-store';

/** The store of a batch at `s3://bucket/prefix/<batchId>`, with this process's credentials and endpoint. */
export function openBucketStore(location: string, _env: NodeJS.ProcessEnv = process.env): BatchStore {
  throw new Error(`bucket storage is not built yet (${location})`);
}
