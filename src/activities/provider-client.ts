// The client an activity needs for its provider. With provider task queues a worker only receives tasks of the
// providers it serves, but a task may still reach one without the client (an older history scheduled on the
// workflow queue, a queue shared by hand): it fails naming what to set, retryably, so that another worker, one with
// the credentials, takes the next attempt (failing the item would lose a task that may already be paid for).
// Likewise a task on an account's queue that reaches a worker of another account (see shared/account-queues.ts).
import { activityInfo, ApplicationFailure } from '@temporalio/activity';
import {
  credentialNames,
  type ImageProviderClient,
  isSyncClient,
  type ProviderClient,
  type ProviderClients,
  type SyncImageProviderClient,
} from '../providers';
import { accountOf } from '../providers/account';
import { accountHash, parseActivityQueue } from '../shared/account-queues';
import { ErrorType } from '../shared/errors';
import type { ProviderKind } from '../shared/types';

export const NO_PROVIDER_CLIENT = 'NoProviderClient';

export const OTHER_ACCOUNT = 'OtherAccount';

export function providerClient(providers: ProviderClients, kind: ProviderKind): ProviderClient {
  const client = providers[kind];
  if (!client)
    throw ApplicationFailure.create({
      type: NO_PROVIDER_CLIENT,
      message: `this worker has no ${kind} credentials: set ${credentialNames(kind)} in its environment`,
    });
  refuseOtherAccount(providers, kind);
  return client;
}

/**
 * A task on an account's queue (`<queue>@<provider>@<hash>`) is that account's: a worker whose credentials or
 * endpoint make another account refuses it before any request, retryably (the account's own worker takes the next
 * attempt). Polling another account's task would find nothing there: a TaskGone, and the image paid for twice.
 */
function refuseOtherAccount(providers: ProviderClients, kind: ProviderKind): void {
  const queue = currentQueue();
  if (queue === undefined) return;
  const { workflowQueue, provider, accountHash: theirs } = parseActivityQueue(queue);
  if (!theirs || provider !== kind) return;
  const mine = accountOf(kind, providers, workflowQueue);
  if (accountHash(mine) === theirs) return;
  throw ApplicationFailure.create({
    type: OTHER_ACCOUNT,
    message: `this task belongs to another ${kind} account than this worker's (${mine.label}); it waits for that account's worker`,
  });
}

/** The queue of the activity running now; undefined outside an activity. */
function currentQueue(): string | undefined {
  try {
    return activityInfo().taskQueue;
  } catch {
    return undefined;
  }
}

/** A submit, poll or cancel asked of a synchronous provider is the workflow's mistake, not worth a retry. */
function wrongShape(kind: ProviderKind, wanted: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: ErrorType.InvalidRequest,
    message: `${kind} is ${wanted === 'generate' ? 'not ' : ''}a synchronous provider: it has no ${wanted}`,
    nonRetryable: true,
  });
}

export function asyncClient(providers: ProviderClients, kind: ProviderKind, op: string): ImageProviderClient {
  const client = providerClient(providers, kind);
  if (isSyncClient(client)) throw wrongShape(kind, op);
  return client;
}

export function syncClient(providers: ProviderClients, kind: ProviderKind): SyncImageProviderClient {
  const client = providerClient(providers, kind);
  if (!isSyncClient(client)) throw wrongShape(kind, 'generate');
  return client;
}
