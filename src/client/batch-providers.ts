// The providers a batch's items name of their own (beyond the batch's --provider): a worker this process runs for
// the batch must serve them too, or their images would wait for ever on a provider queue nobody polls.
import { readItems } from '../output/items-copy';
import type { BatchInput } from '../shared/batch-types';
import { providerOrder } from '../shared/providers';
import type { ProviderKind } from '../shared/types';

export async function itemProvidersOf(input: BatchInput): Promise<ProviderKind[]> {
  // An items copy this machine cannot read (another machine's folder) names nothing here; its workers must serve it.
  const items = await readItems(input.items).catch(() => []);
  const kinds = new Set<ProviderKind>();
  for (const item of items) if (item.provider) for (const k of providerOrder(item.provider, input)) kinds.add(k);
  return [...kinds];
}
