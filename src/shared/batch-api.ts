// OpenAI's Batch API as a batch's way to its provider (`--batch-api`): the jobs' inputs, states and messages, shared
// by the batch workflow, the job workflows and their activities.
import { defineSignal } from '@temporalio/workflow';
import type { AccountRef } from './accounts';
import type { ImageItem, ImageMetadata, ImagePolicy, ImageRequestSpec, ImageResult, StoredImage } from './types';

/** Where a line moderation refused goes again, simplified: in the next job (half price), or one by one. */
export const BATCH_RETRY_MODES = ['next-job', 'individual'] as const;
export type BatchRetryMode = (typeof BATCH_RETRY_MODES)[number];

/** What `--batch-api` puts in a batch's input. */
export interface BatchApiSettings {
  retry: BatchRetryMode;
  /** A file's limits (OpenAI's by default: 50,000 lines, 200 MB); tests make them small. */
  maxLines?: number;
  maxBytes?: number;
  /** The first poll this long after the create, then each wait 1.5 times the last, up to maxPollMs. */
  firstPollMs?: number;
  maxPollMs?: number;
}

/** OpenAI's file limits. */
export const BATCH_FILE_LINES = 50_000;
export const BATCH_FILE_BYTES = 200 * 1024 * 1024;
/** A job carries its items in its input, which Temporal caps (2 MB): a job's items are kept well under that. */
export const JOB_INPUT_BYTES = 1_000_000;
export const DEFAULT_FIRST_POLL_MS = 30_000;
export const DEFAULT_MAX_POLL_MS = 10 * 60_000;
/** Jobs one group of lines may go through (moderation, rate limits, expiry) before its lines fail. */
export const MAX_JOB_ROUNDS = 12;

/** One item as a line of a job: what it has tried and spent so far, across jobs. */
export interface JobLine {
  item: ImageItem;
  /** The prompt this job sends (the item's, or a simplification of it). */
  prompt: string;
  /** Every prompt tried, the original first. */
  prompts: string[];
  attempts: number;
  /** Lines billed (run to an answer the provider charges for). */
  tasks: number;
  simplificationsLeft: number;
  retriesLeft: number;
  /** The item's share of the batch's budget, in lines; absent: no budget. */
  maxSubmissions?: number;
}

export interface BatchApiJobInput {
  batchId: string;
  /** The batch's workflow id: results and job states are signalled there. */
  reportTo: string;
  outDir: string;
  model: string;
  policy: ImagePolicy;
  settings: BatchApiSettings;
  account?: AccountRef;
  lines: JobLine[];
  /** The jobs this group of lines has been through before this one. */
  round: number;
}

/** A job as status and watch show it. */
export interface BatchApiJobState {
  /** The job workflow's id; its jobs are `<id>#<round>` in the job's metadata. */
  workflowId: string;
  round: number;
  /** OpenAI's batch id, once created. */
  jobId?: string;
  /** OpenAI's status, or `preparing` (file being uploaded) and `queued` (the account's enqueued limit is full). */
  status: string;
  lines: number;
  completed: number;
  failed: number;
}

/** The line's custom_id: its place in the job (unique in the file) and as much of the item id as fits in 64. */
export const customIdOf = (index: number, itemId: string): string => `L${index}_${itemId}`.slice(0, 64);

/** What the prepare activity needs of a line to write it into the file. */
export interface PreparedLine {
  customId: string;
  itemId: string;
  filename?: string;
  request: ImageRequestSpec & { model: string };
}

export interface PrepareJobInput {
  key: string;
  outDir: string;
  lines: PreparedLine[];
  maxLines?: number;
  maxBytes?: number;
}

export interface PrepareJobOutput {
  /** Absent when every line's image is there already. */
  file?: { id: string; createdAt: number };
  /** Lines whose image is on disk already (by custom_id): nothing is sent for them. */
  existing: Record<string, StoredImage>;
}

export type CreateJobOutput = { job: JobView } | { queueFull: string };

export interface JobView {
  id: string;
  status: string;
  outputFileId?: string;
  errorFileId?: string;
  counts: { total: number; completed: number; failed: number };
  errors: { code: string; message: string }[];
}

/** A job refused for the account's enqueued limit (at create, or in validation): nothing ran, nothing is billed. */
export function refusedForQueue(job: Pick<JobView, 'status' | 'errors'>): boolean {
  return job.status === 'failed' && job.errors.some((e) => e.code === 'token_limit_exceeded');
}

export interface CollectJobInput {
  outDir: string;
  fileIds: string[];
  lines: { customId: string; itemId: string; filename?: string; meta: ImageMetadata }[];
}

/** One line's end as read from the result files. */
export type LineOutcome =
  | { customId: string; stored: StoredImage }
  | { customId: string; errorType: string; error: string; code?: string }
  | { customId: string; dropped: 'expired' | 'cancelled' };

/** Several items' results at once: a job reports its lines in groups, not one signal per image. */
export const imagesFinishedSignal = defineSignal<[ImageResult[]]>('imagesFinished');
/** A job's state, each time it changes: the batch's progress shows it. */
export const batchApiJobSignal = defineSignal<[BatchApiJobState]>('batchApiJob');

/** The model a line names when its item names none: the OpenAI client's default (providers/openai/client.ts). */
export const BATCH_DEFAULT_MODEL = 'gpt-image-1';
/** With `--batch-api`, the batch's concurrency is the lines its open jobs hold at once: by default this many. */
export const BATCH_API_CONCURRENCY = 2000;
