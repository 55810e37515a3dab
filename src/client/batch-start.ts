// Starting a batch: its id, its workflow, and the lines that say where to find it.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { BatchInput } from '../shared/batch-types';
import { SAFE_NAME } from '../shared/item-schema';
import { ImageBatchId } from '../shared/search-attributes';
import type { batchWorkflow } from '../workflows';
import { UsageError } from './exit-codes';
import { batchUiLink, type Session } from './session';

export const batchWorkflowId = (batchId: string) => `batch-${batchId}`;

/** A --batch-id whose batch runs: never joined. */
export const runningBatch = (batchId: string) =>
  new UsageError(
    `batch ${batchId} is running; \`imagebatch watch ${batchId}\` follows it, or choose another --batch-id`,
  );

/** A batch id given with --batch-id names a folder and a workflow: a plain name, or exit 2. */
export function checkBatchId(batchId: string): void {
  if (!SAFE_NAME.test(batchId))
    throw new UsageError(`--batch-id '${batchId}': use letters, digits, dot, dash or underscore`);
}

export function newBatchId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

export async function startBatch(session: Session, input: BatchInput, taskQueue: string) {
  const count = input.items.kind === 'inline' ? input.items.items.length : input.items.count;
  try {
    return await session.client.workflow.start<typeof batchWorkflow>('batchWorkflow', {
      taskQueue,
      workflowId: batchWorkflowId(input.batchId),
      args: [input],
      // Never join a running batch (checkBatchIdReuse refuses it first; this covers a start in between).
      workflowIdConflictPolicy: 'FAIL',
      typedSearchAttributes: [{ key: ImageBatchId, value: input.batchId }],
      staticSummary: `${input.itemsName ?? 'items'}: ${count} images → ${input.outDir}`,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw runningBatch(input.batchId);
    throw err;
  }
}

export function printStartBanner(session: Session, batchId: string, extra: string[] = []): void {
  const link = batchUiLink(session.uiUrl, session.target.namespace, batchWorkflowId(batchId));
  for (const line of extra) process.stderr.write(`${line}\n`);
  process.stderr.write(`Batch ${batchId} started (workflow ${batchWorkflowId(batchId)}).\n`);
  if (link) process.stderr.write(`Web UI: ${link}\n`);
}
