// Which provider clients a process has: one for each provider whose credentials are set, and none for the others;
// the variables are named in one table for every message.
import { describe, expect, it } from 'vitest';
import {
  allCredentialNames,
  credentialNames,
  hasCredentials,
  isSyncClient,
  PROVIDER_CREDENTIALS,
  PROVIDER_ENDPOINT_VARIABLE,
  providersFromEnv,
  providersWithCredentials,
  taskClient,
} from '../../src/providers';
import { OPENAI_DEFAULT_TIMEOUT_MS, OpenaiClient } from '../../src/providers/openai/client';
import { PROVIDER_KINDS } from '../../src/shared/providers';

const ALL = {
  VOLC_ACCESSKEY: 'ak',
  VOLC_SECRETKEY: 'sk',
  DASHSCOPE_API_KEY: 'd',
  FAL_KEY: 'f',
  OPENAI_API_KEY: 'o',
  COMFYUI_URL: 'http://gpu:8188',
};

describe('providersFromEnv', () => {
  it('builds a client for each provider whose credentials are set, and only those', () => {
    expect(Object.keys(providersFromEnv({}))).toEqual([]);
    expect(Object.keys(providersFromEnv({ DASHSCOPE_API_KEY: 'd' }))).toEqual(['dashscope']);
    expect(Object.keys(providersFromEnv(ALL)).sort()).toEqual([...PROVIDER_KINDS].sort());
    // Half of Volcengine's pair is not a credential.
    expect(providersFromEnv({ VOLC_ACCESSKEY: 'ak' }).volcengine).toBeUndefined();
  });

  it('serves ComfyUI only where COMFYUI_URL names its server (it has no key to tell)', () => {
    expect(providersFromEnv({ FAL_KEY: 'f' }).comfyui).toBeUndefined();
    const comfy = providersFromEnv({ COMFYUI_URL: 'http://gpu:8188/' }).comfyui;
    expect(comfy?.account().endpoint).toBe('http://gpu:8188');
  });

  it('restricts to the providers asked for', () => {
    expect(Object.keys(providersFromEnv(ALL, ['fal', 'openai'])).sort()).toEqual(['fal', 'openai']);
  });

  it("gives OpenAI's one long call its own timeout, not IMAGEBATCH_HTTP_TIMEOUT_MS", () => {
    const openai = providersFromEnv({ ...ALL, IMAGEBATCH_HTTP_TIMEOUT_MS: '1000' }).openai;
    expect(openai).toBeInstanceOf(OpenaiClient);
    expect((openai as OpenaiClient)['o'].timeoutMs).toBeUndefined();
    // docs/cli.md: "Its one call is bounded by the item's max wait and 5 minutes".
    expect(OPENAI_DEFAULT_TIMEOUT_MS).toBe(5 * 60_000);
  });

  it('tells a synchronous client from a task client', () => {
    const clients = providersFromEnv(ALL);
    expect(isSyncClient(clients.openai!)).toBe(true);
    for (const k of ['volcengine', 'dashscope', 'fal', 'comfyui'] as const)
      expect(isSyncClient(clients[k]!)).toBe(false);
    expect(taskClient(clients, 'fal').kind).toBe('fal');
    expect(() => taskClient(clients, 'openai')).toThrow(/no openai task client/);
    expect(() => taskClient({}, 'fal')).toThrow(/FAL_KEY/);
  });
});

describe('credential names', () => {
  it('has every provider in one table', () => {
    expect(Object.keys(PROVIDER_CREDENTIALS).sort()).toEqual([...PROVIDER_KINDS].sort());
    expect(credentialNames('volcengine')).toBe('VOLC_ACCESSKEY and VOLC_SECRETKEY');
    expect(allCredentialNames()).toBe(
      'VOLC_ACCESSKEY and VOLC_SECRETKEY (volcengine), DASHSCOPE_API_KEY (dashscope), FAL_KEY (fal), ' +
        'OPENAI_API_KEY (openai) or COMFYUI_URL (comfyui)',
    );
  });

  it("are the ones each provider's client reads: its credentials and its endpoint", () => {
    for (const kind of PROVIDER_KINDS) {
      const env: NodeJS.ProcessEnv = { [PROVIDER_ENDPOINT_VARIABLE[kind]]: `http://${kind}.test` };
      for (const name of PROVIDER_CREDENTIALS[kind]) env[name] ??= `key-${name}`;
      const account = providersFromEnv(env)[kind]?.account();
      expect(account?.endpoint, kind).toMatch(new RegExp(`^http://${kind}\\.test`));
      // ComfyUI has no key; every other client fingerprints the key it was given.
      expect(Boolean(account?.fingerprint), kind).toBe(kind !== 'comfyui');
    }
  });

  it('counts a provider as set only when all its variables are non-empty', () => {
    expect(hasCredentials('volcengine', { VOLC_ACCESSKEY: 'a', VOLC_SECRETKEY: '' })).toBe(false);
    expect(hasCredentials('openai', { OPENAI_API_KEY: 'o' })).toBe(true);
    expect(providersWithCredentials({ FAL_KEY: 'f', DASHSCOPE_API_KEY: 'd' })).toEqual(['dashscope', 'fal']);
  });
});
