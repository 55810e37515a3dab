// A batch: a sliding window of imageWorkflow children under a concurrency cap, steerable while it runs.
// Children are ABANDONed (continue-as-new must not kill them) and report their result by signal to the
// batch's workflow id, which reaches whichever run is current.
import {
  allHandlersFinished,
  CancellationScope,
  CancelledFailure,
  ChildWorkflowFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  TerminatedFailure,
  TimeoutFailure,
  upsertSearchAttributes,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BatchInput, BatchProgress, BatchState, BatchSummary, ResultRecord } from '../shared/batch-types';
import { childClosedResult, failedImageResult } from '../shared/child-results';
import { MAX_CONCURRENCY } from '../shared/constants';
import {
  cancelSignal,
  imageFinishedSignal,
  pauseSignal,
  progressQuery,
  resumeSignal,
  retrySignal,
  setConcurrencySignal,
} from '../shared/messages';
import { ImageBatchId, ImageProvider, ImageState } from '../shared/search-attributes';
import type { ImageItem, ImageResult } from '../shared/types';
import { imageWorkflow } from './image';

const { loadItemsPage, loadItemsById, recordResults, writeManifest, closedChildren } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', maximumInterval: '30s', nonRetryableErrorTypes: ['ItemsFileChanged'] },
});

/** Results are written to disk in groups, not one activity per image. */
const FLUSH_EVERY = 100;
/** Children started in one workflow task at most, to keep each task short. */
const START_BURST = 100;
const RECENT_FAILURES = 20;
const CHILD_CHECK_INTERVAL_MS = 5 * 60_000;

/** The ImageResult a child closed with: its return value, or the details of its ImageFailed failure. */
function childResult(outcome: unknown): ImageResult | undefined {
  if (outcome instanceof ChildWorkflowFailure) return failedImageResult(outcome.cause);
  return outcome instanceof Error ? undefined : (outcome as ImageResult);
}

function describeClose(outcome: unknown): string {
  if (outcome instanceof ChildWorkflowFailure) {
    if (outcome.cause instanceof TerminatedFailure) return 'terminated';
    if (outcome.cause instanceof TimeoutFailure) return 'timed out';
    if (outcome.cause instanceof CancelledFailure) return 'cancelled';
    return outcome.cause?.message ?? outcome.message;
  }
  return outcome instanceof Error ? outcome.message : 'no result';
}

function initialState(input: BatchInput): BatchState {
  return {
    cursor: 0,
    requeued: [],
    inFlight: {},
    counts: { succeeded: 0, failed: 0, cancelled: 0, skipped: 0 },
    failedIds: [],
    cancelledIds: [],
    retryRounds: {},
    recentFailures: [],
    concurrency: input.concurrency,
    paused: false,
    cancelRequested: false,
    startedAt: new Date().toISOString(),
    runs: 1,
  };
}

