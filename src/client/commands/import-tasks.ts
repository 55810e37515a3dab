// `imagebatch import-tasks DIR`: the tasks the old Volcengine tool submitted (its `async_tasks/` folder) become one
// batch that collects them, never submits them again (`--resubmit`: only a task the provider no longer knows, or one
// that failed, is generated again). Worked in this process as `run` is; then each task file gets its end as the old
// checker would write it. The batch id follows from the folder and its pending tasks, so a second run after a kill
// finds the same batch: it follows it if it still runs, or takes the ends from its manifest if it has ended.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { type Manifest, type ManifestEntry, readManifest } from '../../output/manifest';
import { imageOfEntry } from '../../output/image-file';
import { VOLCENGINE_DEFAULT_MODEL } from '../../providers/volcengine/client';
import type { BatchInput } from '../../shared/batch-types';
import { ErrorType } from '../../shared/errors';
import type { batchWorkflow } from '../../workflows';
import { type PendingTask, readTaskFolder, settleTaskFile, type TaskEnd } from '../../items/task-files';
import { checkBatchIdReuse } from '../batch-reuse';
import { batchWorkflowId, checkBatchId } from '../batch-start';
import { EXIT, UsageError } from '../exit-codes';
import { followAndReport, startAndFollow, withInProcessWorker } from '../in-process';
import { checkBatchFolder } from '../out-folder';
import { isBucketLocation } from '../../storage/batch-store';
import { heldAccounts, planProviders } from '../provider-plan';
import { setupProviders } from '../provider-setup';
import { openSession, type Session } from '../session';
import { resolveSettings, type SettingFlags } from '../settings';

export interface ImportFlags extends SettingFlags {
  provider?: string;
  model?: string;
  resubmit?: boolean;
  out?: string;
  batchId?: string;
  endpoint?: string;
  refsDir?: string;
  json?: boolean;
  db?: string;
}

const say = (line: string) => process.stderr.write(`imagebatch: ${line}\n`);

/** The same pending tasks of the same folder (and the same --resubmit) make the same batch id. */
function importBatchId(dir: string, pending: PendingTask[], resubmit: boolean): string {
  const hash = createHash('sha256')
    .update(path.resolve(dir))
    .update(resubmit ? '\0resubmit' : '\0');
  for (const t of [...pending].sort((a, b) => a.file.localeCompare(b.file))) hash.update(`\0${t.file}\0${t.taskId}`);
  return `import-${hash.digest('hex').slice(0, 12)}`;
}

/** A task's end from its manifest entry; undefined while it has none (cancelled, or overdue: it may still finish). */
function endOf(e: ManifestEntry | undefined, batchDir: string): TaskEnd | undefined {
  if (e?.status === 'succeeded' && e.file) return { status: 'completed', imagePath: imageOfEntry(batchDir, e.file) };
  if (e?.status === 'failed' && e.errorType !== ErrorType.MaxWaitExceeded)
    return { status: 'failed', error: e.error ?? e.errorType ?? 'failed' };
  return undefined;
}

const entriesOf = (manifest: Manifest | undefined, batchId: string) =>
  new Map((manifest?.batchId === batchId ? manifest.items : []).map((e) => [e.id, e]));

/** Writes each task's end from the batch's manifest into its file; tasks not ended there are left as they were. */
function settleTasks(pending: PendingTask[], manifest: Manifest | undefined, batchDir: string, batchId: string) {
  const entries = entriesOf(manifest, batchId);
  const counts = { completed: 0, failed: 0, left: 0 };
  for (const t of pending) {
    const end = endOf(entries.get(t.item.id), batchDir);
    if (end && settleTaskFile(t.file, end, batchId)) counts[end.status]++;
    else counts.left++;
  }
  return counts;
}

/** Whether a closed batch's manifest already has an end for every pending task: nothing to run again. */
function allEnded(pending: PendingTask[], manifest: Manifest | undefined, batchDir: string, batchId: string) {
  const entries = entriesOf(manifest, batchId);
  return pending.every((t) => endOf(entries.get(t.item.id), batchDir));
}

