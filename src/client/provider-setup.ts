// Which provider a run talks to: the real API, or the built-in simulator only when asked for or nothing is set.
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

const ALL_CREDENTIALS = 'VOLC_ACCESSKEY and VOLC_SECRETKEY (volcengine) or DASHSCOPE_API_KEY (dashscope)';

/**
 * Who asks: `run` works the batch here, `start` leaves it to workers elsewhere (which hold the credentials), a
 * `worker` works what its queue brings.
 */
export type ProviderUse = 'run' | 'start' | 'worker';

export interface ProviderPlan {
  provider: ProviderKind;
  simulated: boolean;
  taskQueue: string;
  /** `start` of a real provider whose credentials are not set here: a worker that has them must run the batch. */
  credentialsElsewhere?: boolean;
}

/**
 * Decides without starting anything. Only `run` without --provider and without any credentials, or a simulator
 * asked for by name, is simulated: a real provider never silently becomes the simulator.
 */
export function planProviders(
  choice: string | undefined,
  use: ProviderUse,
  env: NodeJS.ProcessEnv = process.env,
): ProviderPlan {
  if (choice !== undefined && !['simulator', 'volcengine', 'dashscope'].includes(choice)) {
    throw new UsageError(`--provider: '${choice}' is not one of simulator, volcengine, dashscope`);
  }
  const plan = (provider: ProviderKind, simulated: boolean) => ({
    provider,
    simulated,
    taskQueue: taskQueueFor(simulated, env),
  });
  if (choice === 'simulator') return plan('volcengine', true);
  if (choice === 'volcengine' || choice === 'dashscope') {
    if (hasCredentials(choice, env)) return plan(choice, false);
    if (use === 'start') return { ...plan(choice, false), credentialsElsewhere: true };
    throw new UsageError(
      `--provider ${choice}: ${missingCredentials(choice)} not set; set ${choice === 'dashscope' ? 'it' : 'them'}, ` +
        'or use --provider simulator for the built-in simulator',
    );
  }
  // No --provider: the provider whose credentials are set (volcengine when both are).
  if (hasCredentials('volcengine', env)) return plan('volcengine', false);
  if (hasCredentials('dashscope', env)) return plan('dashscope', false);
  if (use === 'run') return plan('volcengine', true);
  throw new UsageError(
    use === 'start'
      ? `no provider credentials are set (${ALL_CREDENTIALS}): name the workers' provider with --provider ` +
          'volcengine|dashscope (this machine needs no keys), or use --provider simulator'
      : `no provider credentials are set: set ${ALL_CREDENTIALS}, or use --provider simulator`,
  );
}

export async function setupProviders(
  choice: string | undefined,
  use: Exclude<ProviderUse, 'start'>,
  endpoint?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ProviderSetup> {
  const plan = planProviders(choice, use, env);
  const kind = plan.provider;
  if (!plan.simulated) {
    const withEndpoint = { ...env };
    if (endpoint)
      withEndpoint[kind === 'volcengine' ? 'VOLCENGINE_VISUAL_ENDPOINT' : 'DASHSCOPE_HTTP_BASE_URL'] = endpoint;
    return { provider: kind, providers: providersFromEnv(withEndpoint), taskQueue: plan.taskQueue };
  }
  const simulator = await startSimulator({ latencyMs: { dist: 'uniform', min: 1000, max: 3000 } });
  return {
    provider: kind,
    providers: providersFromEnv(simulator.env()),
    taskQueue: plan.taskQueue,
    simulator,
    note:
      choice === 'simulator'
        ? `using the built-in provider simulator (${kind} wire format) at ${simulator.url}`
        : `no provider credentials are set (${ALL_CREDENTIALS}): using the built-in provider simulator ` +
          `(${kind} wire format) at ${simulator.url}; the images are simulated`,
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
  if (choice !== 'simulator' && !hasCredentials(choice as ProviderKind, env))
    throw new UsageError(
      `${missingCredentials(choice as ProviderKind)} not set here, and batch ${batch.batchId} uses ${choice}: ` +
        'set them to work it in this process (nothing falls back to the simulator)',
    );
  return { ...(await setupProviders(choice, 'run', flags.endpoint, env)), taskQueue: batch.taskQueue };
}
