// How many of a batch's images wait for a slot of each of its provider accounts (the rest of its running images
// have one). A query per account, made at most every few seconds while progress is shown, and never in its way: an
// account that does not answer is shown with what is known.
import type { WorkflowClient } from '@temporalio/client';
import type { AccountRef } from '../shared/accounts';
import { queryAccount } from './account-lookup';
import { progressWatch } from './progress-watch';

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

/** Keeps accountWaits fresh in the background for a progress display. */
export const accountWatch = (workflows: WorkflowClient, batchId: string) =>
  progressWatch<AccountWait[]>([], EVERY_MS, (p) =>
    p.accounts?.length ? accountWaits(workflows, batchId, p.accounts) : undefined,
  );
