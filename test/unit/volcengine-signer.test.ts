// Fixed vectors from reference/providers.md 1.8: the official Python SDK's SignerV4 and an independent
// implementation agree on them.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { signRequest, uriEncode } from '../../src/providers/volcengine/signer';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const date = new Date('2025-01-01T00:00:00Z');
const keys = { accessKeyId: 'AKTESTEXAMPLE', secretAccessKey: 'SKTESTEXAMPLE', date };
const headers = { Host: 'visual.volcengineapi.com', 'Content-Type': 'application/json' };

describe('Volcengine V4 signer', () => {
  it('vector A: submit', () => {
    const body = '{"req_key":"jimeng_t2i_v40","prompt":"a cat","width":1024,"height":1024}';
    const s = signRequest({
      ...keys,
      method: 'POST',
      query: { Action: 'CVSync2AsyncSubmitTask', Version: '2022-08-31' },
      headers,
      body,
    });
    expect(s.headers['X-Content-Sha256']).toBe('5d5e7a57ca6931538ab4cd1c28fc6d2b983c9bdc1bc7b5b9e91a48e80eed6177');
    expect(sha(s.canonicalRequest)).toBe('0f791bed3822365dc81f62e35ac26ddf8281e03aa0de3249a70dbdd2335a3828');
    expect(s.signature).toBe('2a3d1bdc345dd10e9d9e349938f43b87b32f810aa242819b8ebda5a3f2555dcf');
    expect(s.headers.Authorization).toBe(
      'HMAC-SHA256 Credential=AKTESTEXAMPLE/20250101/cn-north-1/cv/request, ' +
        'SignedHeaders=content-type;host;x-content-sha256;x-date, ' +
        'Signature=2a3d1bdc345dd10e9d9e349938f43b87b32f810aa242819b8ebda5a3f2555dcf',
    );
  });

  it('vector B: get result', () => {
    const body = '{"req_key":"jimeng_t2i_v40","task_id":"7392616336519610409"}';
    const s = signRequest({
      ...keys,
      method: 'POST',
      query: { Action: 'CVSync2AsyncGetResult', Version: '2022-08-31' },
      headers,
      body,
    });
    expect(s.headers['X-Content-Sha256']).toBe('7f9ef7f8a5233c57f4564c48ea2814f0c751abf47142c7cac58c9fdb0a87d9fe');
    expect(s.signature).toBe('d05f1ecb9efb323a633d814e164d057fec88a32599eb3ae1eac4fe1f46492868');
  });

  it("vector C: the SDK's DemoSignOnly (GET, iam, Host only)", () => {
    const s = signRequest({
      accessKeyId: 'ak',
      secretAccessKey: 'sk',
      service: 'iam',
      date: new Date(1640712206 * 1000),
      method: 'GET',
      query: { Limit: '5', Offset: '0', Action: 'ListUsers', Version: '2018-01-01' },
      headers: { Host: 'open.volcengineapi.com' },
      body: '',
    });
    expect(s.headers.Authorization).toContain('SignedHeaders=host;x-content-sha256;x-date,');
    expect(s.signature).toBe('4f5b9d2b436092f11a41b5ad0d6eb6a868b30bd3955f480fa1d6bf1ed3073eba');
  });

  it('a different body gives a different signature', () => {
    const base = { ...keys, method: 'POST', query: { Action: 'A', Version: 'V' }, headers };
    expect(signRequest({ ...base, body: '{"a":1}' }).signature).not.toBe(
      signRequest({ ...base, body: '{"a":2}' }).signature,
    );
  });

  it('encodes query values as RFC 3986', () => {
    expect(uriEncode("a b*'()!~._-")).toBe('a%20b%2A%27%28%29%21~._-');
  });
});
