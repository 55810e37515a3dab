// A bucket's failures in words, from errors shaped as the AWS SDK throws them (the real ones are met against a real
// S3 server in test/storage/batch-store.test.ts).
import { S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { bucketFailure } from '../../src/storage/bucket-errors';

const s3Error = (name: string, status: number) =>
  new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });

const netError = (code: string) =>
  Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code, hostname: 'h.example' });

describe('bucketFailure', () => {
  it.each([
    ['NoSuchBucket', 404, 'does not exist'],
    ['NotFound', 404, 'does not exist'],
    ['AccessDenied', 403, 'access denied'],
    ['InvalidAccessKeyId', 403, 'wrong credentials'],
    ['SignatureDoesNotMatch', 403, 'wrong credentials'],
    ['Forbidden', 403, 'wrong credentials, or not allowed'],
    ['SomethingNew', 400, 'refused (SomethingNew 400)'],
  ])('%s (%d) needs a person: %s', (name, status, words) => {
    expect(bucketFailure(s3Error(name, status))).toEqual({
      reason: expect.stringContaining(words),
      retryable: false,
      unreachable: false,
    });
  });

  it.each([
    ['SlowDown', 503],
    ['InternalError', 500],
    ['BadGateway', 502],
  ])('%s (%d) is retryable, not unreachable', (name, status) => {
    expect(bucketFailure(s3Error(name, status))).toMatchObject({ retryable: true, unreachable: false });
  });

  it.each(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN'])('%s is unreachable', (code) => {
    const f = bucketFailure(netError(code));
    expect(f).toMatchObject({ retryable: true, unreachable: true });
    expect(f!.reason).toContain('(h.example)');
  });

  it('finds the cause of a wrapped or aggregated socket error', () => {
    const agg = new AggregateError([netError('ECONNREFUSED')], 'connect failed');
    expect(bucketFailure(agg)).toMatchObject({ unreachable: true });
    expect(bucketFailure(new Error('request failed', { cause: netError('ENOTFOUND') }))).toMatchObject({
      unreachable: true,
    });
    expect(bucketFailure(Object.assign(new Error('socket timed out'), { name: 'TimeoutError' }))).toMatchObject({
      unreachable: true,
    });
  });

  it('words missing credentials and region', () => {
    const creds = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    expect(bucketFailure(creds)!.reason).toContain('AWS_ACCESS_KEY_ID');
    expect(bucketFailure(new Error('Region is missing'))!.reason).toContain('AWS_REGION');
  });

  it('leaves anything else alone', () => {
    expect(bucketFailure(new TypeError('x is undefined'))).toBeUndefined();
    expect(bucketFailure(undefined)).toBeUndefined();
    expect(bucketFailure('text')).toBeUndefined();
  });

  it('never repeats the server message (it may quote the request)', () => {
    const err = s3Error('SignatureDoesNotMatch', 403);
    err.message = 'The request signature ... StringToSign AKIDSECRETISH';
    expect(bucketFailure(err)!.reason).not.toContain('AKIDSECRETISH');
  });
});
