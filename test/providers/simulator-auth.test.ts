// The simulator refuses tampered and expired Volcengine signatures with the gateway envelope.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { signRequest } from '../../src/providers/volcengine/signer';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { renderPng } from '../../src/providers/simulator/png';

let sim: ProviderSimulator;
beforeAll(async () => {
  sim = await startSimulator({ latencyMs: 0 });
});
afterAll(() => sim.close());

async function send(body: string, signedBody: string, date = new Date()) {
  const host = new URL(sim.url).host;
  const query = { Action: 'CVSync2AsyncSubmitTask', Version: '2022-08-31' };
  const signed = signRequest({
    method: 'POST',
    query,
    headers: { Host: host, 'Content-Type': 'application/json' },
    body: signedBody,
    accessKeyId: 'AKSIMULATOR',
    secretAccessKey: 'SKSIMULATOR',
    date,
  });
  const { Host: _h, ...headers } = signed.headers;
  if (body !== signedBody) delete headers['X-Content-Sha256'];
  const res = await request(`${sim.url}/?Action=CVSync2AsyncSubmitTask&Version=2022-08-31`, {
    method: 'POST',
    headers,
    body,
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, any> };
}

describe('simulator signature check', () => {
  const body = JSON.stringify({ req_key: 'jimeng_t2i_v40', prompt: 'a cat' });

  it('accepts a correct signature', async () => {
    const r = await send(body, body);
    expect(r.status).toBe(200);
    expect(r.json.code).toBe(10000);
  });

  it('refuses a tampered body with 100010 SignatureDoesNotMatch', async () => {
    const r = await send(body.replace('a cat', 'a dog'), body);
    expect(r.status).toBe(401);
    expect(r.json.ResponseMetadata.Error).toMatchObject({ CodeN: 100010, Code: 'SignatureDoesNotMatch' });
  });

  it('refuses an expired signature with 100006 InvalidTimestamp', async () => {
    const r = await send(body, body, new Date(Date.now() - 3600_000));
    expect(r.json.ResponseMetadata.Error).toMatchObject({ CodeN: 100006, Code: 'InvalidTimestamp' });
  });

  it('refuses a request with no Authorization', async () => {
    const res = await request(`${sim.url}/?Action=CVSync2AsyncSubmitTask&Version=2022-08-31`, { method: 'POST', body });
    expect(res.statusCode).toBe(401);
    expect(((await res.body.json()) as any).ResponseMetadata.Error.CodeN).toBe(100010);
  });

  it('renders the same PNG for the same prompt and seed, and another for another seed', async () => {
    expect(renderPng('a', 1).equals(renderPng('a', 1))).toBe(true);
    expect(renderPng('a', 1).equals(renderPng('a', 2))).toBe(false);
  });
});
