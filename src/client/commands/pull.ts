// `imagebatch pull BATCH [--out DIR] [--from s3://BUCKET/PREFIX]`: mirrors the files of a batch kept in a bucket
// into `DIR/<batch>/`, as a local run would have written them, so its gallery opens from the disk.
import fs from 'node:fs';
import path from 'node:path';
import { isBucketLocation } from '../../storage/batch-store';
import { batchLocation } from '../../storage/s3-location';
import { SAFE_NAME } from '../../shared/item-schema';
import { batchInputOf, findBatch } from '../batch-lookup';
import { EXIT, UsageError } from '../exit-codes';
import { withSession } from '../session';

export interface PullFlags {
  /** The local folder the batch's folder goes under (default `out`). */
  out: string;
  /** The `--out s3://…` the batch ran with: found without asking Temporal. */
  from?: string;
  db?: string;
}

export async function pullCommand(batchId: string, flags: PullFlags): Promise<number> {
  if (!SAFE_NAME.test(batchId)) throw new UsageError(`'${batchId}' is not a batch id`);
  const location = flags.from ? fromFlag(flags.from, batchId) : await locationOfBatch(batchId, flags.db);
  if (!isBucketLocation(location)) {
    // Nothing to do is not success: the files are already on a disk (this machine's or a worker's).
    console.error(
      `imagebatch: batch ${batchId} keeps its files in a local folder (${location}), not a bucket: nothing to pull`,
    );
    return EXIT.someFailed;
  }
  // A retry batch writes into the folder of the batch it retries: the local folder is named as the bucket's is.
  const folder = path.join(flags.out, location.slice(location.lastIndexOf('/') + 1));
  // Loaded only now: they load the AWS SDK, which no other command of a local batch needs.
  const { bucketCliError } = await import('../../storage/check-bucket.js');
  const { pullBatch } = await import('../pull-batch.js');
  let pulled;
  try {
    pulled = await pullBatch(location, folder, process.env);
  } catch (err) {
    throw bucketCliError(err, location);
  }
  for (const key of pulled.skipped) console.error(`imagebatch: skipped ${key}: not a file name inside the batch`);
  const total = pulled.downloaded + pulled.present;
  if (!total) {
    console.error(`imagebatch: batch ${batchId} has no files at ${location} yet: nothing to pull`);
    return EXIT.someFailed;
  }
  console.log(`pulled ${location} into ${folder}: ${pulled.downloaded} downloaded, ${pulled.present} already there`);
  const gallery = path.join(folder, 'index.html');
  if (fs.existsSync(gallery)) console.log(`gallery: ${gallery}`);
  else console.log(`no gallery yet (index.html is written when the batch ends)`);
  return EXIT.ok;
}

function fromFlag(from: string, batchId: string): string {
  if (!isBucketLocation(from)) throw new UsageError(`--from ${from}: not an s3:// URL (the --out the batch ran with)`);
  return batchLocation(from, batchId, '--from');
}

/** Where the batch's files are, as its workflow was started with them. */
async function locationOfBatch(batchId: string, db?: string): Promise<string> {
  return withSession(async (session) => {
    const batch = await findBatch(session.client, batchId);
    return (await batchInputOf(session.client, batch.handle)).outDir;
  }, db);
}
