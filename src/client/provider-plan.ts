// Which providers a command works with, decided once before anything starts and handed down: the batch's providers
// in fallback order (or the simulator playing them), its task queue, the providers this process's worker serves, and
// those whose credentials must be on workers elsewhere. Only `run` without --provider and without any credentials, or
// a simulator asked for by name, is simulated: a real provider never silently becomes the simulator. Credentials stay
// in this process's environment: they reach the worker's provider clients (provider-setup), never a workflow.
import { readItems } from '../output/items-copy';
import {
  allCredentialNames,
  credentialNames,
  PROVIDER_CREDENTIALS,
  type ProviderClients,
  providersWithCredentials,
} from '../providers';
import { accountOf } from '../providers/account';
import type { AccountRef } from '../shared/accounts';
import { type BatchInput, type BatchProviders, SIMULATED_BATCH } from '../shared/batch-types';
import { PROVIDER_KINDS, type ProviderKind } from '../shared/providers';
import type { ImageItem } from '../shared/types';
import { UsageError } from './exit-codes';
import { parseProviderChoice } from './provider-list';
import { batchTaskQueue, isSimulatorQueue } from './provider-queues';

/**
 * Who asks: `run` works the batch here (so do `retry` and `resume` of an existing batch), `start` leaves it to
 * workers elsewhere (which hold the credentials), a `worker` works what its queue brings.
 */
export type ProviderUse = 'run' | 'start' | 'worker';

export interface ProviderPlan {
  use: ProviderUse;
  /** `--provider` as given ('simulator' for an existing simulated batch). */
  choice?: string;
  batch: BatchProviders;
  simulated: boolean;
  taskQueue: string;
  /** The providers this process's worker serves (`run`, `worker`): each has its credentials here. */
  serves: ProviderKind[];
  /** `start`: the batch's providers whose credentials are not set here; a worker that has them must run them. */
  credentialsElsewhere?: ProviderKind[];
}

const batchOf = (kinds: ProviderKind[]): BatchProviders => ({
  provider: kinds[0],
  // Only a list of more than one: older workers read no list.
  ...(kinds.length > 1 ? { providers: kinds } : {}),
});

/** "VOLC_ACCESSKEY and VOLC_SECRETKEY are" (not set): the variables of a provider's credentials, for messages. */
export const missingCredentials = (kind: ProviderKind) =>
  `${credentialNames(kind)} ${PROVIDER_CREDENTIALS[kind].length > 1 ? 'are' : 'is'}`;

/** "FAL_KEY is" / "FAL_KEY (fal) and DASHSCOPE_API_KEY (dashscope) are": several providers' missing variables. */
function missingOf(kinds: ProviderKind[]): string {
  if (kinds.length === 1) return missingCredentials(kinds[0]);
  return `${kinds.map((k) => `${credentialNames(k)} (${k})`).join(' and ')} are`;
}

/**
 * The plan of a new batch (`run`, `start`) or of a `worker`. A worker serves every provider whose credentials it has
 * (or those `--provider` names); `run` serves them all too, since an item may name its own provider. `taskQueue`
 * (`--task-queue`) names the queue instead of the default.
 */
