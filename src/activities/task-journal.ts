// The submitted-task journal: the provider's task id is kept the moment the provider accepts it, before the submit
// activity reports. Providers take no idempotency key, so a retried attempt of the same submit would otherwise pay
// for a second task; with the journal it resumes the first. Its first home is the Temporal server: the task goes out
// as the submit's heartbeat details, which the server gives to the next attempt on whatever worker runs it, so a
// whole machine lost costs nothing once that heartbeat is out. It is also kept in this process's memory (a retry on
// this worker finds it even when the server never got the heartbeat) and among the batch's files: on disk beside the
// batch (a worker restarted on the same machine finds it there), or in the batch's bucket, which any machine reads
// (that closes the window of a machine lost before its heartbeat got out).
import { BATCH_FILES } from '../output/batch-folder';
import { ownFolder } from '../storage/safe-write';
import { isBucketLocation } from '../storage/batch-store';
import { FolderStore } from '../storage/folder-store';
import { openStore } from '../storage/open-store';

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
  // A store that cannot be read (a bucket unreachable) throws: the attempt fails and is retried, rather than pay again.
  const data = await openStore(outDir).read(BATCH_FILES.taskEntry(itemId));
  try {
    const entry = data && (JSON.parse(data.toString('utf8')) as JournaledTask);
    return entry && keyOf(entry.key) === keyOf(key) ? entry : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The journal's folder, made before a submit: a folder that cannot even be made fails the item before it pays. A
 * bucket has no folders (it was checked before the batch started).
 */
export function prepareJournal(outDir: string): void {
  if (isBucketLocation(outDir)) return;
  const store = new FolderStore(outDir);
  ownFolder(store.where('.imagebatch'));
  ownFolder(store.where(BATCH_FILES.tasks));
}

/**
 * Remembered at once, then written whole (a folder's: tmp + rename, never through a link; SIGKILL loses no page-cache
 * write, so no fsync). A store's error is thrown after the entry is remembered: the caller keeps the task all the same.
 */
export async function journalTask(outDir: string, itemId: string, entry: JournaledTask): Promise<void> {
  remember(entry);
  await openStore(outDir).write([{ name: BATCH_FILES.taskEntry(itemId), data: JSON.stringify(entry) }]);
}

/** Once the image is stored the entry has done its job. */
export async function forgetTask(outDir: string, itemId: string): Promise<void> {
  await openStore(outDir).remove(BATCH_FILES.taskEntry(itemId));
}
