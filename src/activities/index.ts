// Activities are built by a factory that takes their dependencies (provider clients, limits), so tests and
// workers can hand in what they need.
import { type AccountActivityDeps, createAccountActivities } from './accounts';
import { createBatchActivities } from './batch';
import { createBatchApiActivities } from './batch-api';
import { createCompletionActivities } from './completion';
import { createImageActivities, type ImageActivityDeps } from './image';

export type ActivityDeps = ImageActivityDeps & AccountActivityDeps;

export function createActivities(deps: ActivityDeps) {
  return {
    ...createImageActivities(deps),
    ...createBatchActivities(),
    ...createBatchApiActivities(deps),
    ...createAccountActivities(deps),
    ...createCompletionActivities(),
  };
}

export type Activities = ReturnType<typeof createActivities>;
