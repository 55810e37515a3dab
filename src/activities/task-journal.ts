// The submitted-task journal: the provider's task id is written beside the batch the moment the provider accepts
// it, before the submit activity reports. Providers take no idempotency key, so a worker killed between those two
// points would otherwise make the retried submit pay for a second task; with the journal it resumes the first.
import fs from 'node:fs';
import path from 'node:path';
import { batchFolder } from '../output/batch-folder';

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

const entryFile = (outDir: string, itemId: string) => batchFolder(outDir).taskEntry(itemId);

const sameKey = (a: SubmitKey, b: SubmitKey) =>
  a.workflowId === b.workflowId && a.runId === b.runId && a.activityId === b.activityId;

/** The task an earlier attempt of this same submit created, if it got that far. */
export async function findJournaledTask(
  outDir: string,
  itemId: string,
  key: SubmitKey,
): Promise<JournaledTask | undefined> {
  try {
    const entry = JSON.parse(await fs.promises.readFile(entryFile(outDir, itemId), 'utf8')) as JournaledTask;
    return sameKey(entry.key, key) ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** Written whole (tmp + rename); SIGKILL loses no page-cache write, so no fsync. */
export async function journalTask(outDir: string, itemId: string, entry: JournaledTask): Promise<void> {
  const file = entryFile(outDir, itemId);
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  await fs.promises.writeFile(`${file}.tmp`, JSON.stringify(entry));
  await fs.promises.rename(`${file}.tmp`, file);
}

/** Once the image is on disk the entry has done its job. */
export async function forgetTask(outDir: string, itemId: string): Promise<void> {
  await fs.promises.rm(entryFile(outDir, itemId), { force: true });
}
