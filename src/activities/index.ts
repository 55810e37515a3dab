// Activities are built by a factory that takes their dependencies (provider clients, limits), so tests and
// workers can hand in what they need.
import { createBatchActivities } from './batch';
import { createImageActivities, type ImageActivityDeps } from './image';

export type ActivityDeps = ImageActivityDeps;

export function createActivities(deps: ActivityDeps) {
  return {
    ...createImageActivities(deps),
    ...createBatchActivities(),
  };
}

export type Activities = ReturnType<typeof createActivities>;
