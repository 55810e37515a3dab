// The foundation: a real workflow with a durable timer and an activity runs on the run's dev server.
import { afterAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import * as activities from '../fixtures/ping-activities';
import { closeConnections, createTestWorker, testClient, uniqueQueue } from '../helpers/temporal';
import { maybeRecordHistory } from '../helpers/histories';

const PING = path.resolve(__dirname, '../fixtures/workflows/ping.ts');

afterAll(closeConnections);

describe('dev server', () => {
  it('runs a workflow with a timer and an activity to completion', async () => {
    const client = await testClient();
    const taskQueue = uniqueQueue('ping');
    const worker = await createTestWorker({ taskQueue, workflowsPath: PING, activities });
    const handle = await client.workflow.start('pingWorkflow', {
      taskQueue,
      workflowId: taskQueue,
      args: ['temporal'],
    });
    const result = await worker.runUntil(handle.result());
    expect(result).toBe('hello, temporal');

    const history = await handle.fetchHistory();
    const types = history.events!.map((e) => e.eventType);
    const { temporal } = await import('@temporalio/proto');
    const T = temporal.api.enums.v1.EventType;
    expect(types).toContain(T.EVENT_TYPE_TIMER_FIRED);
    expect(types).toContain(T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
    expect(types.at(-1)).toBe(T.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
    await maybeRecordHistory(handle, 'ping');
  });

  it('has the project search attributes registered', async () => {
    const client = await testClient();
    const res = await client.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(res.customAttributes)).toEqual(
      expect.arrayContaining(['ImageBatchId', 'ImageState', 'ImageProvider']),
    );
  });
});
