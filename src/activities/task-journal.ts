// The submitted-task journal: the provider's task id is kept the moment the provider accepts it, before the submit
// activity reports. Providers take no idempotency key, so a retried attempt of the same submit would otherwise pay
// for a second task; with the journal it resumes the first. Its first home is the Temporal server: the task goes out
// as the submit's heartbeat details, which the server gives to the next attempt on whatever worker runs it, so a
// whole machine lost costs nothing once that heartbeat is out. It is also kept in this process's memory (a retry on
// this worker finds it even when the server never got the heartbeat) and on disk beside the batch (a worker
// restarted on the same machine finds it there).
import fs from 'node:fs';
import path from 'node:path';
import { batchFolder } from '../output/batch-folder';
import { ownFolder, replaceFile } from '../output/safe-write';

/** Which scheduled submit this is: its retries share the key, a resubmission by the workflow gets a new one. */
export interface SubmitKey {
  workflowId: string;
  runId: string;
  activityId: string;
}

export interface JournaledTask {
  key: SubmitKey;
  taskId: string;
  model: string;
  submittedAt: string;
}

/** What a submit's heartbeat carries once the provider has accepted: the key is the activity's own. */
export type HeartbeatedTask = Pick<JournaledTask, 'taskId' | 'model' | 'submittedAt'>;

/** The task an earlier attempt recorded in its heartbeat details, if they are one (anything else is not). */
export function heartbeatedTask(details: unknown): HeartbeatedTask | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const { taskId, model, submittedAt } = details as Record<string, unknown>;
  if (typeof taskId !== 'string' || !taskId || typeof model !== 'string') return undefined;
  return { taskId, model, submittedAt: typeof submittedAt === 'string' ? submittedAt : '' };
}

const entryFile = (outDir: string, itemId: string) => batchFolder(outDir).taskEntry(itemId);

const keyOf = (k: SubmitKey) => JSON.stringify([k.workflowId, k.runId, k.activityId]);

/** Recent submits of this process, oldest first; bounded, since only a retry of a submit looks its task up. */
const remembered = new Map<string, JournaledTask>();
const REMEMBERED_MAX = 10_000;

function remember(entry: JournaledTask): void {
  remembered.set(keyOf(entry.key), entry);
  if (remembered.size > REMEMBERED_MAX) remembered.delete(remembered.keys().next().value!);
}

/** The task an earlier attempt of this same submit created, if it got that far. */
export async function findJournaledTask(
  outDir: string,
  itemId: string,
  key: SubmitKey,
): Promise<JournaledTask | undefined> {
  const known = remembered.get(keyOf(key));
  if (known) return known;
  try {
    const entry = JSON.parse(await fs.promises.readFile(entryFile(outDir, itemId), 'utf8')) as JournaledTask;
    return keyOf(entry.key) === keyOf(key) ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** The journal's folder, made before a submit: a folder that cannot even be made fails the item before it pays. */
export function prepareJournal(outDir: string): void {
  ownFolder(batchFolder(outDir).stateDir);
  ownFolder(batchFolder(outDir).tasksDir);
}

/**
 * Remembered at once, then written whole (tmp + rename, never through a link); SIGKILL loses no page-cache write, so
 * no fsync. A disk error is thrown after the entry is remembered: the caller keeps the task all the same.
 */
export async function journalTask(outDir: string, itemId: string, entry: JournaledTask): Promise<void> {
  remember(entry);
  const file = entryFile(outDir, itemId);
  ownFolder(path.dirname(file));
  replaceFile(file, JSON.stringify(entry));
}

/** Once the image is on disk the entry has done its job. */
export async function forgetTask(outDir: string, itemId: string): Promise<void> {
  await fs.promises.rm(entryFile(outDir, itemId), { force: true });
}
