// Finding an existing batch on the server: its handle, whether it runs, its task queue, its input (and any
// workflow's input).
import { type Client, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { BatchInput } from '../shared/batch-types';
import type { batchWorkflow } from '../workflows';
import { batchWorkflowId } from './batch-start';
import { UsageError } from './exit-codes';

export type BatchHandle = WorkflowHandle<typeof batchWorkflow>;

export interface FoundBatch {
  batchId: string;
  /** How messages call it: `batch <id>`. */
  name: string;
  handle: BatchHandle;
  running: boolean;
  /** The workflow's status name (RUNNING, COMPLETED, CANCELED, TERMINATED...). */
  status: string;
  /** The queue its workers poll: control and progress need one of them to answer. */
  taskQueue: string;
}

export async function findBatch(client: Client, batchId: string): Promise<FoundBatch> {
  const handle = client.workflow.getHandle<typeof batchWorkflow>(batchWorkflowId(batchId));
  try {
    const d = await handle.describe();
    return {
      batchId,
      name: `batch ${batchId}`,
      handle,
      running: d.status.name === 'RUNNING',
      status: d.status.name,
      taskQueue: d.taskQueue,
    };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new UsageError(`no batch '${batchId}' (no workflow ${batchWorkflowId(batchId)})`);
    throw err;
  }
}

/** The input the batch's current run started with (output folder, items): its first history event only. */
export async function batchInputOf(client: Client, handle: BatchHandle): Promise<BatchInput> {
  return runInputOf<BatchInput>(client, handle.workflowId);
}

/** The first argument a workflow's current run started with. */
export async function runInputOf<T>(client: Client, workflowId: string): Promise<T> {
  const page = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId },
    maximumPageSize: 1,
  });
  const payload = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new Error(`cannot read the input of ${workflowId}`);
  return defaultPayloadConverter.fromPayload<T>(payload);
}
