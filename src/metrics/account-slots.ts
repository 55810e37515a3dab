// Slots in flight and waiting of the provider accounts a worker serves, as gauges on the SDK runtime's meter (the
// `--metrics` endpoint). Only the account's workflow knows them, for every batch and worker, so each worker of an
// account reads its state every few seconds and every one of them reports the same numbers: aggregate them with
// max, not sum. The account label is its short hash (as in its task queue), never its key.
import type { Client } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import type { ProviderClients } from '../providers';
import { accountOf } from '../providers/account';
import { accountHash } from '../shared/account-queues';
import { PROVIDER_KINDS } from '../shared/providers';
import { type AccountRef, type AccountState, accountStateQuery } from '../shared/accounts';

const EVERY_MS = 10_000;

type Slots = Pick<AccountState, 'inFlight' | 'waiting'>;

async function slotsOf(client: Client, account: AccountRef): Promise<Slots> {
  const handle = client.workflow.getHandle(account.workflowId);
  // An account closed while idle holds nothing, and a query would replay its whole history to say so.
  const running = await handle.describe().then(
    (d) => d.status.name === 'RUNNING',
    () => false,
  );
  return running ? await handle.query(accountStateQuery) : { inFlight: 0, waiting: 0 };
}

/** The accounts a worker with these clients serves on `taskQueue`: one per provider. */
export function servedAccounts({ providers, taskQueue }: { providers: ProviderClients; taskQueue: string }) {
  return PROVIDER_KINDS.filter((k) => providers[k]).map((k) => accountOf(k, providers, taskQueue));
}

/** Reads the accounts' slots now and every EVERY_MS until the returned stop is called. */
export function reportAccountSlots(client: Client, accounts: AccountRef[], everyMs = EVERY_MS): () => void {
  const meter = Runtime.instance().metricMeter;
  const inFlight = meter.createGauge('imagebatch_account_slots_in_flight', 'int', 'slots', 'tasks in flight');
  const waiting = meter.createGauge('imagebatch_account_slots_waiting', 'int', 'slots', 'images waiting for a slot');
  let reading = false;
  const read = async () => {
    if (reading) return;
    reading = true;
    try {
      for (const account of accounts) {
        const slots = await slotsOf(client, account).catch(() => undefined);
        if (!slots) continue; // no answer this time (the server or the account's worker busy): the last value stays
        const labels = { provider: account.provider, account: accountHash(account) };
        inFlight.set(slots.inFlight, labels);
        waiting.set(slots.waiting, labels);
      }
    } finally {
      reading = false;
    }
  };
  void read();
  const timer = setInterval(() => void read(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
