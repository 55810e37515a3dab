// The providers imagebatch speaks, by name, and where their activities run.

export const PROVIDER_KINDS = ['volcengine', 'dashscope', 'fal', 'openai', 'comfyui'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** Providers that answer with the image in one long call (no task to poll or cancel). */
export const SYNC_PROVIDER_KINDS: readonly ProviderKind[] = ['openai'];

export const isSyncProvider = (kind: ProviderKind): boolean => SYNC_PROVIDER_KINDS.includes(kind);

/**
 * The task queue of a provider's activities (submit, poll, generate, cancel, open its account): only workers that
 * hold that provider's credentials poll it, so a task never lands on a worker that cannot call the provider, and
 * waits (rather than fails) while no such worker runs. Workflows stay on the batch's own queue.
 */
export const providerTaskQueue = (taskQueue: string, kind: ProviderKind): string => `${taskQueue}@${kind}`;

/** The providers to try for an item, in order: the item's own (one or a list), else the batch's list or provider. */
export function providerOrder(
  itemProvider: ProviderKind | readonly ProviderKind[] | undefined,
  batch: { provider: ProviderKind; providers?: readonly ProviderKind[] },
): ProviderKind[] {
  if (typeof itemProvider === 'string') return [itemProvider];
  if (itemProvider?.length) return [...itemProvider];
  return batch.providers?.length ? [...batch.providers] : [batch.provider];
}

/** Providers whose API has no seed (OpenAI Images): an item's seed is not what made the image, so none is recorded. */
export const takesSeed = (kind: ProviderKind): boolean => kind !== 'openai';

/**
 * Providers whose submit takes a client-made id (ComfyUI's prompt_id, derived from the submit's key): a retried
 * submit finds the job an earlier attempt queued, so the earlier attempts cannot have made (and billed) another.
 */
export const submitIsIdempotent = (kind: ProviderKind): boolean => kind === 'comfyui';
