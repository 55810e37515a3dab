// Every kept recorded history of the project's workflows must replay against the current workflow code: a change
// that would break running workflows fails here. The version policy (docs/upgrading.md) is checked too: histories
// are kept for the current minor version and the one before, no older ones, and the current one's are recorded.
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import {
  currentVersion,
  loadHistory,
  recordedHistories,
  recordedVersions,
  recordedWorkflowId,
} from '../helpers/histories';
import { workflowBundle } from '../helpers/bundle';

/** The minor version before `version` (`0.3` -> `0.2`); undefined for a first minor (`1.0`, `0.0`). */
function previousMinor(version: string): string | undefined {
  const [major, minor] = version.split('.').map(Number);
  return minor > 0 ? `${major}.${minor - 1}` : undefined;
}

const current = currentVersion();
const versions = recordedVersions();
const histories = versions.flatMap((version) => recordedHistories(version).map((name) => [version, name]));

describe('replay of recorded workflow histories', () => {
  it("keeps the current minor version's histories and the previous minor's, no older ones", () => {
    expect(versions).toContain(current);
    const kept = [previousMinor(current), current].filter(Boolean);
    expect(kept).toEqual(expect.arrayContaining(versions));
  });

  it('has every workflow story recorded at the current version', () => {
    expect(recordedHistories(current)).toEqual(
      expect.arrayContaining([
        'image-happy',
        'image-simplified',
        'image-resubmitted',
        'image-sync',
        'image-fallback',
        'batch-small',
        'batch-signals',
        'batch-child-closed',
        'batch-inherited-closed',
        'batch-updates',
        'batch-providers',
      ]),
    );
  });

  it.each(histories)('%s/%s replays against the current workflow code', async (version, name) => {
    await Worker.runReplayHistory(
      { workflowBundle: await workflowBundle() },
      loadHistory(name, version),
      recordedWorkflowId(name, version),
    );
  });
});
