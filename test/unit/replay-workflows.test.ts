// Every recorded history of the project's workflows must replay against the current workflow code:
// a change that would break running batches fails here.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { Worker } from '@temporalio/worker';
import { HISTORIES_DIR, loadHistory, recordedWorkflowId } from '../helpers/histories';
import { workflowBundle } from '../helpers/bundle';

const recorded = fs
  .readdirSync(HISTORIES_DIR)
  .filter((f) => /^(image|batch)-.*\.json$/.test(f))
  .map((f) => f.replace(/\.json$/, ''));

describe('replay of recorded workflow histories', () => {
  it('has recorded histories to replay', () => {
    expect(recorded).toEqual(
      expect.arrayContaining([
        'image-happy',
        'image-simplified',
        'image-resubmitted',
        'batch-small',
        'batch-signals',
        'batch-child-closed',
      ]),
    );
  });

  it.each(recorded)('%s replays against the current workflow code', async (name) => {
    await Worker.runReplayHistory(
      { workflowBundle: await workflowBundle() },
      loadHistory(name),
      recordedWorkflowId(name),
    );
  });
});
