// A --batch-id already used: a running batch is never joined (its items copy would be rewritten under it), and a
// finished one may only be run again with the same items (what it has made is skipped, the rest completed). Checked
// before anything is written.
import { WorkflowNotFoundError } from '@temporalio/client';
import { readItems } from '../output/items-copy';
import type { ImageItem } from '../shared/types';
import { batchInputOf } from './batch-lookup';
import { batchWorkflowId, runningBatch } from './batch-start';
import { UsageError } from './exit-codes';
import type { Session } from './session';

export async function checkBatchIdReuse(session: Session, batchId: string, items: ImageItem[]): Promise<void> {
  const handle = session.client.workflow.getHandle(batchWorkflowId(batchId));
  let status: string;
  try {
    status = (await handle.describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return;
    throw err;
  }
  if (status === 'RUNNING') throw runningBatch(batchId);
  const old = await batchInputOf(session.client, handle);
  const other = (why: string) =>
    new UsageError(`batch ${batchId} already ran other items into ${old.outDir} (${why}); choose another --batch-id`);
  let before: ImageItem[];
  try {
    before = await readItems(old.items);
  } catch (err) {
    // Its items copy is on the workers' disk, or gone: what it ran cannot be compared.
    throw other(`its items cannot be read here: ${(err as Error).message}`);
  }
  const difference = itemsDiffer(before, items);
  if (difference) throw other(difference);
}

/** Why two item lists are not the same items (ids and prompts), or undefined when they are. */
function itemsDiffer(before: ImageItem[], now: ImageItem[]): string | undefined {
  const prompts = new Map(before.map((i) => [i.id, i.prompt]));
  for (const item of now) {
    const prompt = prompts.get(item.id);
    if (prompt === undefined) return `no item '${item.id}'`;
    if (prompt !== item.prompt) return `item '${item.id}' had another prompt`;
  }
  return before.length === now.length ? undefined : `${before.length} items, not ${now.length}`;
}
