// Which provider a run talks to: the real API, or the built-in simulator only when asked for or nothing is set.
// Credentials stay in this process's environment: they reach the worker's provider clients, never a workflow.
import {
  allCredentialNames,
  credentialNames,
  hasCredentials,
  PROVIDER_CREDENTIALS,
  PROVIDER_ENDPOINT_VARIABLE,
  type ProviderClients,
  providersFromEnv,
  providersWithCredentials,
} from '../providers';
import { type ProviderSimulator, startSimulator } from '../providers/simulator/server';
import { TASK_QUEUE } from '../shared/constants';
import { PROVIDER_KINDS, type ProviderKind } from '../shared/providers';
import { UsageError } from './exit-codes';
import { parseProviderChoice } from './provider-list';
import type { AccountLimits } from './settings';

export interface ProviderSetup {
  /** The batch's provider: the first of its list. */
  provider: ProviderKind;
  /** The batch's fallback order, when `--provider` named more than one. */
  providerList?: ProviderKind[];
  /** The clients this process's worker serves: one worker per provider queue. */
  providers: ProviderClients;
  taskQueue: string;
  simulator?: ProviderSimulator;
  note?: string;
  /** The limit each provider account starts with when this process's worker first opens it (config or env). */
  accountLimits?: AccountLimits;
}

/**
 * Simulated runs use their own task queue, so a real worker never picks up a simulated batch or the reverse.
 * IMAGEBATCH_TASK_QUEUE names another queue (to keep deployments, or tests, apart).
 */
function taskQueueFor(simulated: boolean, env: NodeJS.ProcessEnv): string {
  const base = env.IMAGEBATCH_TASK_QUEUE || TASK_QUEUE;
  return simulated ? `${base}-simulator` : base;
}

/** The queue of a `run` with the built-in simulator: the simulator queue, named after that run's simulator port. */
export function simulatorRunQueue(simulatorQueue: string, simulatorUrl: string): string {
  return `${simulatorQueue}-${new URL(simulatorUrl).port}`;
}

/** Whether a batch's queue is a simulated one (the simulator queue, or a `run`'s own). */
function isSimulatorQueue(taskQueue: string, env: NodeJS.ProcessEnv): boolean {
  const queue = taskQueueFor(true, env);
  const port = taskQueue.startsWith(`${queue}-`) ? taskQueue.slice(queue.length + 1) : '';
  return taskQueue === queue || /^\d+$/.test(port);
}

/**
 * The `imagebatch worker` command line that polls `taskQueue`, given this environment's queue names. `simulated`
 * when known (else guessed from the queue's name) adds `--provider simulator`.
 */
export function workerCommandFor(taskQueue: string, simulated?: boolean, env: NodeJS.ProcessEnv = process.env): string {
  const sim = simulated ?? isSimulatorQueue(taskQueue, env);
  const flags = [
    sim ? ' --provider simulator' : '',
    taskQueue === taskQueueFor(sim, env) ? '' : ` --task-queue ${taskQueue}`,
  ];
  return `imagebatch worker${flags.join('')}`;
}

/** "VOLC_ACCESSKEY and VOLC_SECRETKEY are" (not set): the variables of a provider's credentials, for messages. */
export const missingCredentials = (kind: ProviderKind) =>
  `${credentialNames(kind)} ${PROVIDER_CREDENTIALS[kind].length > 1 ? 'are' : 'is'}`;

/** "FAL_KEY is" / "FAL_KEY (fal) and DASHSCOPE_API_KEY (dashscope) are": several providers' missing variables. */
function missingOf(kinds: ProviderKind[]): string {
  if (kinds.length === 1) return missingCredentials(kinds[0]);
  return `${kinds.map((k) => `${credentialNames(k)} (${k})`).join(' and ')} are`;
}

/**
 * Who asks: `run` works the batch here, `start` leaves it to workers elsewhere (which hold the credentials), a
 * `worker` works what its queue brings.
 */
export type ProviderUse = 'run' | 'start' | 'worker';

export interface ProviderPlan {
  /** The batch's provider: the first of its list. */
  provider: ProviderKind;
  /** The batch's fallback order, when `--provider` named more than one. */
  providerList?: ProviderKind[];
  simulated: boolean;
  taskQueue: string;
  /** The providers this process's worker serves (`run`, `worker`): each has its credentials here. */
  serves: ProviderKind[];
  /** `start`: the batch's providers whose credentials are not set here; a worker that has them must run them. */
  credentialsElsewhere?: ProviderKind[];
}

/**
 * Decides without starting anything. Only `run` without --provider and without any credentials, or a simulator
 * asked for by name, is simulated: a real provider never silently becomes the simulator. A worker serves every
 * provider whose credentials it has (or those `--provider` names); `run` serves them all too, since an item may name
 * its own provider.
 */
