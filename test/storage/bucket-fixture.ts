// The storage tests' bucket: a versitygw server started once for the file (built into ~/.cache/imagebatch the first
// time), one bucket made on it, and a scratch folder; both gone after the file's tests.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { type S3Server, startS3Server } from '../helpers/s3-server';

export interface BucketFixture {
  server: S3Server;
  tmp: string;
}

/** Registers the file's setup and teardown; the fields are set once its beforeAll has run. */
export function useBucketServer(bucket: string): BucketFixture {
  const fx = {} as BucketFixture;
  beforeAll(async () => {
    fx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `imagebatch-${bucket}-`));
    fx.server = await startS3Server();
    await fx.server.createBucket(bucket);
  }, 20 * 60_000); // a fresh machine builds versitygw first
  afterAll(async () => {
    await fx.server?.stop();
    if (fx.tmp) fs.rmSync(fx.tmp, { recursive: true, force: true });
  });
  return fx;
}

export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
