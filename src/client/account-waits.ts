// How many of a batch's images wait for a slot of each of its provider accounts (the rest of its running images
// have one). A query per account, made at most every few seconds while progress is shown, and never in its way: an
// account that does not answer is shown with what is known.
import type { WorkflowClient } from '@temporalio/client';
import type { AccountRef } from '../shared/accounts';
import type { BatchProgress } from '../shared/batch-types';
import { queryAccount } from './account-lookup';

export interface AccountWait {
  label: string;
  /** Null: no limit, or the account did not answer. */
  limit: number | null;
  /** Null when the account did not answer. */
  inFlight: number | null;
  waitingForThisBatch: number | null;
}

/** A progress display should not wait long for an account: it asks again soon. */
const ANSWER_MS = 2000;
const EVERY_MS = 2000;

export async function accountWaits(
  workflows: WorkflowClient,
  batchId: string,
  accounts: AccountRef[] = [],
  ms = ANSWER_MS,
): Promise<AccountWait[]> {
  return Promise.all(
    accounts.map(async (a) => {
      const s = await queryAccount(workflows, a.workflowId, ms);
      return {
        label: a.label,
        limit: s?.limit ?? null,
        inFlight: s ? s.inFlight : null,
        waitingForThisBatch: s ? (s.waitingByBatch[batchId] ?? 0) : null,
      };
    }),
  );
}

/** Keeps accountWaits fresh in the background for a progress display: `refresh` on each progress, `latest` to show. */
export function accountWatch(workflows: WorkflowClient, batchId: string) {
  let latest: AccountWait[] = [];
  let last = 0;
  let inflight: Promise<void> | undefined;
  return {
    latest: () => latest,
    refresh(p: BatchProgress): void {
      if (inflight || !p.accounts?.length || Date.now() - last < EVERY_MS) return;
      last = Date.now();
      inflight = accountWaits(workflows, batchId, p.accounts)
        .then((w) => void (latest = w))
        .finally(() => (inflight = undefined));
    },
    /** The query under way, if any: a connection must not close under it. */
    settled: (): Promise<void> => inflight ?? Promise.resolve(),
  };
}
