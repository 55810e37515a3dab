// `--batch-api` and `--batch-retry` (run, start), else IMAGEBATCH_BATCH_API / IMAGEBATCH_BATCH_RETRY, else config.json's
// image_generation.batch_api / batch_retry: whether the batch goes through OpenAI's Batch API, and how.
import fs from 'node:fs';
import path from 'node:path';
import {
  BATCH_API_CONCURRENCY,
  BATCH_RETRY_MODES,
  type BatchApiSettings,
  type BatchRetryMode,
} from '../shared/batch-api';
import type { BatchProviders } from '../shared/batch-types';
import type { ImageItem } from '../shared/types';
import { UsageError } from './exit-codes';
import type { RunSettings } from './settings';

export interface BatchApiFlags {
  batchApi?: boolean;
  batchRetry?: string;
  config?: string;
}

/** image_generation.batch_api and batch_retry of the config file settings.ts reads (the other keys are its). */
function fromConfig(explicit?: string): { on?: unknown; retry?: unknown; file?: string } {
  const file = (explicit ? [explicit] : ['config.json', path.join('config', 'config.json')]).find((f) =>
    fs.existsSync(f),
  );
  if (!file) return {};
  try {
    const block = (JSON.parse(fs.readFileSync(file, 'utf8')) as { image_generation?: Record<string, unknown> })
      .image_generation;
    return { on: block?.batch_api, retry: block?.batch_retry, file };
  } catch {
    // settings.ts reads the same file first and says what is wrong with it.
    return {};
  }
}

function onOff(name: string, v: unknown): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  if (v === true || v === 'true' || v === '1') return true;
  if (v === false || v === 'false' || v === '0') return false;
  throw new UsageError(`${name}: expected true or false, got ${JSON.stringify(v)}`);
}

function retryMode(name: string, v: unknown): BatchRetryMode | undefined {
  if (v === undefined || v === '') return undefined;
  if (BATCH_RETRY_MODES.includes(v as BatchRetryMode)) return v as BatchRetryMode;
  throw new UsageError(`${name}: expected ${BATCH_RETRY_MODES.join(' or ')}, got ${JSON.stringify(v)}`);
}

/**
 * The Batch API settings of a batch, or undefined when it does not use it. Its concurrency is the lines its open
 * jobs hold at once: BATCH_API_CONCURRENCY unless one was asked for.
 */
export function resolveBatchApi(
  flags: BatchApiFlags,
  batch: BatchProviders,
  items: readonly ImageItem[],
  settings: RunSettings,
  env: NodeJS.ProcessEnv = process.env,
): { batchApi: BatchApiSettings; concurrency: number } | undefined {
  const config = fromConfig(flags.config);
  const cfg = (key: string) => `${config.file ?? 'config'}: image_generation.${key}`;
  const on =
    flags.batchApi ??
    onOff('IMAGEBATCH_BATCH_API', env.IMAGEBATCH_BATCH_API) ??
    onOff(cfg('batch_api'), config.on) ??
    false;
  const retry =
    retryMode('--batch-retry', flags.batchRetry) ??
    retryMode('IMAGEBATCH_BATCH_RETRY', env.IMAGEBATCH_BATCH_RETRY) ??
    retryMode(cfg('batch_retry'), config.retry);
  if (!on) {
    if (flags.batchRetry) throw new UsageError('--batch-retry needs --batch-api');
    return undefined;
  }
  const others = new Set([...(batch.providers ?? [batch.provider]), ...items.flatMap((i) => i.provider ?? [])]);
  if (batch.provider !== 'openai' || [...others].some((p) => p !== 'openai'))
    throw new UsageError('--batch-api needs --provider openai (alone: no fallback list, no item naming another)');
  // Refused here, before anything is paid, rather than failed after the batch started: imagebatch sends only
  // generations through the Batch API (an edit's reference images would have to be uploaded per line).
  const edit = items.find((i) => i.referenceImages?.length);
  if (edit)
    throw new UsageError(
      `item '${edit.id}': referenceImages: --batch-api sends generations only; run items with reference images without it`,
    );
  // A file's line limit, smaller than OpenAI's 50,000: for tests that split a batch into several jobs.
  const maxLines = Number(env.IMAGEBATCH_BATCH_API_MAX_LINES) || undefined;
  // --poll-interval given: the first poll after that long (then 1.5 times longer each time); else after 30 s.
  const firstPollMs = settings.sources.pollInterval ? settings.policy.pollIntervalMs : undefined;
  return {
    batchApi: {
      retry: retry ?? 'next-job',
      ...(maxLines ? { maxLines } : {}),
      ...(firstPollMs ? { firstPollMs } : {}),
    },
    concurrency: settings.sources.concurrency ? settings.concurrency : BATCH_API_CONCURRENCY,
  };
}
