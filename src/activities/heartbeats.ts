// Heartbeats for activities that wait on a provider.
import { activityInfo, heartbeat } from '@temporalio/activity';

/** Records details on the server with this and every later heartbeat of the attempt (see withHeartbeats). */
export type Checkpoint = (details: unknown) => void;

/**
 * Heartbeats every 2 s while `fn` runs, so a worker that dies mid-call is noticed within the heartbeat timeout
 * instead of the start-to-close timeout, and cancellation reaches the activity.
 *
 * Every heartbeat carries the attempt's details: the server keeps only the last ones it received and gives them to
 * the next attempt, so a heartbeat without them would erase them. They start as what the attempts before left
 * (`heartbeatDetails`) and change when `fn` calls its checkpoint. The SDK sends a heartbeat at once when none was
 * sent in the last 0.8 x heartbeat timeout, else at the end of that interval. `beatAtStart: false` leaves the
 * attempt's first 2 s without one, so a checkpoint made early (a submit the provider answered quickly) goes at once.
 */
export async function withHeartbeats<T>(
  fn: (checkpoint: Checkpoint) => Promise<T>,
  { beatAtStart = true }: { beatAtStart?: boolean } = {},
): Promise<T> {
  let details: unknown = activityInfo().heartbeatDetails;
  const beat = () => heartbeat(details);
  if (beatAtStart) beat();
  const timer = setInterval(beat, 2000);
  try {
    return await fn((next) => {
      details = next;
      beat();
    });
  } finally {
    clearInterval(timer);
  }
}
