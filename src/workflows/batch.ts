// A batch: a sliding window of imageWorkflow children under a concurrency cap, steerable while it runs. The state
// and its rules live in BatchLedger; this function wires messages to it, starts children and does the I/O.
// Children are ABANDONed (continue-as-new must not kill them) and report their result by signal to the batch's
// workflow id, which reaches whichever run is current.
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchInput, BatchSummary } from '../shared/batch-types';
import {
  cancelSignal,
  cancelUpdate,
  CONTROL_REFUSED,
  imageFinishedSignal,
  type ItemSelection,
  pauseSignal,
  pauseUpdate,
  progressQuery,
  resumeSignal,
  resumeUpdate,
  retrySignal,
  retryUpdate,
  setConcurrencySignal,
  setConcurrencyUpdate,
} from '../shared/messages';
import { ImageBatchId } from '../shared/search-attributes';
import { progressDetails } from '../shared/batch-words';
import { BatchItems } from './batch-items';
import { BatchLedger, type ControlMode, ControlRefused, type Positions } from './batch-ledger';
import { BatchResults } from './batch-results';
import { BatchAccounts, cancelChildren, startImageChild, watchInheritedChildren } from './batch-children';
import { ImageWebhooks } from './batch-hooks';
import { BatchApiPath } from './batch-api-path';
import { BatchLeases } from './batch-leases';
import { openAccountActivity } from './image-activities';
import { providerOrder } from '../shared/providers';

/** Children started in one workflow task at most, to keep each task short. */
const START_BURST = 100;

