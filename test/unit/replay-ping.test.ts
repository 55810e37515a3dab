// Replay of a recorded history: the same code replays clean, reordered commands fail.
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { loadHistory } from '../helpers/histories';
import { workflowBundle } from '../helpers/bundle';

const fixture = (f: string) => path.resolve(__dirname, '../fixtures/workflows', f);

describe('replay of the recorded ping history', () => {
  it('replays against the workflow that made it', async () => {
    const bundle = await workflowBundle(fixture('ping.ts'));
    await Worker.runReplayHistory({ workflowBundle: bundle }, loadHistory('ping'));
  });

  it('fails when the workflow issues its commands in another order', async () => {
    const bundle = await workflowBundle(fixture('ping-changed.ts'));
    await expect(Worker.runReplayHistory({ workflowBundle: bundle }, loadHistory('ping'))).rejects.toBeInstanceOf(
      DeterminismViolationError,
    );
  });
});