export async function batchWorkflow(input: BatchInput): Promise<BatchSummary> {
  const info = workflowInfo();
  // Batches started without the attribute (by another client) still show under ImageBatchId in the Web UI.
  // Patched, because histories recorded before this change have no such command.
  if (!info.typedSearchAttributes.get(ImageBatchId) && patched('batch-id-search-attribute')) {
    upsertSearchAttributes([{ key: ImageBatchId, value: input.batchId }]);
  }
  const s: BatchState = input.state ? { ...input.state, runs: input.state.runs + 1 } : initialState(input);
  const total = input.items.kind === 'inline' ? input.items.items.length : input.items.count;
  const skip = new Set(s.cancelledIds);
  // Results not yet written to disk; what a run did not flush travels in the continue-as-new state.
  let pending: ResultRecord[] = s.pendingResults ?? [];
  let seq = 0;
  let updatedAt = new Date().toISOString();
  let wake = false;
  let page: { offset: number; items: ImageItem[] } | undefined;

  const inFlightCount = () => Object.keys(s.inFlight).length;
  const finished = () => s.counts.succeeded + s.counts.failed + s.counts.cancelled;
  const queueEmpty = () => s.cancelRequested || (s.cursor >= total && s.requeued.length === 0);
  const done = () => queueEmpty() && inFlightCount() === 0;
  const touch = () => {
    wake = true;
    updatedAt = new Date().toISOString();
  };

  const record = (r: ImageResult) => pending.push({ ...r, at: Date.now(), seq: seq++ });

  const cancelChild = (itemId: string) => {
    const childId = s.inFlight[itemId];
    // Fire and forget: the child reports 'cancelled' by signal; a child that already finished ignores it.
    if (childId)
      getExternalWorkflowHandle(childId)
        .cancel()
        .catch(() => undefined);
  };

  const settle = (r: ImageResult) => {
    if (!(r.itemId in s.inFlight)) return; // a late or repeated report
    delete s.inFlight[r.itemId];
    s.counts[r.status]++;
    if (r.skipped) s.counts.skipped++;
    if (r.status !== 'succeeded') {
      (r.status === 'failed' ? s.failedIds : s.cancelledIds).push(r.itemId);
      s.recentFailures = [...s.recentFailures, { itemId: r.itemId, error: r.error ?? r.status }].slice(
        -RECENT_FAILURES,
      );
    }
    record(r);
    touch();
  };
  setHandler(imageFinishedSignal, settle);

  /**
   * A child that closed without reporting (terminated or timed out from the Web UI or the CLI) would leave the
   * batch waiting for ever: its close settles the item instead. A child that reported was settled by its signal,
   * which this run sees first, so for those (and in every recorded history) this does nothing.
   */
  const settleUnreported = (item: ImageItem, provider: ImageResult['provider'], childId: string, outcome: unknown) => {
    if (s.inFlight[item.id] !== childId) return;
    settle(
      childResult(outcome) ??
        childClosedResult({
          itemId: item.id,
          provider,
          childId,
          how: describeClose(outcome),
          cancelled: isCancellation(outcome),
          prompts: [item.prompt],
        }),
    );
  };

  /**
   * Children an earlier run started cannot be awaited by this one: now and then ask the server which of them have
   * closed, and settle those that never reported. Patched: recorded runs that inherited children had no such timer.
   */
  const inherited = Object.entries(s.inFlight);
  async function watchInheritedChildren(): Promise<void> {
    for (;;) {
      await sleep(input.childCheckIntervalMs ?? CHILD_CHECK_INTERVAL_MS);
      const open = inherited.filter(([itemId, childId]) => s.inFlight[itemId] === childId);
      if (!open.length) return;
      const closed = await closedChildren({ children: open.map(([itemId, childId]) => ({ itemId, childId })) });
      for (const r of closed)
        if (open.some(([itemId, childId]) => itemId === r.itemId && s.inFlight[itemId] === childId)) settle(r);
    }
  }
  if (inherited.length && patched('watch-inherited-children')) {
    // Ends with the run; a cancellation of the batch cancels its timer, which needs no handling here.
    watchInheritedChildren().catch(() => undefined);
  }

  setHandler(cancelSignal, ({ itemIds } = {}) => {
    if (!itemIds?.length) {
      s.cancelRequested = true;
      Object.keys(s.inFlight).forEach(cancelChild);
    } else {
      for (const id of itemIds) {
        if (id in s.inFlight) cancelChild(id);
        else if (!s.failedIds.includes(id)) skip.add(id);
      }
    }
    touch();
  });

  setHandler(retrySignal, ({ itemIds } = {}) => {
    if (s.cancelRequested) return;
    const retryable = new Set([...s.failedIds, ...s.cancelledIds.filter((id) => !skip.has(id))]);
    const chosen = (itemIds?.length ? itemIds : [...retryable]).filter(
      (id) => retryable.has(id) && !(id in s.inFlight),
    );
    for (const id of chosen) {
      if (s.failedIds.includes(id)) {
        s.failedIds = s.failedIds.filter((x) => x !== id);
        s.counts.failed--;
      } else {
        s.cancelledIds = s.cancelledIds.filter((x) => x !== id);
        s.counts.cancelled--;
      }
      s.retryRounds[id] = (s.retryRounds[id] ?? 0) + 1;
      s.requeued.push(id);
    }
    touch();
  });

  setHandler(pauseSignal, () => {
    s.paused = true;
    touch();
  });
  setHandler(resumeSignal, () => {
    s.paused = false;
    touch();
  });
  setHandler(setConcurrencySignal, (n) => {
    if (Number.isInteger(n) && n >= 1) s.concurrency = Math.min(n, MAX_CONCURRENCY);
    touch();
  });

  setHandler(progressQuery, (): BatchProgress => {
    const running = inFlightCount();
    return {
      batchId: input.batchId,
      total,
      queued: Math.max(0, total - finished() - running),
      running,
      ...s.counts,
      inFlight: Object.keys(s.inFlight),
      concurrency: s.concurrency,
      paused: s.paused,
      cancelRequested: s.cancelRequested,
      done: done(),
      startedAt: s.startedAt,
      updatedAt,
      recentFailures: s.recentFailures,
      runs: s.runs,
    };
  });

  async function itemAt(i: number): Promise<ImageItem> {
    if (input.items.kind === 'inline') return input.items.items[i];
    if (!page || i < page.offset || i >= page.offset + page.items.length) {
      const { path, sha256, pageSize } = input.items;
      page = { offset: i, items: await loadItemsPage({ path, sha256, offset: i, limit: pageSize }) };
    }
    return page.items[i - page.offset];
  }

  async function requeuedItems(ids: string[]): Promise<ImageItem[]> {
    if (input.items.kind === 'inline') {
      const want = new Set(ids);
      return input.items.items.filter((i) => want.has(i.id));
    }
    return loadItemsById({ path: input.items.path, sha256: input.items.sha256, ids });
  }

  /** The next items to start, at most n: retried ones first, then the cursor's. */
  async function takeNext(n: number): Promise<{ item: ImageItem; round: number }[]> {
    const out: { item: ImageItem; round: number }[] = [];
    if (s.requeued.length) {
      const ids = s.requeued.splice(0, n);
      for (const item of await requeuedItems(ids)) out.push({ item, round: s.retryRounds[item.id] ?? 0 });
    }
    while (out.length < n && s.cursor < total) {
      const item = await itemAt(s.cursor);
      s.cursor++;
      if (skip.has(item.id)) {
        skip.delete(item.id);
        s.counts.cancelled++;
        s.cancelledIds.push(item.id);
        record({
          itemId: item.id,
          status: 'cancelled',
          provider: item.provider ?? input.provider,
          attempts: 0,
          prompts: [item.prompt],
          error: 'cancelled before it started',
        });
        continue;
      }
      out.push({ item, round: 0 });
    }
    return out;
  }

  async function startImage({ item, round }: { item: ImageItem; round: number }): Promise<void> {
    const childId = `${info.workflowId}/${item.id}${round ? `-r${round}` : ''}`;
    const provider = item.provider ?? input.provider;
    s.inFlight[item.id] = childId;
    try {
      const child = await startChild(imageWorkflow, {
        workflowId: childId,
        args: [
          {
            batchId: input.batchId,
            item,
            provider,
            outDir: input.outDir,
            policy: { ...input.policy, ...item.policy },
            reportTo: info.workflowId,
          },
        ],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        typedSearchAttributes: [
          { key: ImageBatchId, value: input.batchId },
          { key: ImageState, value: 'queued' },
          { key: ImageProvider, value: provider },
        ],
        staticSummary: `${item.id}: ${item.prompt.slice(0, 80)}`,
      });
      child.result().then(
        (r) => settleUnreported(item, provider, childId, r),
        (err: unknown) => settleUnreported(item, provider, childId, err),
      );
    } catch (err) {
      // Already running under that id (a start whose result this run never saw): it will report by signal.
      if ((err as Error).name === 'WorkflowExecutionAlreadyStartedError') return;
      throw err;
    }
  }

  async function flush(): Promise<void> {
    if (!pending.length) return;
    const results = pending;
    pending = [];
    await recordResults({ outDir: input.outDir, results });
  }

  const shouldContinueAsNew = () =>
    workflowInfo().continueAsNewSuggested ||
    (input.continueAsNewAfterEvents !== undefined && workflowInfo().historyLength >= input.continueAsNewAfterEvents);

  try {
    for (;;) {
      wake = false;
      if (!s.paused && !s.cancelRequested) {
        const room = Math.min(s.concurrency - inFlightCount(), START_BURST);
        if (room > 0) {
          const next = await takeNext(room);
          await Promise.all(next.map(startImage));
          if (next.length) updatedAt = new Date().toISOString();
        }
      }
      if (pending.length >= FLUSH_EVERY) await flush();
      if (done()) {
        await flush();
        if (done()) break;
        continue;
      }
      if (shouldContinueAsNew()) {
        await flush();
        await condition(allHandlersFinished);
        s.cancelledIds = [...new Set([...s.cancelledIds, ...skip])];
        await continueAsNew<typeof batchWorkflow>({ ...input, state: { ...s, pendingResults: pending } });
      }
      const canStart = () =>
        !s.paused &&
        !s.cancelRequested &&
        inFlightCount() < s.concurrency &&
        !(s.cursor >= total && !s.requeued.length);
      await condition(() => wake || canStart() || done());
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled from outside (Web UI, `temporal workflow cancel`): the same as the cancel signal, then end as cancelled.
    await CancellationScope.nonCancellable(async () => {
      s.cancelRequested = true;
      Object.keys(s.inFlight).forEach(cancelChild);
      await condition(() => inFlightCount() === 0);
      await flush();
      await writeManifest({
        outDir: input.outDir,
        batchId: input.batchId,
        items: input.items,
        retryOf: input.retryOf,
        cancelled: true,
        provider: input.provider,
      });
    });
    throw err;
  }

  // Items never started because the batch was cancelled.
  if (s.cancelRequested) s.counts.cancelled += total - s.cursor + s.requeued.length;
  const manifest = await writeManifest({
    outDir: input.outDir,
    batchId: input.batchId,
    items: input.items,
    retryOf: input.retryOf,
    cancelled: s.cancelRequested,
    provider: input.provider,
  });
  return {
    batchId: input.batchId,
    total,
    succeeded: s.counts.succeeded,
    failed: s.counts.failed,
    cancelled: s.counts.cancelled,
    skipped: s.counts.skipped,
    manifest,
    status: s.cancelRequested ? 'cancelled' : 'completed',
  };
}
