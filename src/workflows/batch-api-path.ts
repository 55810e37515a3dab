// The batch's way to OpenAI's Batch API (`--batch-api`): instead of one image child per item, the items the window
// hands out go into job workflows (batch-api-job.ts), one model and at most one file's limit each. Jobs report their
// items by signal in groups and their state for the progress; the ledger sees each item in flight under its job.
import {
  isCancellation,
  ParentClosePolicy,
  setHandler,
  startChild,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import {
  BATCH_DEFAULT_MODEL,
  BATCH_FILE_LINES,
  type BatchApiJobState,
  batchApiJobSignal,
  imagesFinishedSignal,
  JOB_INPUT_BYTES,
  type JobLine,
} from '../shared/batch-api';
import type { BatchInput } from '../shared/batch-types';
import { childClosedResult } from '../shared/child-results';
import { asMarkdownText } from '../shared/markdown';
import { cleanPrompt } from '../shared/prompt';
import { ImageBatchId } from '../shared/search-attributes';
import { batchApiJobWorkflow } from './batch-api-job';
import type { BatchAccounts } from './batch-children';
import type { BatchLedger, ItemLoader, NextImage } from './batch-ledger';

/** Jobs started in one pass of the window loop at most, to keep each workflow task short. */
const JOBS_PER_PASS = 20;

export class BatchApiPath {
  /** Each job's latest state, by job workflow id, for the progress query (a new run learns them at their next poll). */
  private readonly jobs = new Map<string, BatchApiJobState>();

  constructor(
    private readonly input: BatchInput,
    private readonly ledger: BatchLedger,
    private readonly accounts: BatchAccounts,
  ) {
    setHandler(imagesFinishedSignal, (results) => results.forEach((r) => ledger.settle(r)));
    setHandler(batchApiJobSignal, (s) => void this.jobs.set(s.workflowId, s));
  }

  /** For the progress query: every job this run has heard of, oldest first. */
  progress(): { batchJobs: BatchApiJobState[] } {
    return { batchJobs: [...this.jobs.values()] };
  }

  /** Hands the items the window lets go to new jobs, as many as it lets go now. */
  async startJobs(items: ItemLoader): Promise<void> {
    const maxLines = this.input.batchApi?.maxLines ?? BATCH_FILE_LINES;
    for (let pass = 0; pass < JOBS_PER_PASS; pass++) {
      const room = this.ledger.room(maxLines);
      if (room <= 0) return;
      const next = await this.ledger.takeNext(room, items);
      if (!next.length) return;
      await Promise.all(groups(next, maxLines).map((g) => this.startJob(g)));
    }
  }

  private async startJob(group: NextImage[]): Promise<void> {
    const batchWorkflowId = workflowInfo().workflowId;
    const first = group[0];
    const workflowId = `${batchWorkflowId}/job-${first.item.id}${first.round ? `-r${first.round}` : ''}`;
    const policy = (n: NextImage) => ({ ...this.input.policy, ...n.item.policy });
    const lines: JobLine[] = group.map((n) => {
      const prompt = cleanPrompt(n.item.prompt);
      return {
        item: n.item,
        prompt,
        prompts: [prompt],
        attempts: 0,
        tasks: 0,
        simplificationsLeft: policy(n).simplifications,
        retriesLeft: policy(n).retries,
        ...(n.maxSubmissions !== undefined ? { maxSubmissions: n.maxSubmissions } : {}),
      };
    });
    for (const n of group) this.ledger.started(n.item.id, workflowId, n.item);
    this.jobs.set(workflowId, {
      workflowId,
      round: 0,
      status: 'preparing',
      lines: lines.length,
      completed: 0,
      failed: 0,
    });
    const account = this.accounts.openNow('openai');
    try {
      const job = await startChild(batchApiJobWorkflow, {
        workflowId,
        args: [
          {
            batchId: this.input.batchId,
            reportTo: batchWorkflowId,
            outDir: this.input.outDir,
            model: modelOf(first),
            policy: this.input.policy,
            settings: this.input.batchApi ?? { retry: 'next-job' },
            ...(account ? { account } : {}),
            lines,
            round: 0,
          },
        ],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        typedSearchAttributes: [{ key: ImageBatchId, value: this.input.batchId }],
        staticSummary: asMarkdownText(`Batch API job: ${lines.length} line(s) from ${first.item.id}`),
      });
      // A job that closed without reporting its items (terminated, failed) would leave them in flight for ever.
      const settleUnreported = (outcome: unknown) => {
        for (const n of group)
          if (this.ledger.isCurrentChild(n.item.id, workflowId))
            this.ledger.settle(
              childClosedResult({
                itemId: n.item.id,
                provider: 'openai',
                childId: workflowId,
                how: outcome instanceof Error ? outcome.message : 'no result for the item',
                cancelled: isCancellation(outcome),
                prompts: [n.item.prompt],
              }),
            );
      };
      job.result().then(settleUnreported, settleUnreported);
    } catch (err) {
      // Already running under that id (a start whose answer this run never saw): it will report by signal.
      if ((err as Error).name === 'WorkflowExecutionAlreadyStartedError') return;
      throw err;
    }
  }
}

const modelOf = (n: NextImage): string => n.item.model ?? BATCH_DEFAULT_MODEL;

/**
 * The items in jobs: one model per job, at most `maxLines` lines, and a job's items well under Temporal's payload
 * cap (a job carries its items in its input).
 */
function groups(next: NextImage[], maxLines: number): NextImage[][] {
  const byModel = new Map<string, NextImage[]>();
  for (const n of next) byModel.set(modelOf(n), [...(byModel.get(modelOf(n)) ?? []), n]);
  const out: NextImage[][] = [];
  for (const same of byModel.values()) {
    let group: NextImage[] = [];
    let bytes = 0;
    for (const n of same) {
      const size = JSON.stringify(n.item).length + 200;
      if (group.length && (group.length >= maxLines || bytes + size > JOB_INPUT_BYTES)) {
        out.push(group);
        group = [];
        bytes = 0;
      }
      group.push(n);
      bytes += size;
    }
    if (group.length) out.push(group);
  }
  return out;
}
