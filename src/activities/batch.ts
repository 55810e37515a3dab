// Batch activities: page items in from the items copy, record item results, write the manifest, and find the
// children an earlier run started that closed. The batch folder's files belong to src/output.
import { ApplicationFailure, getClient, log } from '@temporalio/activity';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { BATCH_FILES } from '../output/batch-folder';
import { ItemsCopyChanged, readItems } from '../output/items-copy';
import { writeGallery } from '../output/gallery';
import { buildManifest, type Manifest, readStoredManifest, writeManifestFile } from '../output/manifest';
import { requestsFor } from '../output/manifest-request';
import { appendResults, latestResults } from '../output/results-log';
import type { ItemsSource, ResultRecord } from '../shared/batch-types';
import { childClosedResult, failedImageResult } from '../shared/child-results';
import { ErrorType } from '../shared/errors';
import { ImageProvider } from '../shared/search-attributes';
import type { ImageItem, ImageResult, ProviderKind } from '../shared/types';
import { openStore } from '../storage/open-store';
import { writingIn } from './local-storage';

type ItemsCopy = Extract<ItemsSource, { kind: 'file' }>;

/** The items of a copy; a copy changed since the batch started fails the batch rather than change it. */
async function itemsOf(copy: Pick<ItemsCopy, 'path' | 'sha256'>): Promise<ImageItem[]> {
  try {
    return await readItems({ kind: 'file', count: 0, pageSize: 0, ...copy });
  } catch (err) {
    if (err instanceof ItemsCopyChanged) throw ApplicationFailure.nonRetryable(err.message, ErrorType.ItemsFileChanged);
    throw err;
  }
}

const CLOSED: string[] = ['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT'];

export function createBatchActivities() {
  async function loadItemsPage(input: {
    path: string;
    sha256: string;
    offset: number;
    limit: number;
  }): Promise<ImageItem[]> {
    return (await itemsOf(input)).slice(input.offset, input.offset + input.limit);
  }

  async function loadItemsById(input: { path: string; sha256: string; ids: string[] }): Promise<ImageItem[]> {
    const want = new Set(input.ids);
    return (await itemsOf(input)).filter((i) => want.has(i.id));
  }

  /** Where the named items stand in the items copy (id -> index); ids not in it are left out. */
  async function locateItems(input: { path: string; sha256: string; ids: string[] }): Promise<Record<string, number>> {
    const want = new Set(input.ids);
    const found: Record<string, number> = {};
    (await itemsOf(input)).forEach((item, index) => want.has(item.id) && (found[item.id] = index));
    return found;
  }

  /**
   * Appends results; a retried append only repeats lines, which the manifest de-duplicates. A full or unwritable
   * folder is a retryable LocalStorage failure: the batch waits (starting nothing) until there is room again.
   */
  async function recordResults(input: { outDir: string; results: ResultRecord[] }): Promise<void> {
    await writingIn(input.outDir, true, () => appendResults(input.outDir, input.results));
  }

  /** Writes `<outDir>/manifest.json` atomically: one entry per item of the batch (and of the batch it retries). */
  async function writeManifest(input: {
    outDir: string;
    batchId: string;
    items: ItemsSource;
    retryOf?: string;
    cancelled: boolean;
    /** The batch stopped with items not run (its budget is spent): the manifest says why, and keeps the journal. */
    stopped?: string;
    provider: ProviderKind;
    /** The batch's images come from the provider simulator: the manifest says so. */
    simulated?: boolean;
    /** When the batch started (ISO), for the manifest and the gallery's timings. */
    startedAt?: string;
  }): Promise<string> {
    const previous = input.retryOf
      ? (await writingIn(input.outDir, true, () => readStoredManifest(input.outDir)))?.items
      : undefined;
    const ids = previous?.map((e) => e.id) ?? [];
    const own = input.items.kind === 'inline' ? input.items.items : await itemsOf(input.items);
    const seen = new Set(ids);
    for (const item of own) if (!seen.has(item.id)) ids.push(item.id);
    const manifest = buildManifest({
      dir: input.outDir,
      batchId: input.batchId,
      retryOf: input.retryOf,
      ids,
      latest: await writingIn(input.outDir, true, () => latestResults(input.outDir)),
      cancelled: input.cancelled,
      stopped: input.stopped,
      provider: input.provider,
      simulated: input.simulated,
      startedAt: input.startedAt,
      requests: requestsFor(own, previous),
      now: new Date(),
    });
    // As recordResults: retried until the folder can be written again.
    const written = await writingIn(input.outDir, true, async () => {
      const target = await writeManifestFile(input.outDir, manifest);
      if (input.stopped) return target;
      // Every item has reported: no submit is left to resume, so the journal goes (entries of cancelled or failed
      // items would otherwise stay).
      await openStore(input.outDir).remove(BATCH_FILES.tasks);
      return target;
    });
    await writeGalleryOrWarn(input.outDir, manifest);
    return written;
  }

  /**
   * The gallery is a view of the manifest: one that cannot be written (or built) is logged and left, never a reason
   * to fail or hold up the batch, whose manifest is already written; `imagebatch report` writes it again.
   */
  async function writeGalleryOrWarn(outDir: string, manifest: Manifest): Promise<void> {
    try {
      await writeGallery(outDir, manifest);
    } catch (err) {
      log.warn(`the gallery (index.html) of ${outDir} was not written: ${(err as Error).message}`);
    }
  }

  /**
   * The results of those children that have closed: what they returned or failed with, or a ChildClosed failure for
   * one that was terminated or timed out. A batch run cannot await the children an earlier run started.
   */
  async function closedChildren(input: { children: { itemId: string; childId: string }[] }): Promise<ImageResult[]> {
    const client = getClient();
    const out: ImageResult[] = [];
    for (const { itemId, childId } of input.children) {
      const handle = client.workflow.getHandle(childId);
      const described = await handle.describe().catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return undefined; // closed long ago, gone with the retention
        throw err;
      });
      const status = described?.status.name ?? 'NOT FOUND';
      if (described && !CLOSED.includes(status)) continue;
      const result = described
        ? await handle.result().then(
            (r) => r as ImageResult,
            (err: unknown) => {
              // Any other error is the call's, not the child's: the activity's retry asks again.
              if (!(err instanceof WorkflowFailedError)) throw err;
              return failedImageResult(err.cause);
            },
          )
        : undefined;
      out.push(
        result ??
          childClosedResult({
            itemId,
            provider: (described?.typedSearchAttributes.get(ImageProvider) ?? 'volcengine') as ProviderKind,
            childId,
            how: status.toLowerCase().replace('_', ' '),
            cancelled: status === 'CANCELLED',
            prompts: [],
          }),
      );
    }
    return out;
  }

  return { loadItemsPage, loadItemsById, locateItems, recordResults, writeManifest, closedChildren };
}
