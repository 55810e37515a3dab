// One OpenAI Batch API job as a workflow: prepare the file, create the job (never two for the same lines: its key is
// in the job's metadata and found again before any create), wait with durable timers and poll cheaply, then read
// the results into images and report them to the batch. Lines that go again (moderation simplified, rate limited,
// expired) make the next job: this workflow continues as new with them, so its history never grows with the wait.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  ParentClosePolicy,
  patched,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import {
  type BatchApiJobInput,
  type BatchApiJobState,
  batchApiJobSignal,
  customIdOf,
  DEFAULT_FIRST_POLL_MS,
  DEFAULT_MAX_POLL_MS,
  imagesFinishedSignal,
  type JobLine,
  type JobView,
  type LineOutcome,
  type PrepareJobOutput,
  refusedForQueue,
} from '../shared/batch-api';
import { ErrorType } from '../shared/errors';
import type { ImageResult } from '../shared/types';
import { batchApiActivities } from './batch-api-activities';
import { settleLines } from './batch-api-lines';
import { imageWorkflow } from './image';

const ENDED = new Set(['completed', 'failed', 'expired', 'cancelled']);
/** Results go to the batch in groups of this many: one signal each, never one per image. */
const REPORT_GROUP = 200;
/** Patch: a job refused in validation (not at its create) is made again instead of failing its lines. */
const REFUSED_IN_VALIDATION = 'batch-api-refused-in-validation';
/** Patch: a cancel while the job waits for the enqueued limit ends the wait; no job is made after it. */
const CANCEL_WHILE_QUEUED = 'batch-api-cancel-while-queued';

export async function batchApiJobWorkflow(input: BatchApiJobInput): Promise<void> {
  const workflowId = workflowInfo().workflowId;
  const key = `${workflowId}#${input.round}`;
  const acts = batchApiActivities(input.account);
  const batch = getExternalWorkflowHandle(input.reportTo);
  const ids = input.lines.map((l, i) => customIdOf(i, l.item.id));
  const state: BatchApiJobState = {
    workflowId,
    round: input.round,
    status: 'preparing',
    lines: input.lines.length,
    completed: 0,
    failed: 0,
  };
  const tell = (change: Partial<BatchApiJobState>) => {
    Object.assign(state, change);
    // The batch may be between runs or gone: its progress is all this feeds.
    return batch.signal(batchApiJobSignal, { ...state }).catch(() => undefined);
  };
  const report = async (results: ImageResult[]) => {
    for (let i = 0; i < results.length; i += REPORT_GROUP)
      await batch.signal(imagesFinishedSignal, results.slice(i, i + REPORT_GROUP));
  };

  // The Batch API sends generations only: an item with reference images (an edit) fails with the reason.
  const [edits, lines] = partition(input.lines, (l) => Boolean(l.item.referenceImages?.length));
  await report(
    edits.map((l) => failed(l, input.model, 'the Batch API path sends generations only (no reference images)')),
  );
  const lineIds = lines.map((l) => ids[input.lines.indexOf(l)]);

  let cancelled = false;
  let job: JobView | undefined;
  let prepared: PrepareJobOutput = { existing: {} };
  const root = CancellationScope.current();
  // Prepare and create are not cut short by a cancel: a create whose answer was lost would leave a job running.
  const made = await CancellationScope.nonCancellable(async () => {
    try {
      prepared = await acts.prepareBatchJob({
        key,
        outDir: input.outDir,
        lines: lines.map((l, i) => ({
          customId: lineIds[i],
          itemId: l.item.id,
          ...(l.item.filename ? { filename: l.item.filename } : {}),
          request: { ...requestOf(l), model: input.model },
        })),
        maxLines: input.settings.maxLines,
        maxBytes: input.settings.maxBytes,
      });
      if (!prepared.file) return undefined;
      for (let n = 1; ; n++) {
        const answer = await acts.createBatchJob({
          key,
          fileId: prepared.file.id,
          fileCreatedAt: prepared.file.createdAt,
        });
        if ('job' in answer) return answer.job;
        // The account's enqueued limit is full: this job waits its turn in its own lane; it never fails the items.
        await tell({ status: 'queued' });
        const wait = Math.min(pollWait(input, n), DEFAULT_MAX_POLL_MS);
        // A cancel while the job waits its turn: no job is made for lines nobody wants any more.
        if (!patched(CANCEL_WHILE_QUEUED)) await sleep(wait);
        else if (await condition(() => root.consideredCancelled, wait)) return { notCreated: true } as const;
      }
    } catch (err) {
      if (isCancellation(err)) throw err;
      return ApplicationFailure.fromError(err).message;
    }
  });
  if (typeof made === 'string') {
    await report(lines.map((l) => failed(l, input.model, `the batch job could not be created: ${made}`)));
    return;
  }
  if (made && 'notCreated' in made) {
    const why = 'cancelled before its batch job was created';
    await CancellationScope.nonCancellable(() => report(lines.map((l) => cancelledLine(l, input.model, why))));
    return;
  }
  job = made;

  if (job) {
    await tell({ jobId: job.id, status: job.status, ...counts(job) });
    try {
      for (let n = 1; !ENDED.has(job.status); n++) {
        await sleep(pollWait(input, n));
        job = await acts.pollBatchJob({ jobId: job.id });
        await tell({ status: job.status, ...counts(job) });
      }
    } catch (err) {
      if (!isCancellation(err)) throw err;
      cancelled = true;
      // The batch was cancelled: the job is cancelled too, and what it finished is still collected.
      job = await CancellationScope.nonCancellable(() => cancelAndWait(input, job!, tell));
    }
  }

  if (job && !cancelled && refusedForQueue(job) && patched(REFUSED_IN_VALIDATION)) {
    // OpenAI may refuse for the enqueued limit in validation, after the create answered: the same job again after a
    // wait (same key and file: a refused job is never taken for the key), never failing the items.
    await tell({ jobId: undefined, status: 'queued' });
    await sleep(pollWait(input, 4));
    await continueAsNew<typeof batchApiJobWorkflow>({ ...input, lines });
  }

  const outcomes: LineOutcome[] = [];
  if (job) {
    const fileIds = [job.outputFileId, job.errorFileId].filter((f): f is string => Boolean(f));
    const collected = await CancellationScope.nonCancellable(() =>
      acts.collectBatchJob({
        outDir: input.outDir,
        fileIds,
        lines: lines.map((l, i) => ({
          customId: lineIds[i],
          itemId: l.item.id,
          ...(l.item.filename ? { filename: l.item.filename } : {}),
          meta: {
            batchId: input.batchId,
            itemId: l.item.id,
            prompt: l.prompt,
            prompts: l.prompts,
            ...(l.item.width ? { width: l.item.width, height: l.item.height } : {}),
          },
        })),
      }),
    );
    outcomes.push(...collected);
  }
  const end = { jobId: job?.id, model: input.model, round: input.round, cancelled };
  const settled = settleLines(lines, lineIds, outcomes, prepared.existing, end, input.settings.retry === 'individual');
  if (job?.status === 'failed' && !outcomes.length) {
    // The job failed as a whole (a file OpenAI refused): every line fails with its reason; nothing ran.
    const why = job.errors.map((e) => `${e.code}: ${e.message}`).join('; ') || 'the batch job failed';
    settled.results = lines.map((l) => failed(l, input.model, why, ErrorType.InvalidRequest));
    settled.again = [];
    settled.individually = [];
  }
  await CancellationScope.nonCancellable(() => report(settled.results));
  await Promise.all(settled.individually.map((l) => oneByOne(input, l)));
  if (settled.again.length)
    await continueAsNew<typeof batchApiJobWorkflow>({ ...input, round: input.round + 1, lines: settled.again });
}

