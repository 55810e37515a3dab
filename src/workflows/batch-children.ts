// Starting a batch's image children, and settling those that close without reporting.
import {
  CancelledFailure,
  ChildWorkflowFailure,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  ParentClosePolicy,
  patched,
  sleep,
  startChild,
  TerminatedFailure,
  TimeoutFailure,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchInput } from '../shared/batch-types';
import { childClosedResult, failedImageResult } from '../shared/child-results';
import { asMarkdownText } from '../shared/markdown';
import { providerOrder } from '../shared/providers';
import { ImageBatchId, ImageProvider, ImageState } from '../shared/search-attributes';
import { namedAccount } from '../shared/account-queues';
import type { AccountRef } from '../shared/accounts';
import type { ImageResult, ProviderKind } from '../shared/types';
import { batchActivities } from './batch-activities';
import type { BatchLedger, NextImage } from './batch-ledger';
import { imageWorkflow } from './image';
import { ACCOUNT_QUEUES, openAccountActivity } from './image-activities';
import { ACCOUNT_LEASES, type BatchLeases } from './batch-leases';

const CHILD_CHECK_INTERVAL_MS = 5 * 60_000;

/**
 * The provider accounts of a batch's images, opened once per provider and run (an activity reads credentials). An
 * account the batch's client named (`named`: it held the credentials) is the one of its provider, known at once and
 * opened on its own queue: no other worker's account answers for it.
 */
export class BatchAccounts {
  private readonly opened = new Map<ProviderKind, Promise<AccountRef>>();
  private readonly ready = new Map<ProviderKind, AccountRef>();
  /** The accounts opened so far, for the progress query. */
  readonly known: AccountRef[] = [];
  private readonly named: AccountRef[];
  /** Whether this run leases its accounts' slots (patched: ACCOUNT_LEASES). */
  readonly leasing: boolean;

  constructor(named: AccountRef[] | undefined) {
    // Asked once per run, before any command: a run that started before the change opens accounts as it did.
    this.named = patched(ACCOUNT_QUEUES) ? (named ?? []) : [];
    this.leasing = patched(ACCOUNT_LEASES);
  }

  /** The provider's account, once open; waits for it unless `interrupted` first (then undefined if not open yet). */
  async whenOpen(provider: ProviderKind, interrupted: () => boolean): Promise<AccountRef | undefined> {
    const now = this.openNow(provider);
    if (now) return now;
    let settled = false;
    this.of(provider).then(
      () => (settled = true),
      () => (settled = true),
    );
    await condition(() => settled || interrupted());
    return this.ready.get(provider);
  }

  private of(provider: ProviderKind): Promise<AccountRef> {
    let account = this.opened.get(provider);
    if (!account) {
      const named = namedAccount(this.named, provider);
      if (named) {
        this.known.push(named);
        this.ready.set(provider, named);
      }
      account = openAccountActivity(provider, named)().then((a) => {
        if (named) return named;
        this.known.push(a);
        this.ready.set(provider, a);
        return a;
      });
      this.opened.set(provider, account);
    }
    return account;
  }

  /**
   * The account if it is open already; else it starts opening it (in the background) and answers undefined. The
   * open waits for a worker with the provider's credentials (on its queue), which must not stop the batch.
   */
  openNow(provider: ProviderKind): AccountRef | undefined {
    // Its failure surfaces in the children, which open the account themselves meanwhile.
    this.of(provider).catch(() => undefined);
    return this.ready.get(provider);
  }
}

/**
 * The child's workflow id: `<batch>/<item>`, and `<batch>/<item>/r<N>` for the N-th retry. Item ids cannot hold a
 * `/`, so no item's id is another's retry.
 */
function childIdOf(batchWorkflowId: string, itemId: string, round: number): string {
  return round ? `${batchWorkflowId}/${itemId}/r${round}` : `${batchWorkflowId}/${itemId}`;
}

/** Starts the item's child (round > 0: a retry, under its own id) and settles it from its close if it never reports. */
export async function startImageChild(
  ledger: BatchLedger,
  input: BatchInput,
  accounts: BatchAccounts,
  { item, round, maxSubmissions }: NextImage,
  leases?: BatchLeases,
): Promise<void> {
  const batchWorkflowId = workflowInfo().workflowId;
  const childId = childIdOf(batchWorkflowId, item.id, round);
  const providers = providerOrder(item.provider, input);
  const provider = providers[0];
  ledger.started(item.id, childId, item);
  // An image whose account is not open yet opens it itself: only that image waits for a worker of its provider.
  const account = accounts.openNow(provider);
  // A batch that leases: the image starts holding a slot of the lease, or waits for the batch to give it one.
  const lease = account && leases ? { lease: { held: leases.join(account, item.id, childId) } } : {};
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
          reportTo: batchWorkflowId,
          ...(account ? { account, ...lease } : { openAccount: true }),
          ...(input.accounts ? { accounts: input.accounts } : {}),
          maxSubmissions,
          providers,
          fallbackOnModeration: input.fallbackOnModeration,
        },
      ],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      typedSearchAttributes: [
        { key: ImageBatchId, value: input.batchId },
        // A leased image starts submitting, or waiting for a slot: it shows so from its start.
        { key: ImageState, value: lease.lease ? (lease.lease.held ? 'submitted' : 'waiting') : 'queued' },
        { key: ImageProvider, value: provider },
      ],
      staticSummary: asMarkdownText(`${item.id}: ${item.prompt.slice(0, 80)}`),
    });
    const settleUnreported = (outcome: unknown) => {
      // A child that reported was settled by its signal, which this run sees first.
      if (!ledger.isCurrentChild(item.id, childId)) return;
      ledger.settle(
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
    // A child that closed without reporting (terminated or timed out from the Web UI or the CLI) would leave the
    // batch waiting for ever: its close settles the item instead.
    child.result().then(settleUnreported, settleUnreported);
  } catch (err) {
    // Already running under that id (a start whose result this run never saw): it will report by signal.
    if ((err as Error).name === 'WorkflowExecutionAlreadyStartedError') return;
    throw err;
  }
}

/** Fire and forget: a child reports 'cancelled' by signal; one that already finished ignores the request. */
export function cancelChildren(childIds: string[]): void {
  for (const id of childIds)
    getExternalWorkflowHandle(id)
      .cancel()
      .catch(() => undefined);
}

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

/**
 * Children an earlier run started cannot be awaited by this one: now and then ask the server which of them have
 * closed, and settle those that never reported.
 */
export async function watchInheritedChildren(ledger: BatchLedger, intervalMs = CHILD_CHECK_INTERVAL_MS): Promise<void> {
  const inherited = ledger.inFlight();
  for (;;) {
    await sleep(intervalMs);
    const open = inherited.filter(([itemId, childId]) => ledger.isCurrentChild(itemId, childId));
    if (!open.length) return;
    const closed = await batchActivities.closedChildren({
      children: open.map(([itemId, childId]) => ({ itemId, childId })),
    });
    for (const r of closed)
      if (open.some(([itemId, childId]) => itemId === r.itemId && ledger.isCurrentChild(itemId, childId)))
        ledger.settle(r);
  }
}
