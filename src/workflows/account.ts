// One provider account: a long-lived workflow that owns the account's slots (after the samples' `mutex`). Batches
// lease slots by signal and hand them to their images themselves (an image of an older batch, or one that opened
// its account alone, asks for its own slot and gets it by signal); the account grants fairly, asks leases back to
// their share when others wait, gives back the slots of holders that are gone, and continues-as-new to keep its
// history short. Its work grows with changes of leases, not with images.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { BACKOFF_RETRY } from '../shared/backoff';
import {
  type AccountRef,
  accountStateQuery,
  leaseNoticeSignal,
  leaseSignal,
  MAX_ACCOUNT_LIMIT,
  setLimitUpdate,
  slotGrantedSignal,
  slotReleaseSignal,
  slotRequestSignal,
} from '../shared/accounts';
import { type AccountCarry, AccountLimiter } from './account-limiter';

const { closedWorkflows } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: BACKOFF_RETRY,
});

const IDLE_CLOSE_MS = 60 * 60_000;

export interface AccountInput {
  account: AccountRef;
  /** The limit to start with when the account is new (config or env of the worker that opened it). */
  setLimit?: number;
  carry?: AccountCarry;
  /** How often, while slots are held, the account asks whether their holders still run (default 60 s). */
  holderCheckIntervalMs?: number;
  /** How long an account with no set limit waits idle before it closes (default an hour). */
  idleCloseMs?: number;
  /** The last run was stopped by hand or failed: batches may hold leases of it (grant nothing for a check interval). */
  recover?: boolean;
  /** Tests continue-as-new sooner; otherwise after 2,000 events or when Temporal suggests it. */
  continueAsNewAfterEvents?: number;
}

export async function accountWorkflow(input: AccountInput): Promise<void> {
  const limiter = new AccountLimiter(input.account, input.carry, input.setLimit);

  // Grant signals on their way. The server drops a signal whose sender has closed, so a run continues-as-new only
  // once every grant it sent has arrived (a grant sent in the last task of a run was lost, and its image waited).
  let sending = 0;
  const checkMs = input.holderCheckIntervalMs ?? 60_000;
  // Restarted after a run stopped by hand: the batches' leases of it are told within a check interval; until then
  // a grant could take slots that are still in use.
  // Two intervals: a batch that finds the old run gone opens this one (an activity) before it can tell its lease.
  if (input.recover && !input.carry) limiter.recoverUntil(Date.now() + 2 * checkMs);
  // `asker`: a batch that waits for an answer gets one, even of no slots.
  const grant = (asker?: string) => {
    for (const r of limiter.grants(Date.now())) {
      sending++;
      getExternalWorkflowHandle(r.holder)
        .signal(slotGrantedSignal, { token: r.token })
        // The holder is gone (closed before its turn): its slot comes back at once.
        .catch(() => {
          limiter.forget([r.holder]);
          grant();
        })
        .finally(() => sending--);
    }
    for (const { holder, ...notice } of limiter.notices(asker)) {
      sending++;
      getExternalWorkflowHandle(holder)
        .signal(leaseNoticeSignal, { account: input.account.workflowId, ...notice, checkMs })
        // The batch has closed: its lease comes back at once.
        .catch(() => {
          if (limiter.forget([holder])) grant();
        })
        .finally(() => sending--);
    }
  };

  setHandler(slotRequestSignal, (r) => {
    limiter.request(r, Date.now());
    grant();
  });
  setHandler(leaseSignal, (r) => {
    // A lease the account does not know was adopted (the account was restarted): it grants nothing for a check
    // interval, while the other batches tell theirs.
    limiter.lease(r, Date.now(), 2 * checkMs);
    grant(r.ask ? r.holder : undefined);
  });
  setHandler(slotReleaseSignal, (r) => {
    limiter.release(r);
    grant();
  });
  setHandler(
    setLimitUpdate,
    (n) => {
      limiter.setLimit(n ?? undefined);
      grant();
      return limiter.state();
    },
    {
      validator: (n) => {
        if (n !== null && !(Number.isInteger(n) && n >= 1 && n <= MAX_ACCOUNT_LIMIT))
          throw new Error(`the limit must be a whole number from 1 to ${MAX_ACCOUNT_LIMIT}, not ${n}`);
      },
    },
  );
  setHandler(accountStateQuery, () => limiter.state());

  const shouldContinueAsNew = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= (input.continueAsNewAfterEvents ?? 2000);

  const wakes = () => limiter.busy() || shouldContinueAsNew();
  for (;;) {
    if (limiter.state().setLimit !== undefined) await condition(wakes);
    // Idle with no limit set, it has nothing to keep: it closes, and the next batch opens it again.
    else if (!(await condition(wakes, input.idleCloseMs ?? IDLE_CLOSE_MS))) return;
    const timedOut = !(await condition(shouldContinueAsNew, checkMs));
    if (timedOut && limiter.busy()) {
      const closed = await closedWorkflows({ workflowIds: limiter.holderIds() });
      limiter.forget(closed);
      // Also the end of a pause after a restart: what waited is granted now.
      grant();
    }
    if (shouldContinueAsNew()) {
      await condition(() => allHandlersFinished() && sending === 0);
      await continueAsNew<typeof accountWorkflow>({
        ...input,
        setLimit: undefined,
        recover: undefined,
        carry: limiter.carry(),
      });
    }
  }
}
