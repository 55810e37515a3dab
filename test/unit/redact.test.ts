// Credentials out of text that leaves the worker: the values it holds, and what is shaped like a credential.
import { describe, expect, it } from 'vitest';
import { outgoing } from '../../src/activities/failures';
import { redactSecrets } from '../../src/providers/redact';

const env = {
  VOLC_ACCESSKEY: 'AKLTvolcaccess0001',
  VOLC_SECRETKEY: 'volc/secret+key==',
  FAL_KEY: 'fal-id:fal-secret-1',
  AWS_SECRET_ACCESS_KEY: 'aws-secret-value',
  TEMPORAL_API_KEY: 'temporal-api-key-value',
  COMFYUI_URL: 'http://127.0.0.1:8188',
  HOME: '/home/worker',
  SHORT_TOKEN: 'abc',
};

describe('redactSecrets', () => {
  it('replaces each credential the worker holds, as it is and as a URL or JSON carries it', () => {
    const text = [
      'key fal-id:fal-secret-1 refused',
      `query ?k=${encodeURIComponent('volc/secret+key==')}`,
      JSON.stringify({ echoed: 'volc/secret+key==' }),
      'aws-secret-value and temporal-api-key-value and AKLTvolcaccess0001',
    ].join('\n');
    const out = redactSecrets(text, env);
    for (const v of Object.values(env).filter((v) => v.length > 6 && !v.startsWith('/') && !v.startsWith('http')))
      expect(out).not.toContain(v);
    expect(out).not.toContain(encodeURIComponent('volc/secret+key=='));
  });

  it('keeps what is not a secret: the ComfyUI address, paths, short values', () => {
    const text = 'GET http://127.0.0.1:8188/history failed in /home/worker: abc';
    expect(redactSecrets(text, env)).toBe(text);
  });

  it('replaces what is shaped like a credential, held or not', () => {
    const cases: [string, string][] = [
      ['Authorization: Bearer eyJhbGciOi.abc.def refused', 'Authorization: [redacted] refused'],
      ['{"authorization":"Key abcd:efgh"}', '{"authorization":"[redacted]"}'],
      ['sent Bearer tok_1234567890', 'sent Bearer [redacted]'],
      ['header was Key 0123456789abcdef:0123456789', 'header was Key [redacted]'],
      ['Incorrect API key provided: sk-proj-AbCdEf123456', 'Incorrect API key provided: sk-[redacted]'],
      [
        'HMAC-SHA256 Credential=AKLT123/20261207/cn-north-1/cv/request, SignedHeaders=host, Signature=deadbeef01',
        'HMAC-SHA256 Credential=[redacted], SignedHeaders=host, Signature=[redacted]',
      ],
      ['?AccessKey=AK123&Signature=abc&Action=Submit', '?AccessKey=[redacted]&Signature=[redacted]&Action=Submit'],
      ['{"api_key": "xyz123456"}', '{"api_key": "[redacted]"}'],
      ['https://user:pa55word@host.example/path', 'https://[redacted]@host.example/path'],
    ];
    for (const [text, want] of cases) expect(redactSecrets(text, {}), text).toBe(want);
  });

  it('leaves ordinary words alone', () => {
    const text = 'The Key point: a token of thanks; the prompt was refused (moderation)';
    expect(redactSecrets(text, {})).toBe(text);
  });
});

describe('outgoing', () => {
  it('redacts before it cuts, so no half of a key is left at the cut', () => {
    process.env.IB_TEST_API_KEY = 'k'.repeat(50);
    try {
      const text = `${'x'.repeat(1990)}${'k'.repeat(50)}`;
      expect(outgoing(text)).not.toMatch(/kkkk/);
    } finally {
      delete process.env.IB_TEST_API_KEY;
    }
  });
});
