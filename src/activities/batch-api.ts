// The activities of an OpenAI Batch API job (src/workflows/batch-api-job.ts): prepare its input file, create the
// job (or find the one an earlier attempt created), poll and cancel it, and read its result files into images.
// Each is safe to run again: the file is found by its name, the job by its metadata key, an image rewritten whole.
import { cancellationSignal, heartbeat, log } from '@temporalio/activity';
import { withSource } from '../output/image-metadata';
import { findExistingImage } from '../output/image-file';
import { makeFolder } from '../storage/safe-write';
import type { ProviderClients } from '../providers';
import { type BatchJob, JOB_KEY, OpenaiBatchClient } from '../providers/openai/batch-client';
import { batchFileText } from '../providers/openai/batch-lines';
import { OpenaiClient } from '../providers/openai/client';
import { authFailed, invalidRequest } from '../providers/types';
import type {
  CollectJobInput,
  CreateJobOutput,
  JobView,
  LineOutcome,
  PrepareJobInput,
  PrepareJobOutput,
} from '../shared/batch-api';
import { BATCH_FILE_BYTES, BATCH_FILE_LINES, refusedForQueue } from '../shared/batch-api';
import { toFailure } from './failures';
import { withHeartbeats } from './heartbeats';
import { saveImage } from './image-save';
import { writingIn } from './local-storage';

/** The job's input file is named after its key, so an attempt after a lost answer finds the file already there. */
export const fileNameOf = (key: string): string => `imagebatch-${key.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`;

function viewOf(job: BatchJob): JobView {
  return {
    id: job.id,
    status: job.status,
    ...(job.outputFileId ? { outputFileId: job.outputFileId } : {}),
    ...(job.errorFileId ? { errorFileId: job.errorFileId } : {}),
    counts: job.counts,
    errors: job.errors.map(({ code, message }) => ({ code, message })),
  };
}

interface CreateJobInput {
  key: string;
  fileId: string;
  fileCreatedAt: number;
}

export function createBatchApiActivities({
  providers,
  maxImageBytes,
}: {
  providers: ProviderClients;
  maxImageBytes?: number;
}) {
  const client = () => {
    const c = providers.openai;
    if (!(c instanceof OpenaiClient)) throw toFailure(authFailed('this worker has no OpenAI credentials'));
    return new OpenaiBatchClient(c.options);
  };
  const failing = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw toFailure(err);
    }
  };

  async function prepareBatchJob(input: PrepareJobInput): Promise<PrepareJobOutput> {
    const existing: PrepareJobOutput['existing'] = {};
    for (const l of input.lines) {
      const found = await findExistingImage({ outDir: input.outDir, itemId: l.itemId, filename: l.filename });
      if (found) existing[l.customId] = found;
    }
    const send = input.lines.filter((l) => !existing[l.customId]);
    if (!send.length) return { existing };
    // A folder that cannot be made fails the items before anything is paid for.
    await writingIn(input.outDir, false, () => makeFolder(input.outDir));
    // Lines the file cannot hold (the caller split them wrong) fail the items with the reason; a retry cannot help.
    let text: string;
    try {
      text = batchFileText(
        // Reference images (edits) never come here: the job workflow fails such items before a file is made.
        send.map(({ customId, request: { referenceImages: _refs, ...request } }) => ({ customId, request })),
        { lines: input.maxLines ?? BATCH_FILE_LINES, bytes: input.maxBytes ?? BATCH_FILE_BYTES },
      );
    } catch (err) {
      throw toFailure(invalidRequest(`batch file: ${(err as Error).message}`));
    }
    return failing(async () => {
      const c = client();
      const name = fileNameOf(input.key);
      const file = (await c.findFile(name, cancellationSignal())) ?? (await c.upload(name, text, cancellationSignal()));
      return { file: { id: file.id, createdAt: file.createdAt }, existing };
    });
  }

  /** Heartbeats: a worker lost between the create and its answer is noticed in seconds, and the retry finds the job. */
  const createBatchJob = (input: CreateJobInput): Promise<CreateJobOutput> => withHeartbeats(() => createJob(input));

  async function createJob(input: CreateJobInput): Promise<CreateJobOutput> {
    return failing(async () => {
      const c = client();
      // Never two jobs for the same lines: an attempt whose create was answered but not recorded made one already.
      const found = await c.findJob(input.key, input.fileCreatedAt, cancellationSignal());
      if (found) {
        log.info('found the batch job an earlier attempt created', { key: input.key, jobId: found.id });
        return { job: viewOf(found) };
      }
      const job = await c.create(input.fileId, { [JOB_KEY]: input.key }, cancellationSignal());
      if (refusedForQueue(job)) return { queueFull: job.errors.map((e) => e.message).join('; ') };
      return { job: viewOf(job) };
    });
  }

  const pollBatchJob = ({ jobId }: { jobId: string }): Promise<JobView> =>
    failing(async () => viewOf(await client().get(jobId, cancellationSignal())));

  const cancelBatchJob = ({ jobId }: { jobId: string }): Promise<JobView> =>
    failing(async () => viewOf(await client().cancel(jobId, cancellationSignal())));

  /** Reads the result files as streams, each image stored as it is read; returns each line's end. */
  async function collect(input: CollectJobInput): Promise<LineOutcome[]> {
    const lines = new Map(input.lines.map((l) => [l.customId, l]));
    const out: LineOutcome[] = [];
    const c = client();
    for (const fileId of input.fileIds) {
      for await (const r of c.results(fileId, cancellationSignal())) {
        const line = lines.get(r.customId);
        // Not one of this job's lines (a file the provider mixed up): nothing of ours to do with it.
        if (!line) continue;
        if ('image' in r) {
          const target = { outDir: input.outDir, itemId: line.itemId, filename: line.filename };
          const stored = await saveImage(target, r.image, `batch line ${r.customId}`, {
            maxImageBytes,
            meta: withSource(line.meta, { provider: 'openai', model: undefined, taskId: fileId }),
          });
          out.push({ customId: r.customId, stored });
        } else if ('dropped' in r) out.push({ customId: r.customId, dropped: r.dropped });
        else
          out.push({
            customId: r.customId,
            errorType: r.failure.type,
            error: r.failure.message,
            ...(r.failure.details.code !== undefined ? { code: String(r.failure.details.code) } : {}),
          });
        heartbeat({ read: out.length });
      }
    }
    return out;
  }

  const collectBatchJob = (input: CollectJobInput): Promise<LineOutcome[]> =>
    withHeartbeats(() => failing(() => collect(input)));

  return { prepareBatchJob, createBatchJob, pollBatchJob, cancelBatchJob, collectBatchJob };
}
