// The batch's input, progress and summary.
import type { BatchApiJobState, BatchApiSettings } from './batch-api';
import type { AccountRef, BatchLeaseState } from './accounts';
import type { ImageDelivery, ItemVariant } from './image-event';
import type { ImageItem, ImagePolicy, ImageResult, ProviderKind } from './types';

/** Where the items come from: inline for small batches, else pages read by an activity from a file. */
export type ItemsSource =
  | { kind: 'inline'; items: ImageItem[] }
  | { kind: 'file'; path: string; sha256: string; count: number; pageSize: number };

export interface BatchInput {
  batchId: string;
  items: ItemsSource;
  /** `<out>`; images go into `<out>/<batchId>`. */
  outDir: string;
  provider: ProviderKind;
  /** Fallback: the providers to try in order (the first is `provider`); an item's own list wins. */
  providers?: ProviderKind[];
  /** Move to the next provider also when moderation refused the prompt (after simplification could not help). */
  fallbackOnModeration?: boolean;
  /** Completion hook: a shell command run on a worker with the summary JSON on stdin, once, at the end. */
  onComplete?: string;
  /** Completion hook: a URL the summary is POSTed to (HMAC-signed when the worker has IMAGEBATCH_WEBHOOK_SECRET). */
  webhook?: string;
  /** What the webhook is POSTed for: each image as it ends, the batch at its end (absent: the batch only). */
  webhookEvents?: WebhookEvent[];
  concurrency: number;
  policy: ImagePolicy;
  /** Name of the items file, for the summary. */
  itemsName?: string;
  /** A batch started by `retry` of a finished batch names the batch it continues. */
  retryOf?: string;
  /** Tests force continue-as-new after this many history events; otherwise Temporal's suggestion decides. */
  continueAsNewAfterEvents?: number;
  /** How often a run looks for children an earlier run started that closed without reporting (default 5 min). */
  childCheckIntervalMs?: number;
  /** The provider simulator makes its images (asked for, or `run` with no credentials set): manifest and summary say so. */
  simulated?: boolean;
  /**
   * The provider accounts the client that started the batch holds (`run`, `start` with the keys set): the batch's
   * images of those providers run on them only, never on another worker's account. Refs only, never credentials.
   */
  accounts?: AccountRef[];
  /** Provider submissions the batch may make at most (accepted tasks, resubmissions included); none: no cap. */
  maxSubmissions?: number;
  /** `--batch-api`: the items go to OpenAI's Batch API in jobs (half price, within 24 h), not one request each. */
  batchApi?: BatchApiSettings;
  /** Carried across continue-as-new. */
  state?: BatchState;
}

/** The webhook's deliveries a batch may ask for (`--webhook-events`). */
export const WEBHOOK_EVENTS = ['image', 'batch'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** The batch's submission budget: what it may spend, has spent, and has promised to the images in flight. */
export interface SubmissionBudget {
  max: number;
  used: number;
  reserved: number;
}

/** An item's result as the results log keeps it. */
export interface ResultRecord extends ImageResult {
  /** Workflow time of the report and its order in the batch, so the latest record per item wins. */
  at: number;
  seq: number;
}

export interface FailureNote {
  itemId: string;
  error: string;
}

/** Everything a run hands to the next one at continue-as-new: cursor, counters, ids. */
export interface BatchState {
  cursor: number;
  /** Items queued again by retry (or not yet started after a retry), before the cursor's items. */
  requeued: string[];
  inFlight: Record<string, string>;
  counts: { succeeded: number; failed: number; cancelled: number; skipped: number };
  failedIds: string[];
  cancelledIds: string[];
  /** Queued items cancelled before they started, which the cursor passes over (absent in older runs' state). */
  skipIds?: string[];
  retryRounds: Record<string, number>;
  recentFailures: FailureNote[];
  concurrency: number;
  paused: boolean;
  cancelRequested: boolean;
  startedAt: string;
  runs: number;
  /** Item results reported but not yet written to disk. */
  pendingResults?: ResultRecord[];
  /** The submission budget (absent in older runs' state and when there is none). */
  maxSubmissions?: number;
  /** Submissions made by the images that have reported. */
  submissions?: number;
  /** Why the batch paused itself (its output folder cannot be written); cleared by resume. */
  pauseReason?: string;
  /** Submissions promised to each image in flight: it stops before it makes more. */
  reserved?: Record<string, number>;
  /** For the ETA: how many items have finished by work (an output found already there took none). */
  made?: number;
  /** `--webhook-events image`: the images' deliveries not yet ended (a new run starts them again). */
  imageDeliveries?: ImageDelivery[];
  /** `--webhook-events image`: the group and variant of the variants in flight, for their deliveries. */
  variants?: Record<string, ItemVariant>;
  /** The batch's leases of its provider accounts' slots, by account workflow id (absent before leases). */
  leases?: Record<string, BatchLeaseState>;
}

export interface BatchProgress {
  batchId: string;
  total: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  skipped: number;
  inFlight: string[];
  concurrency: number;
  paused: boolean;
  cancelRequested: boolean;
  done: boolean;
  startedAt: string;
  updatedAt: string;
  recentFailures: FailureNote[];
  runs: number;
  budget?: SubmissionBudget;
  /** Why the batch starts nothing more although items wait (the budget is spent), in words. */
  stopped?: string;
  /** The provider accounts the batch's images hold slots of (`imagebatch limit` shows them). */
  accounts?: AccountRef[];
  /** Items finished per minute since the batch started (absent until enough have finished: see batch-eta.ts). */
  ratePerMinute?: number;
  /** When the batch should end at that rate (ISO time, workflow clock); absent when nothing progresses. */
  eta?: string;
  /** `--batch-api`: the batch's jobs and where each stands. */
  batchJobs?: BatchApiJobState[];
}

export interface BatchSummary {
  batchId: string;
  total: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  skipped: number;
  /** Path of manifest.json, as the worker that wrote it sees it. */
  manifest: string;
  /** The batch folder, `<out>/<batchId>`, as the workers see it. */
  outDir?: string;
  status: 'completed' | 'cancelled';
  /** The last failures (at most 20), so a summary read from the workflow names them without the folder. */
  failures?: FailureNote[];
  /** In words, never looking cleaner than it was: "completed with 2 failed: 8 of 10 succeeded". */
  outcome?: string;
  /** The completion hooks (`--on-complete`, `--webhook`) and how each ended; absent when the batch has none. */
  hooks?: HookOutcome[];
}

/** A completion hook that finally failed does not fail the batch: it is recorded here. */
export interface HookOutcome {
  kind: 'command' | 'webhook';
  ok: boolean;
  /** Why it failed, after its retries (a non-zero exit's stderr tail, an HTTP status). */
  error?: string;
}

export type { ImageResult };

/** The batch's providers as its input takes them: the first, and the fallback order when there are several. */
export type BatchProviders = Pick<BatchInput, 'provider' | 'providers'>;

/** The simulator speaks every provider's wire format; a simulated batch is Volcengine's. */
export const SIMULATED_BATCH: BatchProviders = { provider: 'volcengine' };
