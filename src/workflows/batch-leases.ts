// A batch's leases, wired: the account's notices and its images' slot messages come in by signal, slots go to the
// images by signal, and what the account must hear goes to it by signal (opening it again when it is gone, and
// telling it the whole lease: a restarted account adopts the slots in use). BatchLeaseBook makes every decision.
import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  type AccountRef,
  type BatchLeaseState,
  imageSlotSignal,
  type LeaseRequest,
  leaseNoticeSignal,
  leaseSignal,
  slotGivenSignal,
} from '../shared/accounts';
import { BatchLeaseBook, type LeaseMoves } from './batch-lease-book';

/**
 * The patch of 0.2.1 (beside account-queues): a batch leases its accounts' slots and hands them to its images
 * (`lease` in their input); batches that started before leave their images to ask the account for their own slots.
 */
export const ACCOUNT_LEASES = 'account-leases';

/** Slots must reach their images and accounts also while the batch is being cancelled (then more than ever). */
const outside = <T>(fn: () => Promise<T>): Promise<T> => CancellationScope.nonCancellable(fn);

export class BatchLeases {
  readonly book: BatchLeaseBook;
  /** Messages on their way; a run continues-as-new only once they have arrived (a signal of a closed run is lost). */
  private sending = 0;

  /**
   * `reopen`: opens an account that no longer runs (its activity), so the lease can be told to the new run.
   * `isCurrent`: whether the child still runs the item (a late message from a replaced child changes nothing).
   */
  constructor(
    state: Record<string, BatchLeaseState>,
    private readonly batchId: string,
    childOf: (itemId: string) => string | undefined,
    mayStartMore: () => boolean,
    private readonly reopen: (account: AccountRef) => Promise<unknown>,
  ) {
    this.book = new BatchLeaseBook(state, childOf, mayStartMore);
    setHandler(leaseNoticeSignal, (n) => {
      const id = this.book.notice(n);
      if (id) this.apply(id, this.book.moves(id));
    });
    setHandler(imageSlotSignal, (m) => {
      if (childOf(m.itemId) !== m.childId) return;
      let id: string | undefined;
      if (m.op === 'want') id = this.book.wants(m.itemId);
      else if (m.leaving) id = this.book.leave(m.itemId, { throttled: m.throttled });
      else id = this.book.throttled(m.itemId);
      if (id) this.apply(id, this.book.moves(id));
    });
  }

  /** The item's child starts on `account`: whether it holds a slot from the start (else the batch gives it one). */
  join(account: AccountRef, itemId: string, childId: string): boolean {
    return this.book.join(account, itemId, childId);
  }

  /** The item has ended (reported, or its child closed): its slot goes to the next image. */
  ended(itemId: string, succeeded: boolean): void {
    const id = this.book.leave(itemId, { succeeded });
    if (id) this.apply(id, this.book.moves(id));
  }

  /** Tells every account what changed in this activation (after a burst of starts). */
  flush(): void {
    this.book.endBurst();
    for (const id of this.book.accounts) this.apply(id, this.book.moves(id));
  }

  /**
   * Before `n` images start on the account: asks for the slots the lease lacks and waits for the answer (or for
   * `interrupted`, a control request), so that they start holding slots instead of waiting for one by signal.
   */
  async reserve(account: AccountRef, n: number, interrupted: () => boolean): Promise<void> {
    const message = this.book.reserve(account, n);
    if (!message) return;
    this.send(account.workflowId, message);
    await condition(() => this.book.answered(account.workflowId) || interrupted());
  }

  /**
   * While the batch holds or wants slots, it tells each account its whole lease now and then (a check interval): an
   * account restarted or terminated by hand since learns of it (and is opened again), and a want it lost is heard.
   */
  async keepInTouch(): Promise<never> {
    for (;;) {
      // The interval comes with the account's first notice (a timer started before it would wait the default).
      await condition(() => this.book.holding() && this.book.checkMs !== undefined);
      if (await condition(() => !this.book.holding(), this.book.checkMs)) continue;
      for (const id of this.book.accounts) {
        const message = this.book.register(id);
        if (message && (message.want || message.held)) this.send(id, message);
      }
    }
  }

  /** No message is on its way (continue-as-new may come). */
  idle(): boolean {
    return this.sending === 0;
  }

  /** The batch has ended: every slot goes back, and the batch waits until the accounts have them. */
  async returnAll(): Promise<void> {
    for (const [id, message] of this.book.returnAll()) if (message.returned || message.want) this.send(id, message);
    await condition(() => this.sending === 0);
  }

  private apply(id: string, moves: LeaseMoves): void {
    for (const [, childId] of moves.give) {
      // Counted as on its way too: the server drops a signal whose sender has continued-as-new meanwhile.
      this.sending++;
      outside(() => getExternalWorkflowHandle(childId).signal(slotGivenSignal))
        // The child has closed: its report (or its close) frees the slot.
        .catch(() => undefined)
        .finally(() => this.sending--);
    }
    if (moves.message) this.send(id, moves.message);
  }

  private send(id: string, message: Omit<LeaseRequest, 'holder' | 'batchId'>): void {
    const holder = workflowInfo().workflowId;
    this.sending++;
    outside(() => getExternalWorkflowHandle(id).signal(leaseSignal, { holder, batchId: this.batchId, ...message }))
      .catch(async () => {
        // The account's workflow is not running (closed while idle, or terminated by hand): open it again and tell
        // it the whole lease, which it adopts. Slots given back in the lost message are simply not held any more.
        const account = this.book.accountOf(id);
        if (account) await outside(() => this.reopen(account)).catch(() => undefined);
        const whole = this.book.register(id);
        if (whole && (whole.want || whole.held))
          await outside(() =>
            getExternalWorkflowHandle(id).signal(leaseSignal, {
              holder,
              batchId: this.batchId,
              ...whole,
              ask: message.ask,
            }),
          ).catch(() => undefined);
      })
      .finally(() => this.sending--);
  }
}
