// `imagebatch resume BATCH [--max-submissions M]`: resumes a paused batch, or one stopped by its budget with a larger
// budget. A worker that polls the batch's queue answers, and this prints the answer. With a new budget and no such
// worker (the user ran `imagebatch run`, which stopped and exited), this process works the batch, as `run` did, and
// follows it to its end.
import { randomUUID } from 'node:crypto';
import { resumeUpdate } from '../../shared/messages';
import { type BatchHandle, batchInputOf, findBatch, type FoundBatch } from '../batch-lookup';
import { answerControl, sendControl } from '../control-request';
import { EXIT, NoWorker } from '../exit-codes';
import { followAndReport, withInProcessWorker } from '../in-process';
import { planForBatch } from '../provider-plan';
import { setupProviders } from '../provider-setup';
import { type Session, withSession } from '../session';
import { type AccountLimits, resolveAccountLimits } from '../settings';
import { hasPollers } from '../worker-answer';

export interface ResumeFlags {
  maxSubmissions?: number;
  provider?: string;
  endpoint?: string;
  config?: string;
  json?: boolean;
  db?: string;
}

/**
 * The server lists a worker for minutes after it stopped (a `run` that has exited, say): a listed worker that does
 * not answer this soon is taken for gone.
 */
const LISTED_WORKER_MS = 3000;

export async function resumeCommand(batchId: string, flags: ResumeFlags): Promise<number> {
  const accountLimits = resolveAccountLimits(flags);
  return withSession(async (session) => {
    const batch = await findBatch(session.client, batchId);
    // One update id: a request left with a worker that never answered is the one this process's worker answers.
    const updateId = randomUUID();
    const resume = (h: BatchHandle) =>
      h.executeUpdate(resumeUpdate, { args: [{ maxSubmissions: flags.maxSubmissions }], updateId });
    if (flags.maxSubmissions === undefined || !batch.running) return sendControl(session, batch, resume);
    if (await hasPollers(session, batch.taskQueue)) {
      try {
        return await answerControl(session, batch, resume, { ms: LISTED_WORKER_MS });
      } catch (err) {
        if (!(err instanceof NoWorker)) throw err;
      }
    }
    return resumeHere(session, batch, flags, accountLimits, resume);
  }, flags.db);
}

/** No worker serves the batch: one runs here while the batch takes the new budget and goes on to its end. */
async function resumeHere(
  session: Session,
  batch: FoundBatch,
  flags: ResumeFlags,
  accountLimits: AccountLimits,
  resume: Parameters<typeof answerControl>[2],
): Promise<number> {
  const input = await batchInputOf(session.client, batch.handle);
  const plan = await planForBatch(batch, input, flags.provider);
  const setup = { ...(await setupProviders(plan, flags.endpoint)), accountLimits };
  if (setup.note) process.stderr.write(`imagebatch: ${setup.note}\n`);
  process.stderr.write(`imagebatch: no worker serves task queue '${batch.taskQueue}'; working the batch here.\n`);
  try {
    return await withInProcessWorker(session, setup, async () => {
      // This process's worker answers (it may not be listed as a poller yet: no check). The answer goes to stderr:
      // stdout is the summary's (one JSON document with --json).
      const code = await answerControl(session, batch, resume, { print: (l) => process.stderr.write(`${l}\n`) });
      if (code !== EXIT.ok) return { code, detached: false };
      return followAndReport(session, batch.handle, input, { json: Boolean(flags.json) });
    });
  } finally {
    await setup.simulator?.close();
  }
}
