// An image's slot from its batch's lease of the account: the batch started it holding one, or gives it one by signal
// when another of its images ends. On the happy path the image sends nothing about it: its report to the batch frees
// the slot. Only a throttle (the slot goes back, teaching the account) or a move to another provider is told.
import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { backoffMs } from '../shared/backoff';
import { type AccountRef, imageSlotSignal, type ImageSlotMessage, slotGivenSignal } from '../shared/accounts';

export class LeasedSlot {
  private holds: boolean;
  private throttles = 0;
  private startedWaiting: boolean;

  constructor(
    readonly ref: AccountRef,
    private readonly batch: string,
    private readonly itemId: string,
    held: boolean,
  ) {
    this.holds = held;
    this.startedWaiting = !held;
    setHandler(slotGivenSignal, () => void (this.holds = true));
  }

  /** True once, for the wait of an image started without a slot (its batch started it showing `waiting`). */
  firstWait(): boolean {
    const first = this.startedWaiting;
    this.startedWaiting = false;
    return first;
  }

  get held(): boolean {
    return this.holds;
  }

  get label(): string {
    return this.ref.label;
  }

  /** Waits for the batch to give it a slot (the batch knows it waits: it started it so, or was told). */
  async acquire(): Promise<void> {
    await condition(() => this.holds);
  }

  noteSubmitted(): void {
    this.throttles = 0;
  }

  /** The provider refused the submit for its limit: the slot goes back through the batch; wait, then ask again. */
  async throttled(retryAfterMs: number | undefined): Promise<void> {
    this.throttles++;
    await this.tell({ op: 'back', throttled: true });
    await sleep(retryAfterMs ?? backoffMs(this.throttles));
    await this.tell({ op: 'want' });
    await this.acquire();
  }

  /**
   * The image leaves the account (fallback to another provider): its slot, or its place in the queue, goes back.
   * The image's end needs nothing: its report frees the slot.
   */
  async leave(o: { throttled?: boolean } = {}): Promise<void> {
    await this.tell({ op: 'back', leaving: true, throttled: o.throttled && this.holds });
  }

  private async tell(m: Omit<ImageSlotMessage, 'itemId' | 'childId'>): Promise<void> {
    this.holds = false;
    this.startedWaiting = false;
    const message = { itemId: this.itemId, childId: workflowInfo().workflowId, ...m };
    // The batch has closed: nobody keeps the slot.
    await CancellationScope.nonCancellable(() =>
      getExternalWorkflowHandle(this.batch).signal(imageSlotSignal, message),
    ).catch(() => undefined);
  }
}
