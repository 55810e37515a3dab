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
  /** The batches' leases by holder (batch workflow id): slots held, wanted, and the cap asked of each. */
  leases?: Record<string, { batchId: string; held: number; want: number; cap?: number }>;
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

// Leases: a batch holds a number of an account's slots and hands them to its own images itself, so an image's happy
// path carries no account message. The account grants leases fairly between batches (and images that ask alone) and
// asks slots back (a cap) when another batch waits or the limit drops.

/**
 * Batch -> account: what the batch wants now, and what it gives back. `want` (absolute): slots its images of this
 * account hold or wait for; `held` (absolute): slots it believes it holds, which an account that does not know the
 * lease (restarted, terminated by hand) adopts; `returned`: slots given back with this message, `throttled` of them
 * refused by the provider for its limit; `successes`: submits accepted since the last report (the learned limit
 * grows on them). `ask`: the batch waits for an answer (a notice, even of 0 slots).
 */
export interface LeaseRequest {
  holder: string;
  batchId: string;
  want: number;
  held: number;
  returned?: number;
  throttled?: number;
  successes?: number;
  ask?: boolean;
}

/**
 * Account -> batch: `granted` more slots (0: an answer to an ask); `cap`: hold no more than this many (set while
 * other batches wait or the limit is under what is held; undefined: no cap); `reportEvery`: report successes once
 * this many have gathered (a learned limit grows on them; undefined: none needed); `checkMs`: how often a batch
 * that waits for slots asks again (an account restarted by hand forgot it).
 */
export interface LeaseNotice {
  account: string;
  granted: number;
  cap?: number;
  reportEvery?: number;
  checkMs?: number;
}

/** Image -> batch: `want` a slot again (after a throttle's wait), or `back`: the slot is given back (throttled). */
export interface ImageSlotMessage {
  itemId: string;
  childId: string;
  op: 'want' | 'back';
  throttled?: boolean;
  /** The image leaves this account (fallback to another provider): it no longer wants a slot of it. */
  leaving?: boolean;
}

/** One account's lease as the batch keeps it (carried across continue-as-new). */
export interface BatchLeaseState {
  account: AccountRef;
  held: number;
  /** Item id -> child id of the images holding a slot. */
  holders: Record<string, string>;
  /** Item ids of images waiting for a slot, oldest first. */
  waiting: string[];
  /** Item ids of images resting after a throttle: they ask again when their wait is over. */
  resting?: string[];
  /** The want the account was last told. */
  told: number;
  cap?: number;
  reportEvery?: number;
  checkMs?: number;
  successes: number;
}

export const leaseSignal = defineSignal<[LeaseRequest]>('lease');
export const leaseNoticeSignal = defineSignal<[LeaseNotice]>('leaseNotice');
/** Batch -> image: a slot of its lease is the image's now. */
export const slotGivenSignal = defineSignal<[]>('slotGiven');
export const imageSlotSignal = defineSignal<[ImageSlotMessage]>('imageSlot');