/** The batch's workflow status and task queue, if it exists. */
async function batchStatus(session: Session, batchId: string) {
  try {
    const d = await session.client.workflow.getHandle(batchWorkflowId(batchId)).describe();
    return { status: d.status.name, taskQueue: d.taskQueue };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

export async function importTasksCommand(dir: string, flags: ImportFlags): Promise<number> {
  if ((flags.provider ?? 'volcengine') !== 'volcengine')
    throw new UsageError(
      `--provider ${flags.provider}: the old tool's tasks are Volcengine tasks (--provider volcengine)`,
    );
  const settings = resolveSettings(flags);
  const model = flags.model ?? VOLCENGINE_DEFAULT_MODEL;
  const resubmit = Boolean(flags.resubmit);
  const { pending, ended } = readTaskFolder(dir, { model, resubmit, refsDir: flags.refsDir });
  if (!pending.length) {
    // Not an error: a folder imported already (or one the old checker finished) has nothing left to do.
    say(
      ended
        ? `nothing to import: ${ended} task file(s) in ${dir}, all completed or failed already`
        : `nothing to import: no task files (*.json, *.txt) in ${dir}`,
    );
    if (flags.json) process.stdout.write(JSON.stringify({ imported: 0, ended }) + '\n');
    return EXIT.ok;
  }
  const batchId = flags.batchId ?? importBatchId(dir, pending, resubmit);
  checkBatchId(batchId);
  // Its task files and images are local files: a bucket batch is not what it makes.
  if (flags.out && isBucketLocation(flags.out))
    throw new UsageError(
      `--out ${flags.out}: import-tasks writes into a local folder (an s3:// --out is for run and start)`,
    );
  const batchDir = path.resolve(flags.out ?? 'out', batchId);
  checkBatchFolder(batchDir);
  const plan = planProviders('volcengine', 'run');
  const setup = { ...(await setupProviders(plan, flags.endpoint)), accountLimits: settings.accountLimits };
  const session = await openSession({ allowEmbedded: true, db: flags.db });
  try {
    const items = pending.map((t) => t.item);
    const found = await batchStatus(session, batchId);
    const status = found?.status;
    // A batch still running (its process was killed) is worked on its own queue, whichever this process would use.
    if (status === 'RUNNING') setup.taskQueue = found!.taskQueue;
    const accounts = heldAccounts(setup.providers, ['volcengine'], setup.taskQueue);
    const input: BatchInput = {
      batchId,
      items: { kind: 'inline', items },
      outDir: batchDir,
      ...plan.batch,
      concurrency: settings.concurrency,
      policy: settings.policy,
      itemsName: path.basename(path.resolve(dir)),
      ...(accounts.length ? { accounts } : {}),
    };
    let code: number | undefined;
    if (status && status !== 'RUNNING' && allEnded(pending, readManifest(batchDir), batchDir, batchId)) {
      say(`batch ${batchId} imported these tasks already; writing their ends into the task files`);
    } else {
      if (status && flags.batchId) await checkBatchIdReuse(session, batchId, items);
      code = await withInProcessWorker(session, setup, () => {
        if (status !== 'RUNNING') {
          const banner = [
            `${pending.length} task(s) to collect from ${dir} (${ended} ended already), model ${model}` +
              `${resubmit ? ', --resubmit' : ''}; batch files in ${batchDir}`,
          ];
          return startAndFollow(session, input, { taskQueue: setup.taskQueue, json: Boolean(flags.json), banner });
        }
        say(`batch ${batchId} (an import of these tasks) is still running: working and following it here`);
        const handle = session.client.workflow.getHandle<typeof batchWorkflow>(batchWorkflowId(batchId));
        return followAndReport(session, handle, input, { json: Boolean(flags.json) });
      });
      if (code !== EXIT.ok && code !== EXIT.someFailed) return code;
    }
    const counts = settleTasks(pending, readManifest(batchDir), batchDir, batchId);
    say(
      `task files: ${counts.completed} completed, ${counts.failed} failed` +
        `${counts.left ? `, ${counts.left} left as they were (not ended)` : ''} (${dir})`,
    );
    // As `run`: the batch's own exit code when it ran here (it counts the failed images).
    return code ?? (counts.failed || counts.left ? EXIT.someFailed : EXIT.ok);
  } finally {
    await session.close();
    await setup.simulator?.close();
  }
}
