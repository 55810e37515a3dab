// Signals, queries and updates: one place for every message definition, used by workflows and the CLI alike.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BatchProgress } from './batch-types';
import type { ImageResult } from './types';

/** A child image workflow's final result, sent to the batch's workflow id (reaches the current run). */
export const imageFinishedSignal = defineSignal<[ImageResult]>('imageFinished');

export const progressQuery = defineQuery<BatchProgress>('progress');

/** Which items a control message is about; none means the whole batch (cancel) or every failed item (retry). */
export interface ItemSelection {
  itemIds?: string[];
}

/**
 * What a control Update did, in words the CLI prints as is ("concurrency 3 -> 8", "retrying 2 items: a, b").
 * A refusal is not an answer: the validator (or handler) rejects the Update with the reason.
 */
export interface ControlAnswer {
  message: string;
  /** The items the request acted on, where it names items. */
  itemIds?: string[];
}

/** The failure type of a refused control request ("refused: item x is running"). */
export const CONTROL_REFUSED = 'ControlRefused';

// Control as Updates: the caller learns what was done, or why not.
export const cancelUpdate = defineUpdate<ControlAnswer, [ItemSelection]>('cancel');
export const retryUpdate = defineUpdate<ControlAnswer, [ItemSelection]>('retry');
export const pauseUpdate = defineUpdate<ControlAnswer>('pause');
/** Resume a paused batch, or one stopped by its budget with a larger one. */
export interface ResumeOptions {
  maxSubmissions?: number;
}
export const resumeUpdate = defineUpdate<ControlAnswer, [ResumeOptions]>('resume');
export const setConcurrencyUpdate = defineUpdate<ControlAnswer, [number]>('setConcurrency');

// The same control as signals, which batches keep obeying (older clients, `temporal workflow signal`). A signal
// cannot answer: a value the batch does not accept is dropped.
/** Cancel the whole batch (no ids) or the given items. */
export const cancelSignal = defineSignal<[ItemSelection]>('cancel');
/** Re-queue failed items (no ids: all failed ones). */
export const retrySignal = defineSignal<[ItemSelection]>('retry');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const setConcurrencySignal = defineSignal<[number]>('setConcurrency');
