// The providers imagebatch speaks, by name.

export const PROVIDER_KINDS = ['volcengine', 'dashscope'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];
