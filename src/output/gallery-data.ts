// What the gallery page is given of a manifest: only what it shows, so the page of a large batch stays smaller than
// its manifest.
import type { Manifest, ManifestEntry } from './manifest';

export interface GalleryItem {
  id: string;
  status: ManifestEntry['status'];
  /** Relative to the page, with `/` separators (a URL path, not a file path). */
  file?: string;
  /** Every prompt tried, the original first; more than one: the prompt was simplified. */
  prompts: string[];
  provider: string;
  model?: string;
  seed?: number;
  width?: number;
  height?: number;
  attempts: number;
  skipped?: boolean;
  error?: string;
  errorType?: string;
  group?: string;
  variant?: number;
  /** Fallback: the providers tried before the last, and why each was left. */
  tried?: { provider: string; reason?: string }[];
}

export interface GalleryData {
  batchId: string;
  retryOf?: string;
  simulated?: boolean;
  stopped?: string;
  startedAt?: string;
  writtenAt: string;
  counts: Record<string, number>;
  items: GalleryItem[];
}

/** Drops what is absent, so 10,000 items do not carry 10,000 `"model":undefined`s' worth of keys. */
function defined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function galleryItem(e: ManifestEntry): GalleryItem {
  return defined({
    id: e.id,
    status: e.status,
    // Written on Windows the manifest holds `\` separators; a URL wants `/`.
    file: e.file ? e.file.split(/[\\/]/).join('/') : undefined,
    // An item that never ran tried no prompt; its request's prompt is still worth showing.
    prompts: e.prompts?.length ? e.prompts : e.prompt ? [e.prompt] : [],
    provider: e.provider,
    model: e.model,
    seed: e.seed,
    width: e.width,
    height: e.height,
    attempts: e.attempts ?? 0,
    skipped: e.skipped || undefined,
    error: e.error,
    errorType: e.errorType,
    group: e.group,
    variant: e.variant,
    tried: e.tried?.length ? e.tried.map((t) => defined({ provider: t.provider, reason: t.reason })) : undefined,
  });
}

export function galleryData(m: Manifest): GalleryData {
  return defined({
    batchId: m.batchId,
    retryOf: m.retryOf,
    simulated: m.simulated,
    stopped: m.stopped,
    startedAt: m.startedAt,
    writtenAt: m.writtenAt,
    counts: m.counts ?? {},
    items: (m.items ?? []).map(galleryItem),
  });
}
