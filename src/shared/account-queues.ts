// The task queue of one provider account's activities: `<queue>@<provider>@<hash12>`, polled only by the workers that
// hold that account's credentials (endpoint and key). A provider task submitted there is polled, cancelled and
// downloaded there, so it never reaches a worker of another account (which would not know it, take it as gone and
// pay for it again). The provider's own queue `<queue>@<provider>` stays for learning an account (any worker with
// the provider's credentials answers with its own) and for what runs without an account.
import type { AccountRef } from './accounts';
import { PROVIDER_KINDS, type ProviderKind, providerTaskQueue } from './providers';

/** The account's hash: what follows `account-<provider>-` in its workflow id. */
export function accountHash(account: AccountRef): string {
  return account.workflowId.slice(`account-${account.provider}-`.length);
}

/** The queue of the account's activities, beside the workflows' queue `taskQueue`. */
export function accountTaskQueue(taskQueue: string, account: AccountRef): string {
  return `${providerTaskQueue(taskQueue, account.provider)}@${accountHash(account)}`;
}

/** What an activity's queue says: the workflows' queue, and the provider and account hash it is for, if any. */
export interface ActivityQueue {
  workflowQueue: string;
  provider?: ProviderKind;
  accountHash?: string;
}

/** Reads `q@<provider>@<hash>`, `q@<provider>` or a plain workflows' queue `q`. */
export function parseActivityQueue(queue: string): ActivityQueue {
  for (const provider of PROVIDER_KINDS) {
    const match = new RegExp(`^(.*)@${provider}(?:@([0-9a-f]+))?$`).exec(queue);
    if (match) return { workflowQueue: match[1], provider, ...(match[2] ? { accountHash: match[2] } : {}) };
  }
  return { workflowQueue: queue };
}

/** The account of `provider` among those a batch named (its client held the credentials); undefined if none. */
export function namedAccount(
  accounts: readonly AccountRef[] | undefined,
  provider: ProviderKind,
): AccountRef | undefined {
  return accounts?.find((a) => a.provider === provider);
}
