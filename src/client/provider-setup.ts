// Which provider a run talks to: the real API when its credentials are set, else the built-in simulator.
// Credentials stay in this process's environment: they reach the worker's provider clients, never a workflow.
import { hasCredentials, type ProviderClients, providersFromEnv } from '../providers';
import { type ProviderSimulator, startSimulator } from '../providers/simulator/server';
import { TASK_QUEUE } from '../shared/constants';
import type { ProviderKind } from '../shared/types';
import { UsageError } from './exit-codes';
import type { AccountLimits } from './settings';

export type ProviderChoice = ProviderKind | 'simulator';

export interface ProviderSetup {
  provider: ProviderKind;
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
  kind === 'volcengine' ? 'VOLC_ACCESSKEY and VOLC_SECRETKEY are' : 'DASHSCOPE_API_KEY is';

export interface ProviderPlan {
  provider: ProviderKind;
  simulated: boolean;
  taskQueue: string;
}

/** Decides without starting anything (for `start`, which leaves the work to a worker). */
export function planProviders(choice: string | undefined, env: NodeJS.ProcessEnv = process.env): ProviderPlan {
  if (choice !== undefined && !['simulator', 'volcengine', 'dashscope'].includes(choice)) {
    throw new UsageError(`--provider: '${choice}' is not one of simulator, volcengine, dashscope`);
  }
  const provider: ProviderKind = choice === 'dashscope' ? 'dashscope' : 'volcengine';
  const simulated = choice === 'simulator' || !hasCredentials(provider, env);
  return { provider, simulated, taskQueue: taskQueueFor(simulated, env) };
}

export async function setupProviders(
  choice: string | undefined,
  endpoint?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ProviderSetup> {
  const plan = planProviders(choice, env);
  const kind = plan.provider;
  if (!plan.simulated) {
    const withEndpoint = { ...env };
    if (endpoint)
      withEndpoint[kind === 'volcengine' ? 'VOLCENGINE_VISUAL_ENDPOINT' : 'DASHSCOPE_HTTP_BASE_URL'] = endpoint;
    return { provider: kind, providers: providersFromEnv(withEndpoint), taskQueue: plan.taskQueue };
  }
  const simulator = await startSimulator({ latencyMs: { dist: 'uniform', min: 1000, max: 3000 } });
  const missing = missingCredentials(kind);
  return {
    provider: kind,
    providers: providersFromEnv(simulator.env()),
    taskQueue: plan.taskQueue,
    simulator,
    note:
      choice === 'simulator'
        ? `using the built-in provider simulator (${kind} wire format) at ${simulator.url}`
        : `${missing} not set: using the built-in provider simulator (${kind} wire format) at ${simulator.url}`,
  };
}

/**
 * The setup that works an existing batch in this process (`retry` of a finished batch, `resume`): the batch's own
 * queue (its accounts live there), the built-in simulator only for a batch that was simulated (its queue says so),
 * and never the simulator in place of a real provider whose credentials are missing here.
 */
export async function setupForBatch(
  batch: { batchId: string; taskQueue: string; provider: ProviderKind },
  flags: { provider?: string; endpoint?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<ProviderSetup> {
  const simulated = isSimulatorQueue(batch.taskQueue, env);
  if (!simulated && (flags.provider ?? batch.provider) === 'simulator')
    throw new UsageError(
      `batch ${batch.batchId} runs on task queue '${batch.taskQueue}' (${batch.provider}), not the simulator's`,
    );
  const choice = simulated ? 'simulator' : (flags.provider ?? batch.provider);
  const plan = planProviders(choice, env);
  if (plan.simulated && !simulated)
    throw new UsageError(
      `${missingCredentials(plan.provider)} not set here, and batch ${batch.batchId} uses ${plan.provider}: ` +
        'set them to work it in this process (nothing falls back to the simulator)',
    );
  return { ...(await setupProviders(choice, flags.endpoint, env)), taskQueue: batch.taskQueue };
}
