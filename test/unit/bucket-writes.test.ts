// A bucket's failure inside an activity is always a LocalStorage failure naming the bucket, worded or not: an error
// left as it is would be retried by the activity, and a synchronous provider's retry pays for the image again.
import { ApplicationFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createImageActivities } from '../../src/activities/image';
import { writingIn } from '../../src/activities/local-storage';
import { providersFromEnv } from '../../src/providers';
import { ChangedObject } from '../../src/storage/bucket-errors';

const AT = 's3://bkt/runs/b1';

async function failure(p: Promise<unknown>) {
  return p.then(
    () => expect.unreachable('expected a failure'),
    (e: unknown) => e as ApplicationFailure,
  );
}

const thrower = (err: unknown) => () => {
  throw err;
};

describe('writingIn a bucket', () => {
  it('an error without words (an answer the SDK could not parse) fails at once where a retry would pay', async () => {
    const err = await failure(writingIn(AT, false, thrower(new SyntaxError('Unexpected token <'))));
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'LocalStorage', nonRetryable: true });
    expect(err.message).toBe(`the bucket bkt cannot be used (${AT}): the request failed (SyntaxError)`);
  });

  it('the same error is retried where a retry pays nothing (a collect, the batch files)', async () => {
    expect(await failure(writingIn(AT, false, thrower(new Error('x')), true))).toMatchObject({
      type: 'LocalStorage',
      nonRetryable: false,
    });
    expect(await failure(writingIn(AT, true, thrower(new Error('x'))))).toMatchObject({ nonRetryable: false });
  });

  it('an object that no longer matches its sha256 needs a person, and is named', async () => {
    const err = await failure(writingIn(AT, true, thrower(new ChangedObject(`${AT}/cat.png`))));
    expect(err).toMatchObject({ type: 'LocalStorage', nonRetryable: true });
    expect(err.message).toContain(`${AT}/cat.png does not match the sha256 stored with it`);
  });

  it('a failure already worded (a bad image) is left as it is', async () => {
    const bad = ApplicationFailure.create({ type: 'BadImage', message: 'not an image', nonRetryable: true });
    expect(await failure(writingIn(AT, false, thrower(bad)))).toBe(bad);
  });

  it("a folder's unworded error is left to the activity as before", async () => {
    const bug = new TypeError('bug');
    expect(await failure(writingIn('/tmp/out/b1', false, thrower(bug)))).toBe(bug);
  });
});

describe('an image activity whose bucket cannot be reached', () => {
  // Nothing listens on port 1: every request is refused at once.
  const unreachable = {
    AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1',
    AWS_REGION: 'x',
    AWS_ACCESS_KEY_ID: 'k',
    AWS_SECRET_ACCESS_KEY: 's',
  };
  // A provider client that is never called: nothing here reaches the provider.
  const acts = createImageActivities({ providers: providersFromEnv({ VOLC_ACCESSKEY: 'a', VOLC_SECRETKEY: 'b' }) });
  const target = { outDir: AT, itemId: 'a', provider: 'volcengine' as const, taskId: 't1', model: 'm' };
  beforeEach(() => {
    for (const [k, v] of Object.entries(unreachable)) vi.stubEnv(k, v);
  });
  afterEach(() => vi.unstubAllEnvs());

  /** A collect attempt scheduled `elapsedMs` into a 10-minute max wait, 2-minute attempts. */
  const collectAt = (elapsedMs: number) =>
    new MockActivityEnvironment({
      attempt: 3,
      scheduledTimestampMs: Date.now() - elapsedMs,
      scheduleToCloseTimeoutMs: 600_000,
      startToCloseTimeoutMs: 120_000,
    }).run(acts.collectImage, target);

  it('a collect waits for it while the max wait leaves room, then fails the item instead of running out', async () => {
    expect(await failure(collectAt(0))).toMatchObject({ type: 'LocalStorage', nonRetryable: false });
    // Running out would read as the max wait passed, and the workflow would submit (and pay for) the image again.
    expect(await failure(collectAt(500_000))).toMatchObject({ type: 'LocalStorage', nonRetryable: true });
  });

  it("a submit's retry resumes the task its heartbeat carries without asking the bucket", async () => {
    const env = new MockActivityEnvironment({
      attempt: 2,
      activityId: '1',
      workflowExecution: { workflowId: 'w', runId: 'r' },
      heartbeatDetails: { taskId: 't1', model: 'm', submittedAt: '' },
    });
    const out = await env.run(acts.submitImage, { ...target, request: { prompt: 'p' } });
    expect(out).toMatchObject({ taskId: 't1', model: 'm' });
  });
});
