// The request an item made, as a manifest entry carries it: enough for `imagebatch run manifest.json` to ask for the
// same images again (and for a gallery to show prompt, size and seed without the items file).
import type { ImageItem, ProviderKind } from '../shared/types';

export interface ManifestRequest {
  /** The prompt as the items file gave it (`prompts` holds every prompt tried, simplified ones included). */
  prompt?: string;
  negativePrompt?: string;
  width?: number;
  height?: number;
  seed?: number;
  style?: string;
  params?: Record<string, unknown>;
  referenceImages?: string[];
  workflow?: string;
  group?: string;
  variant?: number;
  /** The item's own output name (rendered from its template); absent: `<id>.png`. */
  filename?: string;
  policy?: ImageItem['policy'];
  /** The item's own provider (or list) and model as asked for; absent: the batch's. The entry's `provider` and
   * `model` say what served it. */
  itemProvider?: ProviderKind | ProviderKind[];
  itemModel?: string;
}

/** The item's request fields an entry carries as they are (the reader of a manifest copies them back). */
export const KEPT = [
  'prompt',
  'negativePrompt',
  'width',
  'height',
  'seed',
  'style',
  'params',
  'referenceImages',
  'workflow',
  'group',
  'variant',
  'filename',
  'policy',
] as const satisfies readonly (keyof ImageItem & keyof ManifestRequest)[];

/** The item's request fields that are set (an absent field stays absent, so old entries keep their shape). */
export function requestOf(item: ImageItem): ManifestRequest {
  const out: Record<string, unknown> = {};
  for (const key of KEPT) if (item[key] !== undefined) out[key] = item[key];
  // -1 asks the provider for a random seed: asking again without a seed is the same request.
  if (item.seed !== undefined && item.seed < 0) delete out.seed;
  if (item.provider !== undefined) out.itemProvider = item.provider;
  if (item.model !== undefined) out.itemModel = item.model;
  return out as ManifestRequest;
}

/** An entry of an earlier manifest (a retried batch's): its request fields, carried over as they were. */
export function requestOfEntry(entry: ManifestRequest): ManifestRequest {
  const out: Record<string, unknown> = {};
  for (const key of [...KEPT, 'itemProvider', 'itemModel'] as const)
    if (entry[key] !== undefined) out[key] = entry[key];
  return out as ManifestRequest;
}

/** Per item id, the request of the batch's own items, and of an earlier manifest's entries (a retried batch's). */
export function requestsFor(
  items: ImageItem[],
  previous: (ManifestRequest & { id: string })[] = [],
): Map<string, ManifestRequest> {
  const out = new Map<string, ManifestRequest>();
  for (const entry of previous) out.set(entry.id, requestOfEntry(entry));
  for (const item of items) out.set(item.id, requestOf(item));
  return out;
}