/** The waits between polls: the first poll after firstPollMs, each wait 1.5 times the last, at most maxPollMs. */
function pollWait(input: BatchApiJobInput, n: number): number {
  const first = input.settings.firstPollMs ?? DEFAULT_FIRST_POLL_MS;
  const max = input.settings.maxPollMs ?? DEFAULT_MAX_POLL_MS;
  return Math.min(max, Math.round(first * 1.5 ** (n - 1)));
}

async function cancelAndWait(
  input: BatchApiJobInput,
  job: JobView,
  tell: (c: Partial<BatchApiJobState>) => Promise<void>,
): Promise<JobView> {
  const acts = batchApiActivities(input.account);
  let now = await acts.cancelBatchJob({ jobId: job.id });
  await tell({ status: now.status, ...counts(now) });
  for (let n = 1; !ENDED.has(now.status); n++) {
    await sleep(pollWait(input, n));
    now = await acts.pollBatchJob({ jobId: job.id });
    await tell({ status: now.status, ...counts(now) });
  }
  return now;
}

/** `--batch-retry individual`: the simplified line as an image of its own (full price), reporting to the batch. */
async function oneByOne(input: BatchApiJobInput, l: JobLine): Promise<void> {
  const child = await startChild(imageWorkflow, {
    workflowId: `${workflowInfo().workflowId}/${l.item.id}`,
    args: [
      {
        batchId: input.batchId,
        item: { ...l.item, prompt: l.prompt, model: input.model },
        provider: 'openai',
        outDir: input.outDir,
        policy: { ...input.policy, ...l.item.policy, simplifications: l.simplificationsLeft },
        reportTo: input.reportTo,
        openAccount: true,
        ...(l.maxSubmissions !== undefined ? { maxSubmissions: Math.max(1, l.maxSubmissions - l.tasks) } : {}),
        providers: ['openai'],
      },
    ],
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
  });
  await child.result().catch(() => undefined);
}

/** What goes to the provider for the line: the item without where its result goes and how it is run (as an image's). */
function requestOf(l: JobLine) {
  const {
    id: _i,
    filename: _f,
    provider: _p,
    policy: _po,
    n: _n,
    seeds: _ss,
    group: _g,
    variant: _v,
    seed: _s,
    ...rest
  } = l.item;
  return { ...rest, prompt: l.prompt };
}

function counts(job: JobView) {
  return { completed: job.counts.completed, failed: job.counts.failed };
}

function failed(l: JobLine, model: string, error: string, errorType: string = ErrorType.InvalidRequest): ImageResult {
  return {
    itemId: l.item.id,
    status: 'failed',
    provider: 'openai',
    model,
    attempts: l.attempts,
    tasks: l.tasks,
    prompts: l.prompts,
    errorType,
    error,
    batchApi: true,
  };
}

function cancelledLine(l: JobLine, model: string, error: string): ImageResult {
  const { errorType: _e, ...rest } = failed(l, model, error);
  return { ...rest, status: 'cancelled' };
}

function partition<T>(xs: T[], p: (x: T) => boolean): [T[], T[]] {
  return [xs.filter(p), xs.filter((x) => !p(x))];
}
