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

  /** An API request, under what the simulator did with it. */
  request(outcome: string): void {
    this.s.requestsByOutcome[outcome] = (this.s.requestsByOutcome[outcome] ?? 0) + 1;
  }

  refusal(): void {
    this.s.refusedSubmissions++;
  }

  submissionsOf(prompt: string): number {
    return this.s.submissionsByPrompt[prompt] ?? 0;
  }

  submission(prompt: string, seed: number, inFlight: number): void {
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

  cancel(taskId: string): void {
    this.s.cancels++;
    this.s.cancelledTaskIds.push(taskId);
    const times = this.s.tasks[taskId];
    if (times) times.cancelledAt = Date.now();
  }

  served(taskId: string, png: Buffer): void {
    this.s.served[taskId] = createHash('sha256').update(png).digest('hex');
  }
}
