// An image's slot of its provider account: asked for by signal before a submit, granted by signal, given back when
// the image's provider task has ended (or when the provider throttled the submit, which teaches the account).
import { condition, getExternalWorkflowHandle, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import { backoffMs } from '../shared/backoff';
import { type AccountRef, slotGrantedSignal, slotReleaseSignal, slotRequestSignal } from '../shared/accounts';

const ASK_AGAIN_AFTER = '10 minutes';

export class AccountSlot {
  private requests = 0;
  private readonly granted = new Set<string>();
  /** The request that holds (or waits for) the slot. */
  private token: string | undefined;
  /** A task was accepted on the slot: the account counts that as a success. */
  private submitted = false;
  private throttles = 0;

  /** `reopen` opens the account's workflow again when it is not running (the openAccount activity). */
  constructor(
    private account: AccountRef,
    private readonly who: { batchId: string; itemId: string },
    private reopen: () => Promise<unknown>,
  ) {
    setHandler(slotGrantedSignal, ({ token }) => void this.granted.add(token));
  }

  /** Fallback: the image moves to another provider's account (a slot still held here is given back first). */
  async moveTo(account: AccountRef, reopen: () => Promise<unknown>): Promise<void> {
    await this.release();
    this.account = account;
    this.reopen = reopen;
    this.throttles = 0;
  }

  /** Whether this image holds its slot now. */
  get held(): boolean {
    return this.token !== undefined && this.granted.has(this.token);
  }

  get label(): string {
    return this.account.label;
  }

  /** The account the slot is of (its activities run on its queue). */
  get ref(): AccountRef {
    return this.account;
  }

  /** Waits for a slot (not counted against the max wait, which starts at the submit). */
  async acquire(): Promise<void> {
    if (this.held) return;
    const { workflowId, runId } = workflowInfo();
    const token = `${workflowId}/${runId}/${++this.requests}`;
    this.token = token;
    const request = { token, holder: workflowId, ...this.who };
    const account = getExternalWorkflowHandle(this.account.workflowId);
    for (;;) {
      await account.signal(slotRequestSignal, request).catch(async () => {
        // The account's workflow is not running (closed while idle, or terminated): open it again and ask again.
        await this.reopen();
        await account.signal(slotRequestSignal, request);
      });
      // Asked again now and then (the account ignores a repeat): an account terminated by hand forgot the request.
      if (await condition(() => this.granted.has(token), ASK_AGAIN_AFTER)) return;
    }
  }

  noteSubmitted(): void {
    this.submitted = true;
    this.throttles = 0;
  }

  /** The provider refused the submit for its limit: give the slot back, wait, and ask again. */
  async throttled(retryAfterMs: number | undefined): Promise<void> {
    this.throttles++;
    await this.release({ throttled: true });
    // With no retry-after from the provider: the backoff, by throttles in a row.
    await sleep(retryAfterMs ?? backoffMs(this.throttles));
    await this.acquire();
  }

  /** Gives the slot back, or withdraws a request not granted yet. Best effort: a gone account needs nothing. */
  async release(o: { throttled?: boolean } = {}): Promise<void> {
    const token = this.token;
    if (!token) return;
    this.token = undefined;
    const release = { token, throttled: o.throttled, submitted: !o.throttled && this.submitted };
    this.submitted = false;
    await getExternalWorkflowHandle(this.account.workflowId)
      .signal(slotReleaseSignal, release)
      .catch(() => undefined);
  }
}
