// A bucket's failure inside an activity is always a LocalStorage failure naming the bucket, worded or not: an error
// left as it is would be retried by the activity, and a synchronous provider's retry pays for the image again.
import { ApplicationFailure } from '@temporalio/activity';
import { describe, expect, it } from 'vitest';
import { writingIn } from '../../src/activities/local-storage';
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