export function planProviders(
  choice: string | undefined,
  use: ProviderUse,
  env: NodeJS.ProcessEnv = process.env,
  taskQueue?: string,
): ProviderPlan {
  const parsed = choice === undefined ? undefined : parseProviderChoice(choice);
  const here = providersWithCredentials(env);
  const plan = (batch: BatchProviders, simulated: boolean, serves: ProviderKind[]): ProviderPlan => ({
    use,
    ...(choice === undefined ? {} : { choice }),
    batch,
    simulated,
    taskQueue: taskQueue ?? batchTaskQueue(simulated, env),
    serves,
  });
  if (parsed?.simulator) return plan(SIMULATED_BATCH, true, [...PROVIDER_KINDS]);
  if (parsed) {
    const { kinds } = parsed;
    const missing = kinds.filter((k) => !here.includes(k));
    if (use === 'start') {
      return { ...plan(batchOf(kinds), false, []), ...(missing.length ? { credentialsElsewhere: missing } : {}) };
    }
    if (missing.length) {
      const them = missing.length > 1 || PROVIDER_CREDENTIALS[missing[0]].length > 1 ? 'them' : 'it';
      throw new UsageError(
        `--provider ${choice}: ${missingOf(missing)} not set; set ${them}, ` +
          'or use --provider simulator for the built-in simulator',
      );
    }
    return plan(batchOf(kinds), false, use === 'worker' ? kinds : here);
  }
  // No --provider: the first provider whose credentials are set.
  if (here.length) return plan(batchOf([here[0]]), false, use === 'start' ? [] : here);
  if (use === 'run') return plan(SIMULATED_BATCH, true, [...PROVIDER_KINDS]);
  throw new UsageError(
    use === 'start'
      ? `no provider credentials are set (${allCredentialNames()}): name the workers' provider with --provider ` +
          `${PROVIDER_KINDS.join('|')} (this machine needs no keys), or use --provider simulator`
      : `no provider credentials are set: set ${allCredentialNames()}, or use --provider simulator`,
  );
}

/**
 * The accounts of the batch's providers (`needed`) whose clients this process holds (`run`'s worker, `start` with the
 * keys set; endpoint included): the batch names them, so its images of those providers run on them only, never on an
 * account another worker of the queue answers with. Refs only: no credential reaches the batch.
 */
export function heldAccounts(
  providers: ProviderClients,
  needed: readonly ProviderKind[],
  taskQueue: string,
): AccountRef[] {
  return needed.filter((k) => providers[k]).map((k) => accountOf(k, providers, taskQueue));
}

/** The providers the items name of their own (beyond the batch's list), in PROVIDER_KINDS order. */
function ownProviders(items: readonly ImageItem[]): ProviderKind[] {
  const named = new Set(items.flatMap((i) => (i.provider === undefined ? [] : [i.provider].flat())));
  return PROVIDER_KINDS.filter((k) => named.has(k));
}

/** Every provider an item of the batch may be sent to: the batch's list and the items' own, in PROVIDER_KINDS order. */
export function providersNeeded(batch: BatchProviders, items: readonly ImageItem[]): ProviderKind[] {
  const needed = new Set([...(batch.providers ?? [batch.provider]), ...ownProviders(items)]);
  return PROVIDER_KINDS.filter((k) => needed.has(k));
}

/**
 * The plan that works an existing batch in this process (`retry` of a finished batch, `resume`): the batch's own
 * queue (its accounts live there), the built-in simulator only for a batch that was simulated (its queue says so),
 * and never the simulator in place of a real provider whose credentials are missing here. The items' own providers
 * need their credentials here too, or those images would wait for ever on a provider queue nobody polls.
 */
export async function planForBatch(
  batch: { batchId: string; taskQueue: string },
  input: BatchInput,
  choice: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ProviderPlan> {
  const { batchId, taskQueue } = batch;
  const simulated = isSimulatorQueue(taskQueue, env);
  if (simulated) return { ...planProviders('simulator', 'run', env), taskQueue };
  const parsed = choice === undefined ? undefined : parseProviderChoice(choice);
  if (parsed?.simulator)
    throw new UsageError(`batch ${batchId} runs on task queue '${taskQueue}' (${input.provider}), not the simulator's`);
  const kinds = parsed ? parsed.kinds : (input.providers ?? [input.provider]);
  // An items copy this machine cannot read (another machine's folder) names nothing here; its workers must serve it.
  const items = await readItems(input.items).catch(() => []);
  const here = providersWithCredentials(env);
  const missing = [...new Set([...kinds, ...ownProviders(items)])].filter((k) => !here.includes(k));
  if (missing.length)
    throw new UsageError(
      `${missingOf(missing)} not set here, and batch ${batchId} uses ${missing.join(', ')}: ` +
        'set them to work it in this process (nothing falls back to the simulator)',
    );
  return {
    use: 'run',
    ...(choice === undefined ? {} : { choice }),
    batch: batchOf(kinds),
    simulated,
    taskQueue,
    serves: here,
  };
}
