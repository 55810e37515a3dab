// What a call failed with, for tests that check how an activity or a provider client fails.
import { expect } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';

/** The error `p` rejects with, of class `kind` (the test fails if it resolves or rejects with anything else). */
export async function rejectionOf<T>(p: Promise<unknown>, kind: abstract new (...args: never[]) => T): Promise<T> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(kind);
  return err as T;
}

/** The ApplicationFailure an activity (run in MockActivityEnvironment) failed with. */
export const failure = (p: Promise<unknown>): Promise<ApplicationFailure> => rejectionOf(p, ApplicationFailure);
