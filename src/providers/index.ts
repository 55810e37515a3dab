// Provider clients by kind, configured from the environment (credentials never leave the worker process). Adding a
// provider: its folder (client and env table), one line in each table below, and its RESERVED_PARAMS in
// src/items/rules.ts.
import { PROVIDER_KINDS, type ProviderKind } from '../shared/providers';
import { ComfyuiClient, comfyuiOptionsFromEnv } from './comfyui/client';
import { COMFYUI_ENV } from './comfyui/env';
import { DashscopeClient, dashscopeOptionsFromEnv } from './dashscope/client';
import { DASHSCOPE_ENV } from './dashscope/env';
import { FalClient, falOptionsFromEnv } from './fal/client';
import { FAL_ENV } from './fal/env';
import { OpenaiClient, openaiOptionsFromEnv } from './openai/client';
import { OPENAI_ENV } from './openai/env';
import type { ImageProviderClient, SyncImageProviderClient } from './types';
import { VolcengineClient, volcengineOptionsFromEnv } from './volcengine/client';
import { VOLCENGINE_ENV } from './volcengine/env';

export * from './types';

export type ProviderClient = ImageProviderClient | SyncImageProviderClient;

/** Only the providers this process holds credentials for: a worker serves those and no others. */
export type ProviderClients = Partial<Record<ProviderKind, ProviderClient>>;

/** The variables each provider needs (a worker serves it only when all are set), for every message that names them. */
export const PROVIDER_CREDENTIALS: Readonly<Record<ProviderKind, readonly string[]>> = {
  volcengine: Object.values(VOLCENGINE_ENV.credentials),
  dashscope: Object.values(DASHSCOPE_ENV.credentials),
  fal: Object.values(FAL_ENV.credentials),
  openai: Object.values(OPENAI_ENV.credentials),
  comfyui: Object.values(COMFYUI_ENV.credentials),
};

/** The variable that overrides each provider's endpoint (`--endpoint` sets it). */
export const PROVIDER_ENDPOINT_VARIABLE: Readonly<Record<ProviderKind, string>> = {
  volcengine: VOLCENGINE_ENV.endpoint,
  dashscope: DASHSCOPE_ENV.endpoint,
  fal: FAL_ENV.endpoint,
  openai: OPENAI_ENV.endpoint,
  comfyui: COMFYUI_ENV.endpoint,
};

export function hasCredentials(kind: ProviderKind, env: NodeJS.ProcessEnv = process.env): boolean {
  return PROVIDER_CREDENTIALS[kind].every((name) => Boolean(env[name]));
}

/** "VOLC_ACCESSKEY and VOLC_SECRETKEY" / "DASHSCOPE_API_KEY". */
export const credentialNames = (kind: ProviderKind): string => PROVIDER_CREDENTIALS[kind].join(' and ');

/** "VOLC_ACCESSKEY and VOLC_SECRETKEY (volcengine), DASHSCOPE_API_KEY (dashscope), ... or COMFYUI_URL (comfyui)" */
export function allCredentialNames(): string {
  const each = PROVIDER_KINDS.map((k) => `${credentialNames(k)} (${k})`);
  return `${each.slice(0, -1).join(', ')} or ${each[each.length - 1]}`;
}

/** The providers whose credentials are set, in PROVIDER_KINDS order. */
export const providersWithCredentials = (env: NodeJS.ProcessEnv = process.env): ProviderKind[] =>
  PROVIDER_KINDS.filter((k) => hasCredentials(k, env));

/** IMAGEBATCH_HTTP_TIMEOUT_MS bounds each call of an asynchronous provider (default 30 s); OpenAI's one call is long. */
function clientFor(kind: ProviderKind, env: NodeJS.ProcessEnv, timeoutMs: number | undefined): ProviderClient {
  switch (kind) {
    case 'volcengine':
      return new VolcengineClient({ ...volcengineOptionsFromEnv(env), timeoutMs });
    case 'dashscope':
      return new DashscopeClient({ ...dashscopeOptionsFromEnv(env), timeoutMs });
    case 'fal':
      return new FalClient({ ...falOptionsFromEnv(env), timeoutMs });
    case 'openai':
      return new OpenaiClient(openaiOptionsFromEnv(env));
    case 'comfyui':
      return new ComfyuiClient({ ...comfyuiOptionsFromEnv(env), timeoutMs });
  }
}

/** A client for each provider whose credentials `env` holds (of `only`, when given). */
export function providersFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  only: readonly ProviderKind[] = PROVIDER_KINDS,
): ProviderClients {
  const timeoutMs = Number(env.IMAGEBATCH_HTTP_TIMEOUT_MS) || undefined;
  const out: ProviderClients = {};
  for (const kind of only) if (hasCredentials(kind, env)) out[kind] = clientFor(kind, env, timeoutMs);
  return out;
}

export const isSyncClient = (c: ProviderClient): c is SyncImageProviderClient => 'generate' in c;

/** The asynchronous client of `kind` (tools and tests that call a provider directly); throws when there is none. */
export function taskClient(providers: ProviderClients, kind: ProviderKind): ImageProviderClient {
  const client = providers[kind];
  if (!client || isSyncClient(client)) throw new Error(`no ${kind} task client: set ${credentialNames(kind)}`);
  return client;
}
