// The activities' side of a batch in a bucket, against a real S3 server (versitygw): the submit journal is kept in
// the bucket, so a retried submit on another machine (another process: none of this one's memory, no heartbeat
// details) finds the task an earlier attempt had the provider accept; and a bucket's failure is a LocalStorage
// failure that names the bucket, at once when a person must act, retried when it may heal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBatchActivities } from '../../src/activities/batch';
import { findJournaledTask, journalTask, type SubmitKey } from '../../src/activities/task-journal';
import { latestResults, type ResultRecord } from '../../src/output/results-log';
import { freePort } from '../../src/temporal/dev-server-process';
import { type S3Server, startS3Server } from '../helpers/s3-server';

let s3: S3Server;
let bucket: string;
const saved = { ...process.env };

beforeAll(async () => {
  s3 = await startS3Server();
  bucket = await s3.createBucket('imagebatch-activities');
  // The activities open a batch's store with the process's own environment, as a worker does.
  Object.assign(process.env, s3.env);
});
afterAll(async () => {
  process.env = saved;
  await s3?.stop();
});

const entry = {
  key: { workflowId: 'img-b/a', runId: 'r1', activityId: '3' },
  taskId: 'task-42',
  model: 'm',
  submittedAt: '2026-12-08T00:00:00.000Z',
};

/** The journal module as built (`npm run build`), run in another process: none of this one's memory. */
const BUILT_JOURNAL = path.resolve(__dirname, '../../lib/activities/task-journal.js');

/** `findJournaledTask`, or `forgetTask` then it, as another machine's worker runs them. */
async function elsewhere(location: string, key: SubmitKey, forget = false): Promise<unknown> {
  const script = `const j = require(${JSON.stringify(BUILT_JOURNAL)});
    const [location, key, forget] = JSON.parse(process.argv[1]);
    (forget ? j.forgetTask(location, 'a') : Promise.resolve())
      .then(() => j.findJournaledTask(location, 'a', key))
      .then((found) => process.stdout.write(JSON.stringify(found ?? null)));`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['-e', script, JSON.stringify([location, key, forget])],
    {
      env: process.env,
    },
  );
  return JSON.parse(stdout);
}

describe('the submit journal of a bucket batch', () => {
  it('is found by another process, and removed once the image is stored', async () => {
    const location = `s3://${bucket}/runs/journal-1`;
    await journalTask(location, 'a', entry);
    expect(fs.existsSync(path.join(s3.root, bucket, 'runs', 'journal-1', '.imagebatch', 'tasks', 'a.json'))).toBe(true);
    // This process remembers it anyway; another machine has only the bucket.
    expect(await findJournaledTask(location, 'a', entry.key)).toEqual(entry);
    expect(await elsewhere(location, entry.key)).toEqual(entry);
    // Another submit of the same item (the workflow resubmitted) is not this task.
    expect(await elsewhere(location, { ...entry.key, activityId: '9' })).toBeNull();
    // Removed (the image is stored): no machine finds it.
    expect(await elsewhere(location, entry.key, true)).toBeNull();
  });
});

const record: ResultRecord = {
  itemId: 'a',
  status: 'succeeded',
  provider: 'volcengine',
  attempts: 1,
  prompts: ['p'],
  at: 1,
  seq: 1,
};

describe("a bucket's failure", () => {
  it('of an unknown bucket fails the write as LocalStorage at once, naming the bucket', async () => {
    const { recordResults } = createBatchActivities();
    const err = await new MockActivityEnvironment()
      .run(recordResults, { outDir: 's3://no-such-bucket-here/runs/b1', results: [record] })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'LocalStorage', nonRetryable: true });
    expect((err as Error).message).toContain('the bucket no-such-bucket-here cannot be used');
    expect((err as Error).message).toContain('the bucket does not exist');
  });

  it('of an endpoint that does not answer is LocalStorage the activity retries', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    process.env.AWS_ENDPOINT_URL_S3 = closed;
    try {
      const { recordResults } = createBatchActivities();
      const err = await new MockActivityEnvironment()
        .run(recordResults, { outDir: `s3://${bucket}/runs/b2`, results: [record] })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ type: 'LocalStorage', nonRetryable: false });
      expect((err as Error).message).toContain(`the bucket ${bucket} cannot be used`);
    } finally {
      process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
    }
  });

  it('leaves the results log written when the bucket is there (one part per group, read back whole)', async () => {
    const { recordResults } = createBatchActivities();
    const outDir = `s3://${bucket}/runs/b3`;
    const env = new MockActivityEnvironment();
    await env.run(recordResults, { outDir, results: [record] });
    // A retried append of the same group puts the same part again: still one copy.
    await env.run(recordResults, { outDir, results: [record] });
    await env.run(recordResults, { outDir, results: [{ ...record, itemId: 'b', at: 2 }] });
    const parts = fs.readdirSync(path.join(s3.root, bucket, 'runs', 'b3', '.imagebatch', 'results.jsonl.d'));
    expect(parts).toHaveLength(2);
    expect([...(await latestResults(outDir)).keys()]).toEqual(['a', 'b']);
  });
});
