// A Batch API job's lines at its end, in a plain function (no Temporal calls): each line's result file outcome made
// into the item's result, or into a line of the next job. Rules as for one image (image-ledger.ts), per line:
// moderation is simplified and sent again, a rate-limited or expired line goes again, an invalid one fails.
import { type JobLine, type LineOutcome, MAX_JOB_ROUNDS } from '../shared/batch-api';
import { ErrorType } from '../shared/errors';
import { simplifyPrompt } from '../shared/prompt';
import type { ImageResult, StoredImage } from '../shared/types';

export interface JobEnd {
  /** OpenAI's batch id, recorded as each image's provider task. */
  jobId?: string;
  model: string;
  round: number;
  /** The batch asked for the job to stop: what did not run is cancelled, not sent again. */
  cancelled: boolean;
}

export interface SettledLines {
  /** Items that have ended (succeeded, failed, cancelled, or their budget share spent). */
  results: ImageResult[];
  /** Lines for the next job. */
  again: JobLine[];
  /** Lines moderation refused, simplified, to go one by one (`--batch-retry individual`). */
  individually: JobLine[];
}

const RETRIED_BY_RESUBMIT = new Set<string>([
  ErrorType.Transient,
  ErrorType.TaskFailed,
  ErrorType.BadImage,
  ErrorType.TaskGone,
  ErrorType.OutputRejected,
]);

/**
 * `lines[i]` went out with custom_id `ids[i]`; `outcomes` is what the result files said (in any order), `existing`
 * the images found on disk before anything was sent.
 */
export function settleLines(
  lines: JobLine[],
  ids: string[],
  outcomes: LineOutcome[],
  existing: Record<string, StoredImage>,
  end: JobEnd,
  individual: boolean,
): SettledLines {
  const byId = new Map(outcomes.map((o) => [o.customId, o]));
  const out: SettledLines = { results: [], again: [], individually: [] };
  const base = (l: JobLine): ImageResult => ({
    itemId: l.item.id,
    status: 'failed',
    provider: 'openai',
    model: end.model,
    attempts: l.attempts,
    tasks: l.tasks,
    prompts: l.prompts,
    ...(end.jobId ? { providerTaskId: end.jobId } : {}),
    batchApi: true,
  });
  const fail = (l: JobLine, errorType: string, error: string) =>
    out.results.push({ ...base(l), status: 'failed', errorType, error });
  const cancel = (l: JobLine, error: string) => out.results.push({ ...base(l), status: 'cancelled', error });
  /** Into the next job, unless the item's budget share is spent or it has been through too many jobs. */
  const sendAgain = (l: JobLine, why: string, to: JobLine[] = out.again) => {
    if (end.cancelled) return cancel(l, `cancelled: ${why}`);
    if (l.maxSubmissions !== undefined && l.tasks >= l.maxSubmissions) {
      return out.results.push({
        ...base(l),
        status: 'cancelled',
        errorType: ErrorType.BudgetReached,
        error: `its share of the batch's submission budget (${l.maxSubmissions}) is spent`,
      });
    }
    if (end.round + 1 >= MAX_JOB_ROUNDS) return fail(l, ErrorType.Transient, `${why}, in ${MAX_JOB_ROUNDS} jobs`);
    to.push(l);
  };

  lines.forEach((l, i) => {
    const id = ids[i];
    const found = existing[id];
    if (found) {
      out.results.push({ ...base(l), status: 'succeeded', skipped: true, ...stored(found) });
      return;
    }
    const o = byId.get(id);
    if (!o) return sendAgain({ ...l, attempts: l.attempts + 1 }, 'the job ended without an answer for the line');
    if ('stored' in o) {
      const made = { ...l, attempts: l.attempts + 1, tasks: l.tasks + 1 };
      out.results.push({ ...base(made), status: 'succeeded', ...stored(o.stored) });
      return;
    }
    if ('dropped' in o) {
      if (o.dropped === 'cancelled' && end.cancelled) return cancel(l, 'cancelled: its batch job was cancelled');
      return sendAgain(l, `the job ${o.dropped === 'expired' ? 'expired' : 'was cancelled'} before the line ran`);
    }
    const tried = { ...l, attempts: l.attempts + 1 };
    if (o.errorType === ErrorType.ContentRejected) {
      const simpler = simplifyPrompt(l.prompt);
      if (l.simplificationsLeft <= 0 || simpler === l.prompt)
        return fail(
          tried,
          o.errorType,
          `moderation refused the prompt and it cannot be simplified further: ${o.error}`,
        );
      const next = {
        ...tried,
        prompt: simpler,
        prompts: [...l.prompts, simpler],
        simplificationsLeft: l.simplificationsLeft - 1,
      };
      return sendAgain(next, 'moderation refused the prompt', individual ? out.individually : out.again);
    }
    if (o.errorType === ErrorType.RateLimited) return sendAgain(tried, 'rate limited');
    if (RETRIED_BY_RESUBMIT.has(o.errorType)) {
      if (l.retriesLeft <= 0) return fail(tried, o.errorType, o.error);
      return sendAgain({ ...tried, retriesLeft: l.retriesLeft - 1 }, o.error);
    }
    fail(tried, o.errorType, o.error);
  });
  return out;
}

const stored = (s: StoredImage) => ({ file: s.file, sha256: s.sha256, bytes: s.bytes });