export function planProviders(
  choice: string | undefined,
  use: ProviderUse,
  env: NodeJS.ProcessEnv = process.env,
): ProviderPlan {
  const parsed = choice === undefined ? undefined : parseProviderChoice(choice);
  const here = providersWithCredentials(env);
  const plan = (kinds: ProviderKind[], simulated: boolean, serves: ProviderKind[]): ProviderPlan => ({
    provider: kinds[0],
    ...(kinds.length > 1 ? { providerList: kinds } : {}),
    simulated,
    taskQueue: taskQueueFor(simulated, env),
    serves,
  });
  if (parsed?.simulator) return plan(['volcengine'], true, [...PROVIDER_KINDS]);
  if (parsed) {
    const { kinds } = parsed;
    const missing = kinds.filter((k) => !here.includes(k));
    if (use === 'start') {
      return { ...plan(kinds, false, []), ...(missing.length ? { credentialsElsewhere: missing } : {}) };
    }
    if (missing.length) {
      const them = missing.length > 1 || PROVIDER_CREDENTIALS[missing[0]].length > 1 ? 'them' : 'it';
      throw new UsageError(
        `--provider ${choice}: ${missingOf(missing)} not set; set ${them}, ` +
          'or use --provider simulator for the built-in simulator',
      );
    }
    return plan(kinds, false, use === 'worker' ? kinds : here);
  }
  // No --provider: the first provider whose credentials are set.
  if (here.length) return plan([here[0]], false, use === 'start' ? [] : here);
  if (use === 'run') return plan(['volcengine'], true, [...PROVIDER_KINDS]);
  throw new UsageError(
    use === 'start'
      ? `no provider credentials are set (${allCredentialNames()}): name the workers' provider with --provider ` +
          `${PROVIDER_KINDS.join('|')} (this machine needs no keys), or use --provider simulator`
      : `no provider credentials are set: set ${allCredentialNames()}, or use --provider simulator`,
  );
}

/** `--endpoint` is the endpoint of the batch's provider (the first of `--provider`). */
function withEndpoint(plan: ProviderPlan, endpoint: string | undefined, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return endpoint ? { ...env, [PROVIDER_ENDPOINT_VARIABLE[plan.provider]]: endpoint } : env;
}

export async function setupProviders(
  choice: string | undefined,
  use: Exclude<ProviderUse, 'start'>,
  endpoint?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ProviderSetup> {
  const plan = planProviders(choice, use, env);
  const batch = { provider: plan.provider, ...(plan.providerList ? { providerList: plan.providerList } : {}) };
  if (!plan.simulated) {
    if (endpoint && use === 'worker' && choice === undefined && plan.serves.length > 1)
      throw new UsageError(
        `--endpoint: this worker serves ${plan.serves.join(', ')}; name the provider it is for with --provider`,
      );
    const providers = providersFromEnv(withEndpoint(plan, endpoint, env), plan.serves);
    return { ...batch, providers, taskQueue: plan.taskQueue };
  }
  const simulator = await startSimulator({ latencyMs: { dist: 'uniform', min: 1000, max: 3000 } });
  return {
    ...batch,
    // The simulator speaks every provider's wire format, so its worker serves them all.
    providers: providersFromEnv(simulator.env()),
    taskQueue: plan.taskQueue,
    simulator,
    note:
      choice === 'simulator'
        ? `using the built-in provider simulator (every provider's wire format) at ${simulator.url}`
        : `no provider credentials are set (${allCredentialNames()}): using the built-in provider simulator ` +
          `at ${simulator.url}; the images are simulated`,
  };
}

/**
 * The setup that works an existing batch in this process (`retry` of a finished batch, `resume`): the batch's own
 * queue (its accounts live there), the built-in simulator only for a batch that was simulated (its queue says so),
 * and never the simulator in place of a real provider whose credentials are missing here.
 */
export async function setupForBatch(
  batch: {
    batchId: string;
    taskQueue: string;
    provider: ProviderKind;
    providers?: ProviderKind[];
    /** Providers the batch's items name of their own: the worker made here must serve them too. */
    itemProviders?: ProviderKind[];
  },
  flags: { provider?: string; endpoint?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<ProviderSetup> {
  const simulated = isSimulatorQueue(batch.taskQueue, env);
  if (!simulated && flags.provider === 'simulator')
    throw new UsageError(
      `batch ${batch.batchId} runs on task queue '${batch.taskQueue}' (${batch.provider}), not the simulator's`,
    );
  const choice = simulated ? 'simulator' : (flags.provider ?? (batch.providers ?? [batch.provider]).join(','));
  const parsed = parseProviderChoice(choice);
  const needed = parsed.simulator ? [] : [...new Set([...parsed.kinds, ...(batch.itemProviders ?? [])])];
  const missing = needed.filter((k) => !hasCredentials(k, env));
  if (missing.length)
    throw new UsageError(
      `${missingOf(missing)} not set here, and batch ${batch.batchId} uses ${missing.join(', ')}: ` +
        'set them to work it in this process (nothing falls back to the simulator)',
    );
  return { ...(await setupProviders(choice, 'run', flags.endpoint, env)), taskQueue: batch.taskQueue };
}
