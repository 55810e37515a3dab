// Account activities: open (start, if new) the workflow that owns a provider account's slots, and tell which of a
// list of workflows have closed (an account gives their slots back). Also the one place an account workflow is
// started (`imagebatch limit` starts one with its limit too).
import { getClient, activityInfo } from '@temporalio/activity';
import { type WorkflowClient, WorkflowNotFoundError } from '@temporalio/client';
import type { ProviderClients } from '../providers';
import { accountOf } from '../providers/account';
import type { AccountRef } from '../shared/accounts';
import { parseActivityQueue } from '../shared/account-queues';
import type { ProviderKind } from '../shared/types';
import { providerClient } from './provider-client';

/** The account workflow's type name (src/workflows/account.ts), for starting and listing accounts. */
export const ACCOUNT_WORKFLOW = 'accountWorkflow';

/**
 * What the starter of an account hands its workflow: the first fields of the workflow's input (AccountInput; a type
 * test keeps the two in step). The rest of that input is the workflow's own, carried from one run to the next.
 */
export interface AccountStart {
  account: AccountRef;
  /** The limit the account starts with when it is new (config or env of the worker that opened it, or `limit N`). */
  setLimit?: number;
  holderCheckIntervalMs?: number;
  /**
   * The account's last run was stopped by hand (terminated, cancelled) or failed: batches may still hold leases of
   * it. The new run grants nothing for a check interval, while they tell it their leases.
   */
  recover?: boolean;
}

/** How an account's last run ended when it did not close itself: its leases may still be out. */
const STOPPED = ['TERMINATED', 'CANCELLED', 'FAILED', 'TIMED_OUT'];

/**
 * Starts the account's workflow on `taskQueue` (the workflows' queue of the workers that hold its credentials),
 * unless it runs already: then that one is kept, with its own limit.
 */
export async function startAccount(workflows: WorkflowClient, taskQueue: string, start: AccountStart): Promise<void> {
  const last = await workflows
    .getHandle(start.account.workflowId)
    .describe()
    .then(
      (d) => d.status.name as string,
      () => undefined,
    );
  if (last && STOPPED.includes(last)) start = { ...start, recover: true };
  await workflows.start(ACCOUNT_WORKFLOW, {
    workflowId: start.account.workflowId,
    taskQueue,
    args: [start],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `provider account: ${start.account.label}`,
  });
}

/** `q` from `q@<provider>` (a provider's queue) or `q@<provider>@<hash>` (an account's); any other is the workflows'. */
export function workflowQueueOf(activityQueue: string, provider: ProviderKind): string {
  const parsed = parseActivityQueue(activityQueue);
  return parsed.provider === provider ? parsed.workflowQueue : activityQueue;
}

export interface AccountActivityDeps {
  providers: ProviderClients;
  /** The limit a new account starts with, per provider (config or env of this worker). */
  accountLimits?: Partial<Record<ProviderKind, number>>;
  /** How often an account with slots held asks whether their holders still run (tests: shorter). */
  accountHolderCheckMs?: number;
}

const CLOSED = ['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT'];

export function createAccountActivities({ providers, accountLimits = {}, accountHolderCheckMs }: AccountActivityDeps) {
  /**
   * The account for this worker's credentials; its workflow is started, if it is not running, on the workflows' task
   * queue: `taskQueue` when the caller names it (this activity runs on the provider's queue `<queue>@<provider>`, or
   * on the account's own, where only activities are polled), else this activity's own queue without its suffix.
   */
  async function openAccount(input: { provider: ProviderKind; taskQueue?: string }): Promise<AccountRef> {
    providerClient(providers, input.provider);
    const taskQueue = input.taskQueue ?? workflowQueueOf(activityInfo().taskQueue, input.provider);
    const account = accountOf(input.provider, providers, taskQueue);
    const setLimit = accountLimits[input.provider];
    await startAccount(getClient().workflow, taskQueue, {
      account,
      setLimit,
      holderCheckIntervalMs: accountHolderCheckMs,
    });
    return account;
  }

  /** Those of the workflows that are no longer running (closed, or gone with the retention). */
  async function closedWorkflows(input: { workflowIds: string[] }): Promise<string[]> {
    const client = getClient();
    const closed: string[] = [];
    for (const id of input.workflowIds) {
      const status = await client.workflow
        .getHandle(id)
        .describe()
        .then(
          (d) => d.status.name as string,
          (err: unknown) => {
            if (err instanceof WorkflowNotFoundError) return 'NOT_FOUND';
            throw err;
          },
        );
      if (status === 'NOT_FOUND' || CLOSED.includes(status)) closed.push(id);
    }
    return closed;
  }

  return { openAccount, closedWorkflows };
}
