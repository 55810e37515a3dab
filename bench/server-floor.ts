// The dev server's own ceiling on this machine: how many of the smallest workflows it completes per second at
// concurrency 50, with an in-process worker. An image costs more server work than either shape, so this bounds
// what any change to imagebatch's code could reach here.
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';

export interface FloorResult {
  workflow: string;
  count: number;
  seconds: number;
  perSecond: number;
}

export async function measureServerFloor(
  client: Client,
  address: string,
  taskQueue: string,
  count: number,
): Promise<FloorResult[]> {
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: path.join(__dirname, 'floor-workflows.js'),
    activities: { noop: async () => undefined },
  });
  const results: FloorResult[] = [];
  await worker.runUntil(async () => {
    for (const workflow of ['emptyWorkflow', 'twoActivitiesWorkflow']) {
      let next = 0;
      const started = process.hrtime.bigint();
      const lane = async () => {
        while (next < count) {
          const i = next++;
          await client.workflow.execute(workflow, { taskQueue, workflowId: `${taskQueue}-${workflow}-${i}` });
        }
      };
      await Promise.all(Array.from({ length: 50 }, lane));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      results.push({ workflow, count, seconds, perSecond: count / seconds });
    }
  });
  await connection.close();
  return results;
}
