// What a failure type means (one table) and the one backoff: the rules activities and workflows read.
import { describe, expect, it } from 'vitest';
import { backoffMs, BACKOFF_RETRY } from '../../src/shared/backoff';
import { ErrorType, failureMeaning, NON_RETRYABLE_ERRORS } from '../../src/shared/errors';

describe('failure meanings', () => {
  it('lets the activity retry only what may pass on its own: limits, outages, a pending task', () => {
    const retried = Object.values(ErrorType).filter((t) => failureMeaning(t).retriedByActivity);
    expect(retried.sort()).toEqual(['RateLimited', 'TaskPending', 'Transient']);
    expect(NON_RETRYABLE_ERRORS).toEqual(expect.arrayContaining(['ContentRejected', 'BadImage', 'ItemsFileChanged']));
    expect(NON_RETRYABLE_ERRORS).not.toContain('RateLimited');
  });

  it('counts a failed call as billed unless the provider refused it before doing the work', () => {
    for (const t of ['InvalidRequest', 'AuthFailed', 'RateLimited', 'ContentRejected'])
      expect(failureMeaning(t).billed, t).toBe(false);
    for (const t of ['Transient', 'BadImage', 'MaxWaitExceeded', 'LocalStorage', 'OutputRejected'])
      expect(failureMeaning(t).billed, t).toBe(true);
  });

  it('resubmits nothing a new submission cannot fix, a new seed for an output rejection, a simpler prompt for moderation', () => {
    for (const t of ['InvalidRequest', 'AuthFailed', 'LocalStorage', 'BudgetReached'])
      expect(failureMeaning(t).resubmit, t).toBe('never');
    expect(failureMeaning('OutputRejected').resubmit).toBe('new-seed');
    expect(failureMeaning('ContentRejected').resubmit).toBe('simpler-prompt');
    expect(failureMeaning('TaskFailed').resubmit).toBe('as-is');
  });

  it('moves to the next provider at once when this one cannot serve, never when the next would fail too', () => {
    for (const t of ['MaxWaitExceeded', 'RateLimited', 'AuthFailed', 'Transient'])
      expect(failureMeaning(t).moveOn, t).toBe('at-once');
    for (const t of ['InvalidRequest', 'BudgetReached', 'LocalStorage'])
      expect(failureMeaning(t).moveOn, t).toBe('never');
    expect(failureMeaning('TaskGone').moveOn).toBe('when-spent');
  });

  it('reads an unknown type (an unclassified error) as retried, billed and resubmitted', () => {
    expect(failureMeaning('Error')).toEqual({
      retriedByActivity: true,
      billed: true,
      resubmit: 'as-is',
      moveOn: 'when-spent',
    });
    expect(failureMeaning('toString')).toEqual(failureMeaning('Error'));
  });
});

describe('backoff', () => {
  it('starts at 1 s, doubles, and stays at 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(backoffMs)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(backoffMs(0)).toBe(1000);
  });

  it('is the same backoff as a retry policy', () => {
    expect(BACKOFF_RETRY).toEqual({ initialInterval: 1000, backoffCoefficient: 2, maximumInterval: 30000 });
  });
});
