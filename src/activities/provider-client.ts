// The client an activity needs for its provider. With provider task queues a worker only receives tasks of the
// providers it serves, but a task may still reach one without the client (an older history scheduled on the
// workflow queue, a queue shared by hand): it fails naming what to set, retryably, so that another worker, one with
// the credentials, takes the next attempt (failing the item would lose a task that may already be paid for).
import { ApplicationFailure } from '@temporalio/activity';
import {
  credentialNames,
  type ImageProviderClient,
  isSyncClient,
  type ProviderClient,
  type ProviderClients,
  type SyncImageProviderClient,
} from '../providers';
import { ErrorType } from '../shared/errors';
import type { ProviderKind } from '../shared/types';

export const NO_PROVIDER_CLIENT = 'NoProviderClient';

export function providerClient(providers: ProviderClients, kind: ProviderKind): ProviderClient {
  const client = providers[kind];
  if (client) return client;
  throw ApplicationFailure.create({
    type: NO_PROVIDER_CLIENT,
    message: `this worker has no ${kind} credentials: set ${credentialNames(kind)} in its environment`,
  });
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
