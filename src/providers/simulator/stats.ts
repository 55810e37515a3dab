// What the simulator saw, served at GET /__stats so tests can check a run from the provider's side.
import { createHash } from 'node:crypto';

export interface SimulatorStats {
  /** Tasks created (accepted submissions). */
  submissions: number;
  submissionsByPrompt: Record<string, number>;
  /** Submissions refused (moderation, limits, faults, auth). */
  refusedSubmissions: number;
  /** Unfinished, uncancelled tasks now, and the most seen at once. */
  inFlight: number;
  maxInFlight: number;
  cancels: number;
  cancelledTaskIds: string[];
  /** API requests by what the simulator did with them. */
  requestsByOutcome: Record<string, number>;
  /** sha256 of the image bytes served for each task. */
  served: Record<string, string>;
  /** Seeds of each prompt's submissions, in order. */
  seedsByPrompt: Record<string, number[]>;
  /** Submissions that carried reference images, and how many. */
  referenceImages: Record<string, number>;
  /** Each task's provider-side times (ms since the epoch), for the bench's slot handoff. */
  tasks: Record<string, TaskTimes>;
  /** The same counts for each wire format that was spoken to (the fields above are their sums). */
  byProvider: Record<string, ProviderCounts>;
}

export interface ProviderCounts {
  submissions: number;
  refusedSubmissions: number;
  maxInFlight: number;
  cancels: number;
  requestsByOutcome: Record<string, number>;
}

/** When a task was accepted, when it is (or was) ready, and when it was cancelled if it was before that. */
export interface TaskTimes {
  submittedAt: number;
  readyAt: number;
  cancelledAt?: number;
}

function emptyStats(): SimulatorStats {
  return {
    submissions: 0,
    submissionsByPrompt: {},
    refusedSubmissions: 0,
    inFlight: 0,
    maxInFlight: 0,
    cancels: 0,
    cancelledTaskIds: [],
    requestsByOutcome: {},
    served: {},
    seedsByPrompt: {},
    referenceImages: {},
    tasks: {},
    byProvider: {},
  };
}

export class StatsCounter {
  private s = emptyStats();

  reset(): void {
    this.s = emptyStats();
  }

  /** A copy, so callers cannot change the counts; in-flight is live, so the caller supplies it. */
  snapshot(inFlight: number): SimulatorStats {
    return structuredClone({ ...this.s, inFlight });
  }

  /** The counts of one wire format; `api` is left out only where no format is known (an unknown path). */
  private of(api: string): ProviderCounts {
    return (this.s.byProvider[api] ??= {
      submissions: 0,
      refusedSubmissions: 0,
      maxInFlight: 0,
      cancels: 0,
      requestsByOutcome: {},
    });
  }

  /** An API request, under what the simulator did with it. */
  request(outcome: string, api?: string): void {
    this.s.requestsByOutcome[outcome] = (this.s.requestsByOutcome[outcome] ?? 0) + 1;
    if (api) this.of(api).requestsByOutcome[outcome] = (this.of(api).requestsByOutcome[outcome] ?? 0) + 1;
  }

  refusal(api?: string): void {
    this.s.refusedSubmissions++;
    if (api) this.of(api).refusedSubmissions++;
  }

  submissionsOf(prompt: string): number {
    return this.s.submissionsByPrompt[prompt] ?? 0;
  }

  /** `by`: the wire format the task came in by, and how many of its tasks are in flight. */
  submission(prompt: string, seed: number, inFlight: number, by?: { api: string; inFlight: number }): void {
    if (by) {
      const p = this.of(by.api);
      p.submissions++;
      p.maxInFlight = Math.max(p.maxInFlight, by.inFlight);
    }
    this.s.submissions++;
    this.s.submissionsByPrompt[prompt] = this.submissionsOf(prompt) + 1;
    (this.s.seedsByPrompt[prompt] ??= []).push(seed);
    this.s.maxInFlight = Math.max(this.s.maxInFlight, inFlight);
  }

  task(taskId: string, submittedAt: number, readyAt: number): void {
    this.s.tasks[taskId] = { submittedAt, readyAt };
  }

  referenceImages(prompt: string, count: number): void {
    this.s.referenceImages[prompt] = count;
  }

  cancel(taskId: string, api?: string): void {
    if (api) this.of(api).cancels++;
    this.s.cancels++;
    this.s.cancelledTaskIds.push(taskId);
    const times = this.s.tasks[taskId];
    if (times) times.cancelledAt = Date.now();
  }

  served(taskId: string, png: Buffer): void {
    this.s.served[taskId] = createHash('sha256').update(png).digest('hex');
  }
}
