// Provider accounts as the client sees them: the running account workflows and their state. The state is a query
// that a worker on the account's task queue answers; an account no worker answers for is described with what its
// workflow's input tells (its label), and says why there is no more.
import type { WorkflowClient } from '@temporalio/client';
import { ACCOUNT_WORKFLOW, type AccountStart } from '../activities/accounts';
import { accountIdProvider } from '../providers/account';
import { type AccountRef, type AccountState, accountStateQuery } from '../shared/accounts';
import { runInputOf } from './batch-lookup';
import type { Session } from './session';
import { hasPollers } from './worker-answer';

export interface AccountEntry {
  account: AccountRef;
  taskQueue: string;
  /** The account's state, when a worker answered in time. */
  state?: AccountState;
  /** Why there is no state. */
  unknown?: string;
}

/** The state of one account, or undefined when none comes within `ms` (never throws: callers show what they have). */
export async function queryAccount(
  workflows: WorkflowClient,
  workflowId: string,
  ms: number,
): Promise<AccountState | undefined> {
  try {
    return await workflows.withDeadline(Date.now() + ms, () =>
      workflows.getHandle(workflowId).query(accountStateQuery),
    );
  } catch {
    return undefined;
  }
}

/** Every running account workflow (at most 1,000), with its state where a worker answers within `ms`. */
export async function listAccounts(session: Session, ms: number): Promise<AccountEntry[]> {
  const rows: { workflowId: string; taskQueue: string }[] = [];
  const query = `WorkflowType="${ACCOUNT_WORKFLOW}" AND ExecutionStatus="Running"`;
  for await (const wf of session.client.workflow.list({ query })) {
    rows.push({ workflowId: wf.workflowId, taskQueue: wf.taskQueue });
    if (rows.length >= 1000) break;
  }
  // Accounts of one deployment share a queue: ask the server about each queue once.
  const polled = new Map<string, Promise<boolean>>();
  const polls = (q: string) => polled.get(q) ?? polled.set(q, hasPollers(session, q)).get(q)!;
  const entries = await Promise.all(rows.map((r) => accountEntry(session, r.workflowId, r.taskQueue, ms, polls)));
  return entries.sort((a, b) => a.account.label.localeCompare(b.account.label));
}

/** One account: its state when a worker on `taskQueue` answers, else its label and why nothing more is known. */
export async function accountEntry(
  session: Session,
  workflowId: string,
  taskQueue: string,
  ms: number,
  polls: (q: string) => Promise<boolean> = (q) => hasPollers(session, q),
): Promise<AccountEntry> {
  let unknown = 'no worker polls its task queue';
  if (await polls(taskQueue)) {
    const state = await queryAccount(session.client.workflow, workflowId, ms);
    if (state) return { account: state.account, taskQueue, state };
    unknown = `no worker answered within ${ms / 1000} s`;
  }
  return { account: await accountRefOf(session, workflowId), taskQueue, unknown };
}

async function accountRefOf(session: Session, workflowId: string): Promise<AccountRef> {
  try {
    return (await runInputOf<AccountStart>(session.client, workflowId)).account;
  } catch (err) {
    // The id names the provider: only the label (endpoint, key) is lost with the input.
    const provider = accountIdProvider(workflowId);
    if (!provider) throw err;
    return { workflowId, provider, label: workflowId };
  }
}
