// How one image is run by default, and the rule that ties the first poll to the poll interval and max wait.
import type { ImagePolicy } from './item-schema';

/** The seeds' defaults (RedBookContentGen async mode). */
export const DEFAULT_POLICY: ImagePolicy = {
  pollIntervalMs: 5_000,
  maxWaitMs: 180_000,
  retries: 3,
  simplifications: 2,
  expectedLatencyMs: 5_000,
};

/**
 * The batch's policy from the default and the user's settings. The first poll comes after the expected latency,
 * which never exceeds the poll interval or half the max wait.
 */
export function batchPolicy(overrides: Partial<Omit<ImagePolicy, 'expectedLatencyMs'>>): ImagePolicy {
  const policy = { ...DEFAULT_POLICY, ...overrides };
  return { ...policy, expectedLatencyMs: Math.min(policy.pollIntervalMs, policy.maxWaitMs / 2) };
}
