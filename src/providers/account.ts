// Which provider account a client talks to, for the account's shared limit: the endpoint and a fingerprint of the
// credential. The fingerprint is a salted, cut sha256: it tells two keys apart and gives nothing of either back.
import { createHash } from 'node:crypto';
import type { AccountRef } from '../shared/accounts';
import { PROVIDER_KINDS, type ProviderKind } from '../shared/providers';

export interface AccountIdentity {
  endpoint: string;
  /** 16 hex characters; empty when no credential is set. */
  fingerprint: string;
}

export function credentialFingerprint(credential: string | undefined): string {
  if (!credential) return '';
  return createHash('sha256').update(`imagebatch-account\u0000${credential}`).digest('hex').slice(0, 16);
}

const ID_PREFIX = 'account-';

/**
 * The account a provider client's tasks count against, as the workers of one task queue see it: its workflow runs on
 * that queue (a workflow on another queue would wait for workers that may never poll it), so two deployments on two
 * queues keep two accounts.
 */
export function accountOf(
  provider: ProviderKind,
  // Any provider client (index.ts's ProviderClients): only what it tells of its account is used.
  providers: Partial<Record<ProviderKind, { account(): AccountIdentity }>>,
  taskQueue: string,
): AccountRef {
  const client = providers[provider];
  // Callers check first (an activity fails AuthFailed naming the variables); this only keeps undefined out.
  if (!client) throw new Error(`no ${provider} client here: its credentials are not set`);
  const { endpoint, fingerprint } = client.account();
  const key = [provider, endpoint, fingerprint, taskQueue].join('\u0000');
  const hash = createHash('sha256').update(key).digest('hex');
  let host = endpoint;
  try {
    host = new URL(endpoint).host;
  } catch {
    // not a URL: shown as given
  }
  return {
    workflowId: `${ID_PREFIX}${provider}-${hash.slice(0, 12)}`,
    provider,
    label: `${provider} at ${host}${fingerprint ? ` (key ${fingerprint.slice(0, 8)})` : ''}`,
  };
}

/** The provider an account's workflow id names (`account-<provider>-<hash>`); undefined for any other id. */
export function accountIdProvider(workflowId: string): ProviderKind | undefined {
  return PROVIDER_KINDS.find((k) => workflowId.startsWith(`${ID_PREFIX}${k}-`));
}
