// Provider accounts: one limit of tasks in flight per account, shared by every batch and every worker. An account
// is (provider, endpoint, a fingerprint of the credential); one accountWorkflow per account owns its slots.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ProviderKind } from './providers';

/** Which account a provider task is counted against; never the credential, nor anything it can be recovered from. */
export interface AccountRef {
  /** The account workflow's id: `account-<provider>-<hash of endpoint and fingerprint>`. */
  workflowId: string;
  provider: ProviderKind;
  /** For people: provider, endpoint host and the first characters of the fingerprint. */
  label: string;
}

/** Asks for a slot. `token` names this request; the grant comes back by slotGrantedSignal to `holder`. */
export interface SlotRequest {
  token: string;
  holder: string;
  batchId: string;
  itemId: string;
}

/**
 * Gives a slot back (or withdraws a request not yet granted). `throttled`: the provider refused a submit made on
 * this slot for its limit, which teaches the account its limit; `submitted`: a task was accepted on it.
 */
export interface SlotRelease {
  token: string;
  throttled?: boolean;
  submitted?: boolean;
}

export interface AccountState {
  account: AccountRef;
  /** Set by the user (`imagebatch limit`, config or env); undefined: learned only. */
  setLimit?: number;
  /** Learned from throttle answers; undefined until the first throttle. */
  learnedLimit?: number;
  /** What is enforced now: the lower of the two; undefined: no limit. */
  limit?: number;
  inFlight: number;
  waiting: number;
  /** Waiting requests per batch, for `imagebatch limit`. */
  waitingByBatch: Record<string, number>;
  throttles: number;
  granted: number;
  maxInFlight: number;
}

export const slotRequestSignal = defineSignal<[SlotRequest]>('slotRequest');
export const slotReleaseSignal = defineSignal<[SlotRelease]>('slotRelease');
/** Sent by the account to a holder: the slot for `token` is yours. */
export const slotGrantedSignal = defineSignal<[{ token: string }]>('slotGranted');
/** Sets (a number) or clears (null) the account's limit; answers with the state after the change. */
export const setLimitUpdate = defineUpdate<AccountState, [number | null]>('setLimit');
export const accountStateQuery = defineQuery<AccountState>('accountState');

/** The highest limit that can be set: as many as one run's pending signals allow. */
export const MAX_ACCOUNT_LIMIT = 1000;
