// Heartbeats for activities that wait on a provider.
import { heartbeat } from '@temporalio/activity';

/**
 * Heartbeats every 2 s while `fn` runs, so a worker that dies mid-call is noticed within the heartbeat timeout
 * instead of the start-to-close timeout, and cancellation reaches the activity.
 */
export async function withHeartbeats<T>(fn: () => Promise<T>): Promise<T> {
  heartbeat();
  const timer = setInterval(() => heartbeat(), 2000);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
