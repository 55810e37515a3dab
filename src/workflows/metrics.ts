// The image workflows' metrics, by a workflow interceptor (bundled as one of the worker's interceptor modules): how
// each image ended, by provider, its moderation rewrites and its time. An image's result says all of it, so the
// workflow itself records nothing. The workflow metric meter emits nothing on replay and adds no command to history:
// a worker that replays an image counts it once, where it ended.
import {
  isCancellation,
  metricMeter,
  TemporalFailure,
  workflowInfo,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';
import { failedImageResult } from '../shared/child-results';
import { ImageProvider } from '../shared/search-attributes';
import type { ImageResult, ImageStatus } from '../shared/types';

function imageEnded(provider: string, outcome: ImageStatus, rewrites: number): void {
  const labels = { provider, outcome };
  metricMeter
    .createCounter('imagebatch_images_ended', 'images', 'images that ended, by provider and outcome')
    .add(1, labels);
  if (rewrites > 0)
    metricMeter
      .createCounter('imagebatch_moderation_rewrites', 'prompts', 'prompts rewritten after a moderation refusal')
      .add(rewrites, { provider });
  const seconds = (Date.now() - workflowInfo().startTime.getTime()) / 1000;
  metricMeter
    .createHistogram('imagebatch_image_seconds', 'float', 's', 'an image from its start to its end, waits included')
    .record(seconds, labels);
}

const counted = (r: ImageResult) => imageEnded(r.provider, r.status, Math.max(0, r.prompts.length - 1));

/** The SDK loads it from the module the worker and the bundle name as their workflow interceptor modules. */
export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      async execute(input, next) {
        if (workflowInfo().workflowType !== 'imageWorkflow') return next(input);
        try {
          const result = (await next(input)) as ImageResult;
          counted(result);
          return result;
        } catch (err) {
          const failed = failedImageResult(err);
          if (failed) counted(failed);
          else if (err instanceof TemporalFailure) {
            // Cancelled (or failed outside its ledger; any other error fails only the workflow task, which runs
            // again): the provider it was working with is its search attribute.
            const provider = workflowInfo().typedSearchAttributes.get(ImageProvider) ?? 'unknown';
            imageEnded(provider, isCancellation(err) ? 'cancelled' : 'failed', 0);
          }
          throw err;
        }
      },
    },
  ],
});
