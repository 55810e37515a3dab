// What `run` says while a batch waits for its completion hooks: the words for a hook the server retries.
import { describe, expect, it } from 'vitest';
import { hookWaitWords } from '../../src/client/hook-waits';

const now = Date.parse('2026-12-07T22:00:00Z');

describe('hookWaitWords', () => {
  it('says nothing while the first attempt runs', () => {
    expect(hookWaitWords({ what: 'the webhook', attempt: 1, taskQueue: 'imagebatch' }, now)).toBeUndefined();
  });

  it('names the hook, the failures, the next try, the deadline and what detaching leaves to workers', () => {
    const words = hookWaitWords(
      {
        what: 'the webhook',
        attempt: 4,
        lastFailure: 'fetch failed: connect ECONNREFUSED 127.0.0.1:9',
        nextTryAt: now + 8000,
        deadline: now + 58 * 60_000,
        taskQueue: 'imagebatch',
      },
      now,
    );
    expect(words).toBe(
      'waiting for the webhook: 3 attempts failed, the last with: fetch failed: connect ECONNREFUSED 127.0.0.1:9; ' +
        'next try in 8 s; given up at 22:58 UTC (in 58 min). Ctrl-C twice detaches: the batch stays open on the ' +
        'server, and `imagebatch worker` keeps trying it until then.',
    );
  });

  it('counts attempts against the bound of a command that has no deadline', () => {
    const words = hookWaitWords(
      { what: 'the --on-complete command', attempt: 2, maxAttempts: 5, lastFailure: 'exited with 3', taskQueue: 'q' },
      now,
    );
    expect(words).toMatch(
      /^waiting for the --on-complete command: 1 attempt \(of 5 allowed\) failed, the last with: exited with 3\. /,
    );
    expect(words).toMatch(/`imagebatch worker --task-queue q` keeps trying it\.$/);
  });
});
