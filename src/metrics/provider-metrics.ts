// imagebatch's metrics of provider calls, recorded in the activities through the SDK's metric meter: the SDK serves
// them on the same Prometheus endpoint as its own (`imagebatch worker --metrics`), and without one they cost nothing.
// Labels are bounded words only: the provider, what came of the call, never a prompt, an item or a key.
import { ApplicationFailure, metricMeter } from '@temporalio/activity';
import { ProviderError } from '../providers/types';
import { ErrorType } from '../shared/errors';
import { isSyncProvider } from '../shared/providers';
import type { ProviderKind } from '../shared/types';

/** What came of one submit (or synchronous generation): taken, refused for its limit or by moderation, or else. */
export type CallOutcome = 'accepted' | 'throttled' | 'moderated' | 'failed';

/** What a provider's refusal of a request was (the call threw `error`: a provider's error, or a classified failure). */
export function refusalOutcome(error: unknown): CallOutcome {
  const type = error instanceof ProviderError || error instanceof ApplicationFailure ? error.type : undefined;
  if (type === ErrorType.RateLimited) return 'throttled';
  return type === ErrorType.ContentRejected ? 'moderated' : 'failed';
}

/**
 * One request that asks a provider for an image (each may be paid: the budget counts them), counted by outcome, and
 * its time: a submit's until the task is taken, a synchronous provider's until the image is back.
 */
export async function measuredCall<T>(provider: ProviderKind, call: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const done = (outcome: CallOutcome) => {
    const labels = { provider, op: isSyncProvider(provider) ? 'generate' : 'submit', outcome };
    metricMeter
      .createCounter('imagebatch_provider_submits', 'requests', 'image requests sent to a provider')
      .add(1, labels);
    metricMeter
      .createHistogram('imagebatch_provider_call_seconds', 'float', 's', 'time of a provider submit or generation')
      .record((performance.now() - started) / 1000, labels);
  };
  try {
    const answer = await call();
    done('accepted');
    return answer;
  } catch (error) {
    done(refusalOutcome(error));
    throw error;
  }
}
