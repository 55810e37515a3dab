// What an activity (run in MockActivityEnvironment) failed with.
import { expect } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';

/** The ApplicationFailure `p` rejects with (the test fails if it resolves or rejects with anything else). */
export async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}
