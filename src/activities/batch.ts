// Batch activities: page items in from the stored items file, record item results, write the manifest.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, getClient } from '@temporalio/activity';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { ItemsSource } from '../shared/batch-types';
import { childClosedResult, failedImageResult } from '../shared/child-results';
import { ImageProvider } from '../shared/search-attributes';
import type { ImageItem, ImageResult, ProviderKind } from '../shared/types';

/** Where a batch keeps its own files, beside its images. */
export const stateDir = (outDir: string) => path.join(outDir, '.imagebatch');
export const resultsFile = (outDir: string) => path.join(stateDir(outDir), 'results.jsonl');
export const manifestFile = (outDir: string) => path.join(outDir, 'manifest.json');
/** The submitted-task journal (task-journal.ts). */
export const tasksDir = (outDir: string) => path.join(stateDir(outDir), 'tasks');

/** One parsed items file per worker process: paging a 100,000-item file must not re-read it per page. */
let cached: { key: string; items: ImageItem[] } | undefined;

async function readItemsFile(file: string, sha256: string): Promise<ImageItem[]> {
  const key = `${file}\u0000${sha256}`;
  if (cached?.key === key) return cached.items;
  const data = await fs.promises.readFile(file);
  const actual = createHash('sha256').update(data).digest('hex');
  if (actual !== sha256) {
    throw ApplicationFailure.nonRetryable(
      `items file ${file} changed since the batch started (sha256 ${actual}, expected ${sha256})`,
      'ItemsFileChanged',
    );
  }
  const items = data
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as ImageItem);
  cached = { key, items };
  return items;
}

const CLOSED: string[] = ['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT'];

export interface ResultRecord extends ImageResult {
  /** Workflow time of the report and its order in the batch, so the latest record per item wins. */
  at: number;
  seq: number;
}

export interface ManifestEntry extends Omit<ImageResult, 'itemId' | 'file'> {
  id: string;
  file: string | null;
}

export interface Manifest {
  batchId: string;
  retryOf?: string;
  writtenAt: string;
  counts: Record<string, number>;
  items: ManifestEntry[];
}

export function createBatchActivities() {
  async function loadItemsPage(input: {
    path: string;
    sha256: string;
    offset: number;
    limit: number;
  }): Promise<ImageItem[]> {
    const items = await readItemsFile(input.path, input.sha256);
    return items.slice(input.offset, input.offset + input.limit);
  }

  async function loadItemsById(input: { path: string; sha256: string; ids: string[] }): Promise<ImageItem[]> {
    const want = new Set(input.ids);
    return (await readItemsFile(input.path, input.sha256)).filter((i) => want.has(i.id));
  }

  /** Appends results; a retried append only repeats lines, which the manifest de-duplicates. */
  async function recordResults(input: { outDir: string; results: ResultRecord[] }): Promise<void> {
    if (!input.results.length) return;
    await fs.promises.mkdir(stateDir(input.outDir), { recursive: true });
    await fs.promises.appendFile(
      resultsFile(input.outDir),
      input.results.map((r) => JSON.stringify(r)).join('\n') + '\n',
    );
  }

  /** Writes `<outDir>/manifest.json` atomically: one entry per item of the batch (and of the batch it retries). */
  async function writeManifest(input: {
    outDir: string;
    batchId: string;
    items: ItemsSource;
    retryOf?: string;
    cancelled: boolean;
    provider: ProviderKind;
  }): Promise<string> {
    const latest = new Map<string, ResultRecord>();
    const text = await fs.promises.readFile(resultsFile(input.outDir), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let r: ResultRecord;
      try {
        r = JSON.parse(line);
      } catch {
        continue; // a line cut by a crash mid-append; its retry wrote it whole
      }
      const prev = latest.get(r.itemId);
      if (!prev || r.at > prev.at || (r.at === prev.at && r.seq >= prev.seq)) latest.set(r.itemId, r);
    }
    const ids: string[] = [];
    if (input.retryOf) {
      const previous = JSON.parse(
        await fs.promises.readFile(manifestFile(input.outDir), 'utf8').catch(() => '{"items":[]}'),
      ) as Manifest;
      ids.push(...previous.items.map((e) => e.id));
    }
    const own =
      input.items.kind === 'inline' ? input.items.items : await readItemsFile(input.items.path, input.items.sha256);
    const seen = new Set(ids);
    for (const item of own) if (!seen.has(item.id)) ids.push(item.id);

    const counts: Record<string, number> = { succeeded: 0, failed: 0, cancelled: 0, skipped: 0 };
    const items = ids.map((id): ManifestEntry => {
      const r = latest.get(id);
      if (!r) {
        counts.cancelled++;
        return {
          id,
          status: 'cancelled',
          file: null,
          provider: input.provider,
          attempts: 0,
          prompts: [],
          error: input.cancelled ? 'batch cancelled before the item started' : 'no result recorded',
        };
      }
      counts[r.status]++;
      if (r.skipped) counts.skipped++;
      const { itemId: _i, at: _a, seq: _s, file, ...rest } = r;
      return { id, ...rest, file: file ? path.relative(input.outDir, file) : null };
    });
    const manifest: Manifest = {
      batchId: input.batchId,
      retryOf: input.retryOf,
      writtenAt: new Date().toISOString(),
      counts,
      items,
    };
    const target = manifestFile(input.outDir);
    await fs.promises.mkdir(input.outDir, { recursive: true });
    await fs.promises.writeFile(`${target}.tmp`, JSON.stringify(manifest, null, 2));
    await fs.promises.rename(`${target}.tmp`, target);
    // Every item has reported: no submit is left to resume, so the journal goes (entries of cancelled or failed
    // items would otherwise stay).
    await fs.promises.rm(tasksDir(input.outDir), { recursive: true, force: true });
    return target;
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

  return { loadItemsPage, loadItemsById, recordResults, writeManifest, closedChildren };
}
