// Building and checking batches in tests.
import { createHash } from 'node:crypto';
import { withoutPngMetadata } from '../../src/output/png-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { isBatchFile } from '../../src/output/batch-folder';
import { type Manifest, readManifest as readManifestFile } from '../../src/output/manifest';
import type { SimulatorStats } from '../../src/providers/simulator/server';
import type { BatchInput } from '../../src/shared/batch-types';
import { ImageBatchId } from '../../src/shared/search-attributes';
import type { ImageItem } from '../../src/shared/types';
import type { batchWorkflow } from '../../src/workflows';
import { FAST_POLICY, walk } from './image-env';

export const makeItems = (
  count: number,
  prefix: string,
  extra: (i: number) => Partial<ImageItem> = () => ({}),
): ImageItem[] =>
  Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${i + 1}`,
    prompt: `${prefix} picture number ${i + 1}`,
    ...extra(i + 1),
  }));

/** Where a test batch runs: a client, the task queue its worker polls, and the folder its batch folders go in. */
export interface BatchTarget {
  client: Client;
  taskQueue: string;
  outDir: string;
}

export type TestBatchOptions = Partial<Omit<BatchInput, 'batchId' | 'outDir'>> & {
  /** Index the batch by ImageBatchId at start, as the CLI does (otherwise the workflow upserts it itself). */
  searchAttribute?: boolean;
};

/** Starts batchWorkflow as `batch-<batchId>` with its folder under the target's outDir (3 at a time, FAST_POLICY). */
export async function startTestBatch(
  target: BatchTarget,
  batchId: string,
  items: ImageItem[],
  { searchAttribute, ...overrides }: TestBatchOptions = {},
) {
  const outDir = path.join(target.outDir, batchId);
  const input: BatchInput = {
    batchId,
    items: { kind: 'inline', items },
    outDir,
    provider: 'volcengine',
    concurrency: 3,
    policy: FAST_POLICY,
    ...overrides,
  };
  const handle = await target.client.workflow.start<typeof batchWorkflow>('batchWorkflow', {
    taskQueue: target.taskQueue,
    workflowId: `batch-${batchId}`,
    typedSearchAttributes: searchAttribute ? [{ key: ImageBatchId, value: batchId }] : undefined,
    args: [input],
  });
  return { handle, batchId, outDir, input };
}

export function readManifest(outDir: string): Manifest {
  const m = readManifestFile(outDir);
  if (!m) throw new Error(`no manifest in ${outDir}`);
  return m;
}

/** Every succeeded item's file exists once, with the sha256 the simulator served for its task; no tmp files. */
export function expectOutputsIntact(outDir: string, stats: SimulatorStats): Manifest {
  const m = readManifest(outDir);
  const files = walk(outDir).filter((f) => !isBatchFile(f));
  expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  const succeeded = m.items.filter((e) => e.status === 'succeeded');
  expect(files.sort()).toEqual(succeeded.map((e) => e.file!).sort());
  for (const e of succeeded) {
    const data = fs.readFileSync(path.join(outDir, e.file!));
    const sha = createHash('sha256').update(data).digest('hex');
    expect(sha).toBe(e.sha256);
    // The stored PNG carries imagebatch's metadata chunks; without them it is the provider's exact bytes.
    const served = e.file!.endsWith('.png') ? withoutPngMetadata(data) : data;
    if (!e.skipped) expect(stats.served[e.providerTaskId!]).toBe(createHash('sha256').update(served).digest('hex'));
  }
  return m;
}

/**
 * Every child the batch ever started, read from the histories of all its runs (newest back to the first):
 * unlike visibility (list queries), histories are strongly consistent.
 */
export async function childrenOf(client: Client, batchWorkflowId: string): Promise<string[]> {
  const ids = new Set<string>();
  let runId: string | undefined = (await client.workflow.getHandle(batchWorkflowId).describe()).runId;
  while (runId) {
    const history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> = await client.workflow
      .getHandle(batchWorkflowId, runId)
      .fetchHistory();
    runId = undefined;
    for (const e of history.events ?? []) {
      const started = e.workflowExecutionStartedEventAttributes;
      if (started) runId = started.continuedExecutionRunId || undefined;
      const child = e.startChildWorkflowExecutionInitiatedEventAttributes;
      if (child?.workflowId) ids.add(child.workflowId);
    }
  }
  return [...ids];
}

/**
 * How each child of the batch ended, once it has ended. A child reports to the batch just before it closes, so
 * right after the batch's result a child may still be closing: wait for each one rather than read visibility.
 */
export async function childOutcomes(client: Client, batchWorkflowId: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const id of await childrenOf(client, batchWorkflowId)) {
    const handle = client.workflow.getHandle(id);
    await handle.result().catch(() => undefined);
    out[id] = (await handle.describe()).status.name;
  }
  return out;
}

/**
 * Terminates a batch left open by a test, and the images it started (ABANDONed children outlive it). The batch
 * first, so it starts no more; its children are read from its histories, which are final once it is terminated.
 */
export async function terminateBatchAndImages(client: Client, batchId: string): Promise<void> {
  const batch = `batch-${batchId}`;
  await client.workflow
    .getHandle(batch)
    .terminate('test cleanup')
    .catch(() => undefined);
  const children = await childrenOf(client, batch).catch(() => []);
  for (const id of children)
    await client.workflow
      .getHandle(id)
      .terminate('test cleanup')
      .catch(() => undefined);
}
