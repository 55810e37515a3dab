// Commands that read batches from their workflows, never from the output folder: status, watch, list.
import { BATCH_FILES, batchFolder } from '../../output/batch-folder';
import { isBucketLocation } from '../../storage/batch-store';
import { progressQuery } from '../../shared/messages';
import { accountWaits } from '../account-waits';
import { batchInputOf, findBatch } from '../batch-lookup';
import { isStopped, outcomeOf } from '../batch-outcome';
import { EXIT } from '../exit-codes';
import { followBatch } from '../follow';
import { runningSplit } from '../image-states';
import { workerCommandFor } from '../provider-queues';
import { reportWorkflow, type WorkflowState } from '../batch-summary';
import { withSession } from '../session';
import { askWorker, hasPollers, requireWorker } from '../worker-answer';

interface ReadFlags {
  json?: boolean;
  db?: string;
}

/** Running: its progress (from a worker) and its accounts; stopped (its budget spent): why. Closed: its summary. */
export async function statusCommand(batchId: string, flags: ReadFlags): Promise<number> {
  return withSession(async (session) => {
    const batch = await findBatch(session.client, batchId);
    // Where its files are (a bucket's batch says how to copy them here): from its input, one history event.
    const location = (await batchInputOf(session.client, batch.handle)).outDir;
    const o = { json: Boolean(flags.json), batchId, embedded: Boolean(session.embedded), location };
    if (batch.running) {
      await requireWorker(session, batch, 'so it is running but nothing answers for its progress');
      const progress = await askWorker(session, batch, () => batch.handle.query(progressQuery));
      const state: WorkflowState = isStopped(progress) ? { kind: 'stopped', progress } : { kind: 'running', progress };
      const [accounts, split] = await Promise.all([
        accountWaits(session.client.workflow, batchId, progress.accounts),
        runningSplit(session.client.workflow, batchId),
      ]);
      return reportWorkflow(state, { ...o, accounts, split, manifest: manifestOf(location, state) });
    }
    const outcome = await outcomeOf(batch.handle);
    return reportWorkflow(outcome, { ...o, manifest: manifestOf(location, outcome) });
  }, flags.db);
}

export async function watchCommand(batchId: string, flags: ReadFlags): Promise<number> {
  return withSession(async (session) => {
    const batch = await findBatch(session.client, batchId);
    // Waiting for a worker is legitimate (`start`, then `watch`, then `worker`), but say why nothing moves.
    if (batch.running && !(await hasPollers(session, batch.taskQueue)))
      process.stderr.write(
        `imagebatch: no worker polls task queue '${batch.taskQueue}' yet; waiting (start one with \`${workerCommandFor(batch.taskQueue)}\`).\n`,
      );
    const outcome = await followBatch(batch.handle, { json: Boolean(flags.json), interactive: false, batchId });
    const location = (await batchInputOf(session.client, batch.handle)).outDir;
    return reportWorkflow(outcome, {
      json: Boolean(flags.json),
      batchId,
      embedded: Boolean(session.embedded),
      location,
      manifest: manifestOf(location, outcome),
    });
  }, flags.db);
}

/**
 * A batch cancelled from outside ends without a summary, and a stopped one has none yet, but each wrote its manifest
 * first: name it.
 */
function manifestOf(location: string, state: WorkflowState) {
  const cancelled = state.kind === 'closed' && state.status === 'cancelled';
  if (!cancelled && state.kind !== 'stopped') return undefined;
  return isBucketLocation(location) ? `${location}/${BATCH_FILES.manifest}` : batchFolder(location).manifest;
}

export async function listCommand(flags: { running?: boolean; json?: boolean; db?: string }): Promise<number> {
  return withSession(async (session) => {
    const query = `WorkflowType="batchWorkflow"${flags.running ? ' AND ExecutionStatus="Running"' : ''}`;
    const rows = [];
    for await (const wf of session.client.workflow.list({ query })) {
      rows.push({
        batchId: wf.workflowId.replace(/^batch-/, ''),
        status: wf.status.name.toLowerCase(),
        started: wf.startTime.toISOString(),
      });
      if (rows.length >= 1000) break;
    }
    if (flags.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    else if (!rows.length) console.log(flags.running ? 'No running batches.' : 'No batches.');
    else for (const r of rows) console.log(`${r.batchId.padEnd(32)} ${r.status.padEnd(12)} ${r.started}`);
    return EXIT.ok;
  }, flags.db);
}
