// `imagebatch events BATCH`: one JSON line per image as it ends, then one for the batch, for pipelines that take each
// image as it lands. A command of its own rather than `watch --json`, which prints one document (status's) that
// scripts parse whole. Read from the batch's workflow history, never from its folder.
import { outcomeOf } from '../batch-outcome';
import { findBatch } from '../batch-lookup';
import { workflowDocument } from '../batch-summary';
import { exitCodeFor } from '../exit-codes';
import { imageEvents } from '../image-events';
import { workerCommandFor } from '../provider-queues';
import { withSession } from '../session';
import { hasPollers } from '../worker-answer';

const line = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');

export async function eventsCommand(batchId: string, flags: { db?: string }): Promise<number> {
  return withSession(async (session) => {
    const batch = await findBatch(session.client, batchId);
    if (batch.running && !(await hasPollers(session, batch.taskQueue)))
      process.stderr.write(
        `imagebatch: no worker polls task queue '${batch.taskQueue}' yet; waiting (start one with \`${workerCommandFor(batch.taskQueue)}\`).\n`,
      );
    for await (const event of imageEvents(session.client, batchId)) line(event);
    // The history has closed: the batch's outcome is there at once.
    const doc = workflowDocument(batchId, await outcomeOf(batch.handle));
    line({ type: 'batch', ...doc });
    return exitCodeFor(doc);
  }, flags.db);
}
