// A value a progress display shows beside a batch's progress (its accounts' waits, its running split), kept fresh in
// the background: asked for on a progress at most every `everyMs`, one ask at a time, so the display never waits.
import type { BatchProgress } from '../shared/batch-types';

/**
 * `ask` starts the ask for this progress, or returns undefined when there is nothing to ask; `refresh` on each
 * progress, `latest` to show, `settled` before the connection closes (it must not close under an ask).
 */
export function progressWatch<T>(
  initial: T,
  everyMs: number,
  ask: (p: BatchProgress, latest: T) => Promise<T> | undefined,
) {
  let latest = initial;
  let last = 0;
  let inflight: Promise<void> | undefined;
  return {
    latest: () => latest,
    refresh(p: BatchProgress): void {
      if (inflight || Date.now() - last < everyMs) return;
      const asked = ask(p, latest);
      if (!asked) return;
      last = Date.now();
      inflight = asked.then((v) => void (latest = v)).finally(() => (inflight = undefined));
    },
    settled: (): Promise<void> => inflight ?? Promise.resolve(),
  };
}