export async function batchWorkflow(input: BatchInput): Promise<BatchSummary> {
  const info = workflowInfo();
  // Batches started without the attribute (by another client) still show under ImageBatchId in the Web UI.
  if (!info.typedSearchAttributes.get(ImageBatchId))
    upsertSearchAttributes([{ key: ImageBatchId, value: input.batchId }]);
  const ledger = new BatchLedger(input);
  const items = new BatchItems(input.items);
  const accounts = new BatchAccounts(input.accounts);
  const leases = accounts.leasing ? leaseSlots(input, ledger) : undefined;
  const imageWebhooks = new ImageWebhooks(input, ledger);
  const results = new BatchResults(input, ledger, imageWebhooks);
  // `--batch-api`: items go to OpenAI's Batch API in job workflows instead of one child each.
  const batchApi = input.batchApi ? new BatchApiPath(input, ledger, accounts) : undefined;

  // In this order: signals buffered before the first task are delivered as their handler is set, and the
  // inherited-children timer comes before any cancel a buffered signal asks for (a new order would not replay).
  setHandler(imageFinishedSignal, (r) => ledger.settle(r));
  if (ledger.inFlight().length) {
    // Ends with the run; a cancellation of the batch cancels its timer, which needs no handling here.
    watchInheritedChildren(ledger, input.childCheckIntervalMs).catch(() => undefined);
  }
  wireControl(ledger, items, cancelChildren);
  setHandler(progressQuery, () => ({ ...ledger.progress(), accounts: accounts.known, ...batchApi?.progress() }));
  imageWebhooks.deliverInBackground();

  const shouldContinueAsNew = () =>
    workflowInfo().continueAsNewSuggested ||
    (input.continueAsNewAfterEvents !== undefined && workflowInfo().historyLength >= input.continueAsNewAfterEvents);

  let cancelled: unknown;
  try {
    for (;;) {
      const seen = ledger.changes;
      // The Web UI's details (no command: replay is unaffected): "12/100 done · 3 failed · ETA 4 min".
      setCurrentDetails(progressDetails(ledger.progress(), Date.now()));
      if (batchApi) await batchApi.startJobs(items);
      const room = batchApi ? 0 : ledger.room(START_BURST);
      if (room > 0) {
        // The slots the burst needs, asked of the account before it starts: its images start holding them.
        if (leases) {
          const interrupted = () => ledger.changes !== seen;
          const account = await accounts.whenOpen(providerOrder(undefined, input)[0], interrupted);
          if (account) await leases.reserve(account, Math.min(room, ledger.queuedCount()), interrupted);
        }
        const next = await ledger.takeNext(room, items);
        const starts = next.map((image) => startImageChild(ledger, input, accounts, image, leases));
        leases?.flush();
        await Promise.all(starts);
      }
      await results.keepUp();
      if (ledger.done()) {
        await results.flush();
        // An Update still looking its items up (a retry, say) may yet give the batch more to do.
        await condition(allHandlersFinished);
        if (ledger.done()) break;
        continue;
      }
      if (shouldContinueAsNew()) {
        await results.flush();
        await condition(() => allHandlersFinished() && (leases?.idle() ?? true));
        await continueAsNew<typeof batchWorkflow>({ ...input, state: ledger.carry() });
      }
      await condition(() => ledger.changes !== seen || ledger.canStart() || ledger.done());
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled from outside (Web UI, `temporal workflow cancel`): the same as a cancel request, then end as
    // cancelled once every child has reported.
    cancelled = err;
    await CancellationScope.nonCancellable(async () => {
      cancelChildren(ledger.cancel(undefined, undefined, 'lenient').cancelChildren);
      await condition(() => ledger.inFlightCount === 0);
    });
  }

  // The batch's slots go back to their accounts before it ends (another batch may be waiting for them).
  if (leases) await CancellationScope.nonCancellable(() => leases.returnAll());
  const summary = await CancellationScope.nonCancellable(() => results.finish());
  setCurrentDetails(summary.outcome ?? summary.status);
  if (cancelled) throw cancelled;
  return summary;
}

/**
 * The batch's leases of its accounts' slots: an item that leaves the window frees its slot for the next one, and while
 * it holds slots the batch tells its accounts its leases now and then.
 */
function leaseSlots(input: BatchInput, ledger: BatchLedger): BatchLeases {
  const leases = new BatchLeases(
    ledger.leaseState(),
    input.batchId,
    (itemId) => ledger.inFlight().find(([id]) => id === itemId)?.[1],
    () => ledger.mayStartMore(),
    (account) => openAccountActivity(account.provider, account)(),
  );
  ledger.onItemLeft = (r) => leases.ended(r.itemId, r.status === 'succeeded' && !r.skipped);
  // Ends with the run; a cancellation of the batch cancels its timer, which needs no handling here.
  leases.keepInTouch().catch(() => undefined);
  return leases;
}

/**
 * Control by Update (answers what was done, or refuses with the reason) and by signal (for older clients: does what
 * it can, silently). Both go through the same ledger rules.
 */
function wireControl(ledger: BatchLedger, items: BatchItems, cancelChildren: (ids: string[]) => void): void {
  const answering = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      // A refusal in the handler (after the items were looked up) fails the Update, not the workflow.
      if (err instanceof ControlRefused)
        throw ApplicationFailure.create({ type: CONTROL_REFUSED, message: err.message, nonRetryable: true });
      throw err;
    }
  };
  const itemControl = (act: typeof ledger.cancel) => ({
    check: ({ itemIds }: ItemSelection = {}) => void act.call(ledger, itemIds, items.positionsNow(itemIds), 'check'),
    apply: async ({ itemIds }: ItemSelection = {}, mode: ControlMode) => {
      const positions: Positions = mode === 'strict' ? await items.positions(itemIds) : items.positionsNow(itemIds);
      const outcome = answering(() => act.call(ledger, itemIds, positions, mode));
      cancelChildren(outcome.cancelChildren);
      return outcome.answer;
    },
  });

  const cancel = itemControl(ledger.cancel);
  setHandler(cancelUpdate, (sel) => cancel.apply(sel, 'strict'), { validator: cancel.check });
  setHandler(cancelSignal, (sel) => void cancel.apply(sel, 'lenient'));

  const retry = itemControl(ledger.retry);
  setHandler(retryUpdate, (sel) => retry.apply(sel, 'strict'), { validator: retry.check });
  setHandler(retrySignal, (sel) => void retry.apply(sel, 'lenient'));

  setHandler(pauseUpdate, () => answering(() => ledger.pause('strict')), {
    validator: () => void ledger.pause('check'),
  });
  setHandler(pauseSignal, () => void ledger.pause('lenient'));
  setHandler(resumeUpdate, (o) => answering(() => ledger.resume('strict', o?.maxSubmissions)), {
    validator: (o) => void ledger.resume('check', o?.maxSubmissions),
  });
  setHandler(resumeSignal, () => void ledger.resume('lenient'));
  setHandler(setConcurrencyUpdate, (n) => answering(() => ledger.setConcurrency(n, 'strict')), {
    validator: (n) => void ledger.setConcurrency(n, 'check'),
  });
  setHandler(setConcurrencySignal, (n) => void ledger.setConcurrency(n, 'lenient'));
}
