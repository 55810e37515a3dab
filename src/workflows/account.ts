// One provider account: a long-lived workflow that owns the account's slots (after the samples' `mutex`). Images
// ask for a slot by signal and get it by signal; the account gives back the slots of holders that are gone, and
// continues-as-new to keep its history short.
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
  /** Tests continue-as-new sooner; otherwise after 2,000 events or when Temporal suggests it. */
  continueAsNewAfterEvents?: number;
}

export async function accountWorkflow(input: AccountInput): Promise<void> {
  const limiter = new AccountLimiter(input.account, input.carry, input.setLimit);

  // Grant signals on their way. The server drops a signal whose sender has closed, so a run continues-as-new only
  // once every grant it sent has arrived (a grant sent in the last task of a run was lost, and its image waited).
  let sending = 0;
  const grant = () => {
    for (const r of limiter.grants()) {
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
  };

  setHandler(slotRequestSignal, (r) => {
    limiter.request(r, Date.now());
    grant();
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
    const timedOut = !(await condition(shouldContinueAsNew, input.holderCheckIntervalMs ?? 60_000));
    if (timedOut && limiter.busy()) {
      const closed = await closedWorkflows({ workflowIds: limiter.holderIds() });
      if (limiter.forget(closed)) grant();
    }
    if (shouldContinueAsNew()) {
      await condition(() => allHandlersFinished() && sending === 0);
      await continueAsNew<typeof accountWorkflow>({ ...input, setLimit: undefined, carry: limiter.carry() });
    }
  }
}
