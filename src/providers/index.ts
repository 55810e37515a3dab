// Provider clients by kind, configured from the environment (credentials never leave the worker process).
import type { ProviderKind } from '../shared/types';
import { DashscopeClient, dashscopeOptionsFromEnv } from './dashscope/client';
import type { ImageProviderClient } from './types';
import { VolcengineClient, volcengineOptionsFromEnv } from './volcengine/client';

export * from './types';

export type ProviderClients = Record<ProviderKind, ImageProviderClient>;

export function providersFromEnv(env: NodeJS.ProcessEnv = process.env): ProviderClients {
  return {
    volcengine: new VolcengineClient(volcengineOptionsFromEnv(env)),
    dashscope: new DashscopeClient(dashscopeOptionsFromEnv(env)),
  };
}

export function hasCredentials(kind: ProviderKind, env: NodeJS.ProcessEnv = process.env): boolean {
  return kind === 'volcengine' ? Boolean(env.VOLC_ACCESSKEY && env.VOLC_SECRETKEY) : Boolean(env.DASHSCOPE_API_KEY);
}
