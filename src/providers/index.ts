// Provider clients by kind, configured from the environment (credentials never leave the worker process).
import type { ProviderKind } from '../shared/types';
import { DashscopeClient, dashscopeOptionsFromEnv } from './dashscope/client';
import type { ImageProviderClient } from './types';
import { VolcengineClient, volcengineOptionsFromEnv } from './volcengine/client';

export * from './types';

export type ProviderClients = Record<ProviderKind, ImageProviderClient>;

/** IMAGEBATCH_HTTP_TIMEOUT_MS bounds each provider call (default 30 s, the old tools' submit timeout). */
export function providersFromEnv(env: NodeJS.ProcessEnv = process.env): ProviderClients {
  const timeoutMs = Number(env.IMAGEBATCH_HTTP_TIMEOUT_MS) || undefined;
  return {
    volcengine: new VolcengineClient({ ...volcengineOptionsFromEnv(env), timeoutMs }),
    dashscope: new DashscopeClient({ ...dashscopeOptionsFromEnv(env), timeoutMs }),
  };
}

export function hasCredentials(kind: ProviderKind, env: NodeJS.ProcessEnv = process.env): boolean {
  return kind === 'volcengine' ? Boolean(env.VOLC_ACCESSKEY && env.VOLC_SECRETKEY) : Boolean(env.DASHSCOPE_API_KEY);
}
