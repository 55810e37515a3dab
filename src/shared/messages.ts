// Signals and queries: one place for every message definition, used by workflows and the CLI alike.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { BatchProgress } from './batch-types';
import type { ImageResult } from './types';

/** A child image workflow's final result, sent to the batch's workflow id (reaches the current run). */
export const imageFinishedSignal = defineSignal<[ImageResult]>('imageFinished');

/** Cancel the whole batch (no ids) or the given items. */
export const cancelSignal = defineSignal<[{ itemIds?: string[] }]>('cancel');
/** Re-queue failed items (no ids: all failed ones). */
export const retrySignal = defineSignal<[{ itemIds?: string[] }]>('retry');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const setConcurrencySignal = defineSignal<[number]>('setConcurrency');

export const progressQuery = defineQuery<BatchProgress>('progress');
