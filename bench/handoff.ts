// The slot handoff seen from the provider: how long an account's slot stays empty between one task's end and the
// next submit on it, from the simulator's own times (no clock of imagebatch's is involved).
import type { TaskTimes } from '../src/providers/simulator/stats';

/** When the task stopped counting against the provider's limit: ready, or cancelled before that. */
export const taskEnd = (t: TaskTimes): number => t.cancelledAt ?? t.readyAt;

/**
 * With the limit saturated and slots reused first in, first out, the j-th submission (j >= limit, in time order) took
 * the slot freed by the (j - limit)-th task end: its handoff is submit_j - end_(j - limit), in ms.
 */
export function slotHandoffs(tasks: Record<string, TaskTimes>, limit: number): number[] {
  const times = Object.values(tasks);
  const submits = times.map((t) => t.submittedAt).sort((a, b) => a - b);
  const ends = times.map(taskEnd).sort((a, b) => a - b);
  return submits.slice(limit).map((submit, i) => submit - ends[i]);
}

/** The p-quantile (0 to 1) of the values, by nearest rank. */
export function quantile(values: number[], p: number): number {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(p * v.length))];
}
