// How imageWorkflow reads an activity's failure: the type that drives its decision (simplify, resubmit, fail).
import { describe, expect, it } from 'vitest';
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import { classify } from '../../src/workflows/image';

const pending = () => ApplicationFailure.create({ type: 'TaskPending', message: 'task 7 is pending' });

describe('classify', () => {
  it('reads a schedule-to-close timeout as the max wait running out, with the last error', () => {
    const timeout = new TimeoutFailure('activity timeout', undefined, 'SCHEDULE_TO_CLOSE');
    Object.assign(timeout, { cause: pending() });
    const err = new ActivityFailure('activity failed', 'collectImage', '3', 'TIMEOUT', 'w', timeout);
    expect(classify(err)).toEqual({
      type: 'MaxWaitExceeded',
      message: 'no result within the max wait (last error: task 7 is pending)',
    });
  });

  it('reads retry state TIMEOUT with the last attempt as cause (no retry fitted before the deadline) the same way', () => {
    const err = new ActivityFailure('activity failed', 'collectImage', '3', 'TIMEOUT', 'w', pending());
    expect(classify(err)).toEqual({
      type: 'MaxWaitExceeded',
      message: 'no result within the max wait (last error: task 7 is pending)',
    });
  });

  it("reads a single attempt's heartbeat timeout (its worker died mid-call) as transient, not the max wait", () => {
    const timeout = new TimeoutFailure('activity timeout', undefined, 'HEARTBEAT');
    const err = new ActivityFailure('activity failed', 'generateImage', '2', 'MAXIMUM_ATTEMPTS_REACHED', 'w', timeout);
    expect(classify(err)).toMatchObject({ type: 'Transient' });
    const late = new ActivityFailure('activity failed', 'generateImage', '2', 'TIMEOUT', 'w', timeout);
    expect(classify(late)).toMatchObject({ type: 'MaxWaitExceeded' });
  });

  it('reads a non-retryable failure by its type', () => {
    const cause = ApplicationFailure.create({ type: 'ContentRejected', message: 'code 50413', nonRetryable: true });
    const err = new ActivityFailure('activity failed', 'submitImage', '1', 'NON_RETRYABLE_FAILURE', 'w', cause);
    expect(classify(err)).toEqual({ type: 'ContentRejected', message: 'code 50413' });
  });
});
