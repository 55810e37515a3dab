// What `imagebatch events` makes of a batch's history events: a line per reporting image run (a repeat of the same
// run's report is not a second image), its variant from the child's start, and a child gone without reporting.
import { describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import { google } from '@temporalio/proto';
import { ImageEventReader } from '../../src/client/image-events';
import type { ImageResult } from '../../src/shared/types';

const payloads = (v: unknown) => ({ payloads: [defaultPayloadConverter.toPayload(v)] });
const time = google.protobuf.Timestamp.fromObject({ seconds: 1_700_000_000, nanos: 5_000_000 });

const childStarted = (workflowId: string, item: object) => ({
  eventTime: time,
  startChildWorkflowExecutionInitiatedEventAttributes: {
    workflowId,
    input: payloads({ batchId: 'b', provider: 'fal', item }),
  },
});
const reported = (workflowId: string, runId: string, result: Partial<ImageResult>) => ({
  eventTime: time,
  workflowExecutionSignaledEventAttributes: {
    signalName: 'imageFinished',
    input: payloads({ provider: 'fal', attempts: 1, prompts: ['p'], ...result }),
    externalWorkflowExecution: { workflowId, runId },
  },
});

describe('ImageEventReader', () => {
  it('one line per reporting run, with its variant and the last prompt', () => {
    const reader = new ImageEventReader();
    expect(reader.read(childStarted('batch-b/fox-2', { id: 'fox-2', group: 'fox', variant: 2 }))).toBeUndefined();
    const result = { itemId: 'fox-2', status: 'succeeded' as const, prompts: ['a gory fox', 'a fox'], attempts: 2 };
    expect(reader.read(reported('batch-b/fox-2', 'r1', result))).toEqual({
      type: 'image',
      itemId: 'fox-2',
      group: 'fox',
      variant: 2,
      status: 'succeeded',
      provider: 'fal',
      prompt: 'a fox',
      attempts: 2,
      endedAt: '2023-11-14T22:13:20.005Z',
    });
    expect(reader.read(reported('batch-b/fox-2', 'r1', result))).toBeUndefined();
    // Its retry is another image workflow, another line.
    expect(reader.read(reported('batch-b/fox-2/r1', 'r2', result))).toMatchObject({ itemId: 'fox-2' });
  });

  it('a child terminated before it reported: a failed line; none for one that reported first', () => {
    const reader = new ImageEventReader();
    reader.read(childStarted('batch-b/a', { id: 'a' }));
    reader.read(childStarted('batch-b/c', { id: 'c' }));
    const terminated = (workflowId: string, runId: string) => ({
      eventTime: time,
      childWorkflowExecutionTerminatedEventAttributes: { workflowExecution: { workflowId, runId } },
    });
    expect(reader.read(terminated('batch-b/a', 'r1'))).toMatchObject({
      itemId: 'a',
      status: 'failed',
      provider: 'fal',
      errorType: 'ChildClosed',
      error: expect.stringContaining('terminated'),
    });
    expect(reader.read(reported('batch-b/c', 'r3', { itemId: 'c', status: 'cancelled' }))).toMatchObject({
      status: 'cancelled',
    });
    expect(reader.read(terminated('batch-b/c', 'r3'))).toBeUndefined();
  });
});
