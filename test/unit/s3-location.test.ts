// `--out s3://BUCKET/PREFIX` parsing, and how the S3 client is configured from the environment (endpoint, path style,
// the region when none is set anywhere), without a server.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/shared/usage-error';
import { s3ClientFor, s3Endpoint, usesPathStyle } from '../../src/storage/s3-client';
import { batchLocation, parseS3Location } from '../../src/storage/s3-location';

describe('parseS3Location', () => {
  it('splits the bucket from the prefix, without slashes at the ends', () => {
    expect(parseS3Location('s3://my-bucket/team/runs/')).toEqual({ bucket: 'my-bucket', prefix: 'team/runs' });
    expect(parseS3Location('s3://my.bucket.1')).toEqual({ bucket: 'my.bucket.1', prefix: '' });
    expect(parseS3Location('s3://abc/')).toEqual({ bucket: 'abc', prefix: '' });
  });

  it.each([
    ['s3:///prefix', 'no bucket name'],
    ['s3://My_Bucket/x', 'not a bucket name'],
    ['s3://ab/x', 'not a bucket name'],
    ['s3://-abc/x', 'not a bucket name'],
    ['s3://a..b/x', 'not a bucket name'],
    ['s3://192.168.1.1/x', 'not a bucket name'],
    ['s3://bucket/a//b', 'empty, "." or ".." part'],
    ['s3://bucket/a/../b', 'empty, "." or ".." part'],
    ['s3://bucket/a?x=1', 'control character, a backslash, ? or #'],
    ['s3://bucket/a\\b', 'control character, a backslash, ? or #'],
    ['s3://bucket/a\nb', 'control character, a backslash, ? or #'],
    [`s3://bucket/${'p'.repeat(513)}`, 'longer than 512 bytes'],
    ['https://bucket/x', 'not an s3:// URL'],
  ])('refuses %j, naming the flag', (url, why) => {
    const err = (() => {
      try {
        parseS3Location(url, '--out');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain(`--out ${url}`);
    expect((err as Error).message).toContain(why);
  });

  it("puts a batch's folder under the prefix", () => {
    expect(batchLocation('s3://bkt/team/runs/', 'b1')).toBe('s3://bkt/team/runs/b1');
    expect(batchLocation('s3://bkt', 'b1')).toBe('s3://bkt/b1');
  });
});

describe('path style', () => {
  it('is used for an IP address or localhost, virtual-hosted for a host name', () => {
    expect(usesPathStyle('http://127.0.0.1:9000', {})).toBe(true);
    expect(usesPathStyle('http://[::1]:9000', {})).toBe(true);
    expect(usesPathStyle('http://localhost:9000', {})).toBe(true);
    expect(usesPathStyle('http://minio.localhost', {})).toBe(true);
    expect(usesPathStyle('https://oss-cn-hangzhou.aliyuncs.com', {})).toBe(false);
    expect(usesPathStyle('https://127.0.0.1.nip.io', {})).toBe(false);
    expect(usesPathStyle(undefined, {})).toBe(false);
  });

  it('is used for any endpoint when IMAGEBATCH_S3_PATH_STYLE=1', () => {
    expect(usesPathStyle('https://s3.example.com', { IMAGEBATCH_S3_PATH_STYLE: '1' })).toBe(true);
    expect(usesPathStyle(undefined, { IMAGEBATCH_S3_PATH_STYLE: '1' })).toBe(true);
  });

  it('reaches the client', async () => {
    expect(s3ClientFor({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1', AWS_REGION: 'x' }).config.forcePathStyle).toBe(
      true,
    );
    expect(s3ClientFor({ AWS_ENDPOINT_URL_S3: 'https://s3.example.com', AWS_REGION: 'x' }).config.forcePathStyle).toBe(
      false,
    );
  });
});

describe('the S3 client', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('takes the S3-specific endpoint before the general one', () => {
    expect(s3Endpoint({ AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_S3: 'http://b' })).toBe('http://b');
    expect(s3Endpoint({ AWS_ENDPOINT_URL: 'http://a' })).toBe('http://a');
    expect(s3Endpoint({})).toBeUndefined();
  });

  it('is made once per configuration', () => {
    const env = { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:2', AWS_REGION: 'r', AWS_ACCESS_KEY_ID: 'k' };
    expect(s3ClientFor({ ...env })).toBe(s3ClientFor({ ...env }));
    expect(s3ClientFor({ ...env, AWS_SECRET_ACCESS_KEY: 's' })).not.toBe(s3ClientFor({ ...env }));
    expect(s3ClientFor({ ...env, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:3' })).not.toBe(s3ClientFor({ ...env }));
  });

  it('uses us-east-1 with an endpoint and no region anywhere; AWS itself still needs one', async () => {
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/imagebatch-test-config');
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/imagebatch-test-credentials');
    expect(await s3ClientFor({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4' }).config.region()).toBe('us-east-1');
    await expect(s3ClientFor({}).config.region()).rejects.toThrow('Region is missing');
    expect(
      await s3ClientFor({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4', AWS_REGION: 'eu-west-1' }).config.region(),
    ).toBe('eu-west-1');
  });
});
